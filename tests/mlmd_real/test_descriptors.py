"""Our message definitions against ml-metadata's own descriptors: same full names, and for
every field we define the same number, type, label, and message/enum type; every enum value
the same number."""

from __future__ import annotations

from typing import Any

import pytest
from ml_metadata.proto import metadata_store_pb2, metadata_store_service_pb2

from emulator.mlmd import schema


def real_descriptor(full_name: str) -> Any:
    short = full_name.removeprefix("ml_metadata.")
    for module in (metadata_store_pb2, metadata_store_service_pb2):
        found: Any = module.DESCRIPTOR
        try:
            parts = short.split(".")
            found = found.message_types_by_name[parts[0]]
            for part in parts[1:]:
                found = found.nested_types_by_name[part]
            return found
        except KeyError:
            continue
    raise AssertionError(f"{full_name} is not an ml-metadata message")


def ours() -> list[Any]:
    found = []

    def walk(descriptor: Any) -> None:
        found.append(descriptor)
        for nested in descriptor.nested_types:
            walk(nested)

    for name in (*schema.MESSAGES, *schema.SERVICE_MESSAGES):
        if "." not in name:
            walk(schema.message_class(name).DESCRIPTOR)
    return found


@pytest.mark.parametrize("descriptor", ours(), ids=lambda d: d.full_name)
def test_message_matches_upstream(descriptor: Any) -> None:
    real = real_descriptor(descriptor.full_name)
    assert descriptor.GetOptions().map_entry == real.GetOptions().map_entry
    for field in descriptor.fields:
        upstream = real.fields_by_name.get(field.name)
        assert upstream is not None, f"{field.full_name} is not upstream"
        assert (field.number, field.type, field.label) == (
            upstream.number, upstream.type, upstream.label), field.full_name
        if field.message_type is not None:
            assert field.message_type.full_name == upstream.message_type.full_name
        if field.enum_type is not None:
            assert field.enum_type.full_name == upstream.enum_type.full_name
            assert {v.name: v.number for v in field.enum_type.values}.items() <= {
                v.name: v.number for v in upstream.enum_type.values}.items()
        assert (field.containing_oneof.name if field.containing_oneof else None) == (
            upstream.containing_oneof.name if upstream.containing_oneof else None)
        if field.has_default_value:
            assert field.default_value == upstream.default_value, field.full_name


def test_every_served_method_is_an_upstream_method() -> None:
    service = metadata_store_service_pb2.DESCRIPTOR.services_by_name["MetadataStoreService"]
    for method in schema.METHODS:
        upstream = service.methods_by_name[method]
        assert upstream.input_type.full_name == f"ml_metadata.{method}Request"
        assert upstream.output_type.full_name == f"ml_metadata.{method}Response"

"""protojson-style request parsing and the list mechanics, below the HTTP layer."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import pytest

from emulator.errors import GrpcCode, KfpError
from emulator.kfp import messages
from emulator.kfp.listing import Listable, paginate, parse_list_query


def test_proto_and_json_names_enum_numbers_and_int64_strings_are_accepted() -> None:
    parsed = messages.parse_message(messages.V2_RECURRING_RUN, {
        "displayName": "r", "max_concurrency": "3", "mode": 2, "no_catchup": True,
        "trigger": {"periodicSchedule": {"intervalSecond": 60,
                                         "start_time": "2026-01-01T00:00:00Z"}},
    })
    assert parsed["display_name"] == "r"
    assert parsed["max_concurrency"] == 3
    assert parsed["mode"] == "DISABLE"
    assert parsed["trigger"]["periodic_schedule"]["interval_second"] == 60
    assert parsed["trigger"]["periodic_schedule"]["start_time"] == 1767225600.0


@pytest.mark.parametrize("body, fragment", [
    ({"display_name": 5}, "invalid value for string field display_name"),
    ({"unknown": 1}, 'unknown field "unknown"'),
    ({"storage_state": "NOPE"}, "invalid value for enum field storage_state"),
    ({"created_at": "yesterday"}, "google.protobuf.Timestamp"),
    ({"display_name": "a", "displayName": "b"}, "duplicate field"),
])
def test_bad_bodies_are_grpc_gateway_400s_without_details(body: dict[str, object],
                                                          fragment: str) -> None:
    with pytest.raises(KfpError) as raised:
        messages.parse_message(messages.V2_EXPERIMENT, body, json.dumps(body))
    assert raised.value.code == GrpcCode.INVALID_ARGUMENT
    assert fragment in raised.value.internal
    assert "details" not in raised.value.body()


def test_oneof_fields_cannot_both_be_set() -> None:
    with pytest.raises(KfpError):
        messages.parse_message(messages.V2_RUN, {"pipeline_spec": {},
                                                 "pipeline_version_id": "x"})


def test_int64_range_is_enforced() -> None:
    with pytest.raises(KfpError):
        messages.parse_message(messages.V2_RECURRING_RUN, {"max_concurrency": str(2**63)})


@dataclass
class Row:
    id: str
    name: str
    created_at: int
    namespace: str = "ns"


ROWS = Listable("Row", {
    "id": ("UUID", lambda r: r.id),
    "name": ("Name", lambda r: r.name),
    "created_at": ("CreatedAtInSec", lambda r: r.created_at),
})


def _rows(n: int) -> list[Row]:
    return [Row(f"id-{i:03d}", f"row-{i % 7}", 1000 + i // 3) for i in range(n)]


def test_pages_walk_every_row_once_in_sort_order() -> None:
    rows = _rows(47)
    seen: list[str] = []
    token = ""
    while True:
        query = parse_list_query(ROWS, page_token=token, page_size=10)
        page = paginate(query, ROWS, rows, lambda r: r.id)
        assert page.total_size == 47
        seen += [r.id for r in page.items]
        token = page.next_page_token
        if not token:
            break
    expected = [r.id for r in sorted(rows, key=lambda r: (r.created_at, r.id))]
    assert seen == expected


def test_descending_sort_and_filters_combine() -> None:
    rows = _rows(30)
    text = json.dumps({"predicates": [{"key": "name", "operation": 1, "stringValue": "row-3"}]})
    query = parse_list_query(ROWS, sort_by="created_at desc", filter_text=text)
    page = paginate(query, ROWS, rows, lambda r: r.id)
    assert {r.name for r in page.items} == {"row-3"}
    assert page.total_size == len([r for r in rows if r.name == "row-3"])
    stamps = [r.created_at for r in page.items]
    assert stamps == sorted(stamps, reverse=True)


def test_page_token_is_padded_base64_json_bound_to_sort_and_filter() -> None:
    query = parse_list_query(ROWS, page_size=5, sort_by="name")
    token = paginate(query, ROWS, _rows(20), lambda r: r.id).next_page_token
    decoded = json.loads(base64.b64decode(token))
    assert decoded["SortByFieldName"] == "name" and decoded["ModelName"] == "Row"
    with pytest.raises(KfpError) as raised:
        parse_list_query(ROWS, page_token=token, sort_by="created_at")
    assert "page token does not match" in raised.value.external
    # The same sort given again is fine.
    parse_list_query(ROWS, page_token=token, sort_by="name")


@pytest.mark.parametrize("kwargs, message", [
    ({"page_size": -1}, "The page size should be greater than 0. Got -1"),
    ({"sort_by": "name sideways"}, 'Received invalid sort by format "name sideways". Supported '
                                   'format: "field_name", "field_name desc", or "field_name asc"'),
    ({"sort_by": "colour"}, 'Invalid sorting field: "colour" on listable type Row'),
    ({"page_token": "!!!"}, "Invalid page token"),
    ({"filter_text": '{"predicates":[{"key":"colour","operation":1,"string_value":"x"}]}'},
     'no support for filtering on unrecognized field "colour"'),
    ({"filter_text": '{"predicates":[{"key":"name","operation":"IN","string_value":"x"}]}'},
     "cannot use IN operator with scalar type string"),
])
def test_list_option_errors_carry_the_real_messages(kwargs: dict[str, object],
                                                    message: str) -> None:
    with pytest.raises(KfpError) as raised:
        parse_list_query(ROWS, **kwargs)  # type: ignore[arg-type]
    assert raised.value.code == GrpcCode.INVALID_ARGUMENT
    assert raised.value.external == message


def test_page_size_is_clamped_and_defaulted() -> None:
    assert parse_list_query(ROWS).page_size == 20
    assert parse_list_query(ROWS, page_size=0).page_size == 20
    assert parse_list_query(ROWS, page_size=5000).page_size == 200


def test_v1_filters_use_op_and_v2_filters_use_operation() -> None:
    v1 = '{"predicates":[{"key":"name","op":1,"string_value":"row-1"}]}'
    assert parse_list_query(ROWS, filter_text=v1, api_version="v1beta1").predicates
    with pytest.raises(KfpError):
        parse_list_query(ROWS, filter_text=v1, api_version="v2beta1")


def _walk(rows: list[Row], sort_by: str, size: int, store: object | None) -> list[str]:
    from emulator.kfp.store import NamespacedStore

    assert store is None or isinstance(store, NamespacedStore)
    seen: list[str] = []
    token = ""
    while True:
        query = parse_list_query(IMMUTABLE_ROWS, page_token=token, page_size=size,
                                 sort_by=sort_by)
        ordered = store.ordered(namespace="ns") if store is not None else None
        page = paginate(query, IMMUTABLE_ROWS, rows, lambda r: r.id, ordered)
        assert page.total_size == len(rows)
        seen += [r.id for r in page.items]
        token = page.next_page_token
        if not token:
            return seen


IMMUTABLE_ROWS = Listable(ROWS.model_name, ROWS.fields,
                          immutable=frozenset({"id", "name", "created_at"}))


@pytest.mark.parametrize("sort_by", ["created_at", "created_at desc", "name", "name desc", "id"])
@pytest.mark.parametrize("size", [1, 3, 7, 50])
def test_kept_sort_orders_page_exactly_like_a_full_sort(sort_by: str, size: int) -> None:
    from emulator.kfp.store import NamespacedStore

    store: NamespacedStore[Row] = NamespacedStore()
    rows = _rows(23)
    for row in rows:
        store.add(row)
    assert _walk(rows, sort_by, size, store) == _walk(rows, sort_by, size, None)
    # The kept order follows the bucket: a removed row disappears from the next walk.
    store.remove(rows[5].id)
    remaining = [r for r in rows if r.id != rows[5].id]
    assert _walk(remaining, sort_by, size, store) == _walk(remaining, sort_by, size, None)

"""Our MLMD message definitions: upstream's bytes, round trips, proto2 defaults, private pool.

Field-by-field equality with the real ml-metadata descriptors is checked in tests/mlmd_real
(tox env mlmd), where the real package can be installed."""

from __future__ import annotations

import pytest
from google.protobuf import descriptor_pool

from emulator.mlmd import schema

# Measured with ml-metadata 1.17.1's own classes (docs/upstream/kfp-data-plane.md 3.2): the
# framed GetContextByTypeAndNameRequest for type system.PipelineRun, name run-123.
MEASURED_FRAME = bytes.fromhex(
    "000000001d0a1273797374656d2e506970656c696e6552756e120772756e2d313233")


def test_request_bytes_match_the_real_library() -> None:
    message = schema.new("GetContextByTypeAndNameRequest", type_name="system.PipelineRun",
                         context_name="run-123")
    payload = message.SerializeToString()
    assert b"\x00" + len(payload).to_bytes(4, "big") + payload == MEASURED_FRAME


def test_a_full_artifact_survives_a_round_trip() -> None:
    artifact = schema.new("Artifact", id=7, type_id=11, type="system.Model", name="model",
                          uri="minio://mlpipeline/x", external_id="ext",
                          state=schema.enum_value("Artifact.State", "LIVE"),
                          create_time_since_epoch=1, last_update_time_since_epoch=2)
    artifact.properties["n"].int_value = 3
    artifact.custom_properties["d"].double_value = 0.5
    artifact.custom_properties["s"].string_value = "bob"
    artifact.custom_properties["b"].bool_value = True
    artifact.custom_properties["j"].struct_value.update({"k": [1, "x"], "m": {"a": None}})
    decoded = schema.message_class("Artifact")()
    decoded.ParseFromString(artifact.SerializeToString())
    assert decoded == artifact
    assert decoded.custom_properties["j"].WhichOneof("value") == "struct_value"
    assert decoded.state == 2  # Artifact.State LIVE


def test_event_path_steps_keep_index_and_key_apart() -> None:
    event = schema.new("Event", artifact_id=1, execution_id=2,
                       type=schema.enum_value("Event.Type", "OUTPUT"))
    event.path.steps.add().key = "model"
    event.path.steps.add().index = 0
    decoded = schema.message_class("Event")()
    decoded.ParseFromString(event.SerializeToString())
    assert [s.WhichOneof("value") for s in decoded.path.steps] == ["key", "index"]
    assert decoded.type == 4  # Event.Type OUTPUT


def test_list_options_have_upstreams_proto2_defaults() -> None:
    options = schema.new("ListOperationOptions")
    assert options.max_result_size == 20
    assert options.order_by_field.field == 3  # ID
    assert options.order_by_field.is_asc is True
    assert not options.HasField("max_result_size")


@pytest.mark.parametrize("method", schema.METHODS)
def test_every_served_method_has_both_messages(method: str) -> None:
    request = schema.request_class(method)()
    response = schema.response_class(method)()
    assert request.DESCRIPTOR.full_name == f"ml_metadata.{method}Request"
    assert response.DESCRIPTOR.full_name == f"ml_metadata.{method}Response"


def test_the_methods_the_ui_calls_are_served() -> None:
    # docs/upstream/kfp-data-plane.md 3.1: run details, lists, lineage, the artifact validator.
    ui = {"GetContextByTypeAndName", "GetExecutionsByContext", "GetArtifactsByContext",
          "GetEventsByExecutionIDs", "GetArtifactsByID", "GetArtifactTypes",
          "GetContextsByExecution", "GetContextType", "GetArtifacts", "GetExecutions",
          "GetExecutionsByID", "GetArtifactTypesByID", "GetExecutionTypesByID",
          "GetExecutionTypes", "GetEventsByArtifactIDs", "GetArtifactsByURI",
          "GetContextsByArtifact"}
    assert ui <= set(schema.METHODS)


def test_the_pool_is_private() -> None:
    """A real ml_metadata module loaded beside ours must not clash: nothing of ours is in the
    default pool."""
    with pytest.raises(KeyError):
        descriptor_pool.Default().FindMessageTypeByName("ml_metadata.Artifact")
    assert schema.POOL is not descriptor_pool.Default()

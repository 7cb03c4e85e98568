"""metadata-envoy's gRPC-web: every served method over HTTP, MLMD's answers when something is
missing, the framing, CORS."""

from __future__ import annotations

import base64
import struct
from typing import Any

import pytest
import requests

from emulator.mlmd import schema
from emulator.mlmd.client import GrpcWebClient, GrpcWebError, decode_frames
from emulator.serving import EmulatorServer
from tests.mlmd.conftest import request

SERVICE_PATH = "/ml_metadata.MetadataStoreService/"


def status_of(envoy: GrpcWebClient, method: str, message: Any) -> tuple[int | None, str]:
    with pytest.raises(GrpcWebError) as raised:
        envoy.call(method, message)
    return raised.value.grpc_status, raised.value.grpc_message


def put_type(envoy: GrpcWebClient, kind: str, name: str) -> int:
    field = {"Artifact": "artifact_type", "Execution": "execution_type",
             "Context": "context_type"}[kind]
    answer = envoy.call(f"Put{kind}Type", request(
        f"Put{kind}Type", **{field: schema.new(f"{kind}Type", name=name)}))
    return int(answer.type_id)


@pytest.fixture
def graph(envoy: GrpcWebClient) -> dict[str, int]:
    """A KFP-like run written over the wire: run context, one execution with an input and an
    output artifact, one more artifact outside the run."""
    ids = {"run_type": put_type(envoy, "Context", "system.PipelineRun"),
           "artifact_type": put_type(envoy, "Artifact", "system.Model"),
           "execution_type": put_type(envoy, "Execution", "system.ContainerExecution")}
    run = schema.new("Context", type_id=ids["run_type"], name="run-1")
    run.custom_properties["namespace"].string_value = "bob"
    [ids["run"]] = envoy.call("PutContexts", request("PutContexts", contexts=[run])).context_ids
    run.id = ids["run"]  # KFP's backend passes the stored contexts to PutExecution
    [ids["loose"]] = envoy.call("PutArtifacts", request("PutArtifacts", artifacts=[
        schema.new("Artifact", type_id=ids["artifact_type"], uri="minio://mlpipeline/loose")],
    )).artifact_ids
    execution = schema.new("Execution", type_id=ids["execution_type"],
                           last_known_state=schema.enum_value("Execution.State", "COMPLETE"))
    execution.custom_properties["task_name"].string_value = "train"
    output = schema.new("Event", type=schema.enum_value("Event.Type", "OUTPUT"))
    output.path.steps.add().key = "model"
    pair = schema.message_class("PutExecutionRequest.ArtifactAndEvent")
    answer = envoy.call("PutExecution", request("PutExecution", execution=execution,
        artifact_event_pairs=[
            pair(artifact=schema.new("Artifact", type_id=ids["artifact_type"],
                                     uri="minio://mlpipeline/private-artifacts/bob/model"),
                 event=output),
            pair(event=schema.new("Event", artifact_id=ids["loose"],
                                  type=schema.enum_value("Event.Type", "INPUT")))],
        contexts=[run]))
    ids["execution"] = answer.execution_id
    ids["model"], input_id = answer.artifact_ids
    assert input_id == ids["loose"] and list(answer.context_ids) == [ids["run"]]
    return ids


def test_the_run_details_page_reads(envoy: GrpcWebClient, graph: dict[str, int]) -> None:
    """The UI's v2 run details sequence (MlmdUtils.ts) finds the run and its lineage."""
    found = envoy.call("GetContextByTypeAndName", request(
        "GetContextByTypeAndName", type_name="system.PipelineRun", context_name="run-1"))
    assert found.context.id == graph["run"]
    assert found.context.type == "system.PipelineRun"
    assert found.context.custom_properties["namespace"].string_value == "bob"
    executions = envoy.call("GetExecutionsByContext", request(
        "GetExecutionsByContext", context_id=graph["run"])).executions
    assert [e.id for e in executions] == [graph["execution"]]
    assert executions[0].custom_properties["task_name"].string_value == "train"
    artifacts = envoy.call("GetArtifactsByContext", request(
        "GetArtifactsByContext", context_id=graph["run"])).artifacts
    assert sorted(a.id for a in artifacts) == sorted([graph["model"], graph["loose"]])
    events = envoy.call("GetEventsByExecutionIDs", request(
        "GetEventsByExecutionIDs", execution_ids=[graph["execution"]])).events
    kinds = {(e.artifact_id, e.type) for e in events}
    assert kinds == {(graph["model"], 4), (graph["loose"], 3)}  # OUTPUT, INPUT
    [output] = [e for e in events if e.type == 4]
    assert [s.key for s in output.path.steps] == ["model"]
    by_id = envoy.call("GetArtifactsByID", request(
        "GetArtifactsByID", artifact_ids=[graph["model"], 999], populate_artifact_types=True))
    assert [a.uri for a in by_id.artifacts] == ["minio://mlpipeline/private-artifacts/bob/model"]
    assert [t.name for t in by_id.artifact_types] == ["system.Model"]
    contexts = envoy.call("GetContextsByExecution", request(
        "GetContextsByExecution", execution_id=graph["execution"])).contexts
    assert [c.name for c in contexts] == ["run-1"]
    context_type = envoy.call("GetContextType", request(
        "GetContextType", type_name="system.PipelineRun")).context_type
    assert context_type.id == graph["run_type"]


def test_the_artifact_validator_reads(envoy: GrpcWebClient, graph: dict[str, int]) -> None:
    """mlmd-validator.ts: artifacts by URI, then their run contexts' namespace."""
    uri = "minio://mlpipeline/private-artifacts/bob/model"
    [artifact] = envoy.call("GetArtifactsByURI", request(
        "GetArtifactsByURI", uris=[uri, "minio://nope"])).artifacts
    [context] = envoy.call("GetContextsByArtifact", request(
        "GetContextsByArtifact", artifact_id=artifact.id)).contexts
    assert context.custom_properties["namespace"].string_value == "bob"


def test_lists_and_types(envoy: GrpcWebClient, graph: dict[str, int]) -> None:
    artifacts = envoy.call("GetArtifacts", request("GetArtifacts")).artifacts
    assert [a.id for a in artifacts] == sorted([graph["loose"], graph["model"]])
    executions = envoy.call("GetExecutions", request("GetExecutions")).executions
    assert [e.id for e in executions] == [graph["execution"]]
    by_id = envoy.call("GetExecutionsByID", request(
        "GetExecutionsByID", execution_ids=[graph["execution"]])).executions
    assert by_id[0].last_known_state == 3  # COMPLETE
    contexts = envoy.call("GetContexts", request("GetContexts")).contexts
    assert [c.name for c in contexts] == ["run-1"]
    by_type = envoy.call("GetContextsByType", request(
        "GetContextsByType", type_name="system.PipelineRun")).contexts
    assert [c.id for c in by_type] == [graph["run"]]
    assert [t.name for t in envoy.call("GetArtifactTypes", request(
        "GetArtifactTypes")).artifact_types] == ["system.Model"]
    assert [t.name for t in envoy.call("GetExecutionTypes", request(
        "GetExecutionTypes")).execution_types] == ["system.ContainerExecution"]
    assert [t.name for t in envoy.call("GetContextTypes", request(
        "GetContextTypes")).context_types] == ["system.PipelineRun"]
    assert [t.id for t in envoy.call("GetArtifactTypesByID", request(
        "GetArtifactTypesByID", type_ids=[graph["artifact_type"], graph["run_type"]],
    )).artifact_types] == [graph["artifact_type"]]
    assert [t.id for t in envoy.call("GetExecutionTypesByID", request(
        "GetExecutionTypesByID", type_ids=[graph["execution_type"]])).execution_types] == [
        graph["execution_type"]]
    events = envoy.call("GetEventsByArtifactIDs", request(
        "GetEventsByArtifactIDs", artifact_ids=[graph["loose"]])).events
    assert [(e.execution_id, e.type) for e in events] == [(graph["execution"], 3)]


def test_paging_follows_the_token(envoy: GrpcWebClient, graph: dict[str, int]) -> None:
    options = schema.new("ListOperationOptions", max_result_size=1)
    first = envoy.call("GetArtifacts", request("GetArtifacts", options=options))
    assert len(first.artifacts) == 1 and first.next_page_token
    options.next_page_token = first.next_page_token
    second = envoy.call("GetArtifacts", request("GetArtifacts", options=options))
    assert len(second.artifacts) == 1 and not second.next_page_token
    assert first.artifacts[0].id < second.artifacts[0].id
    descending = schema.new("ListOperationOptions", max_result_size=5)
    descending.order_by_field.is_asc = False
    ids = [a.id for a in envoy.call("GetArtifacts", request(
        "GetArtifacts", options=descending)).artifacts]
    assert ids == sorted(ids, reverse=True) and len(ids) == 2
    options.next_page_token = "not a token"
    assert status_of(envoy, "GetArtifacts", request("GetArtifacts", options=options))[0] == 3
    zero = schema.new("ListOperationOptions", max_result_size=0)
    assert status_of(envoy, "GetArtifacts", request("GetArtifacts", options=zero))[0] == 3


def test_missing_things_answer_as_mlmd_does(envoy: GrpcWebClient) -> None:
    missing = envoy.call("GetContextByTypeAndName", request(
        "GetContextByTypeAndName", type_name="system.PipelineRun", context_name="run-x"))
    assert not missing.HasField("context")  # OK, empty: the UI says "Cannot find..."
    assert envoy.call("GetContextsByType", request(
        "GetContextsByType", type_name="nope")).contexts == []
    assert envoy.call("GetArtifactsByID", request(
        "GetArtifactsByID", artifact_ids=[5])).artifacts == []
    assert status_of(envoy, "GetContextType", request("GetContextType", type_name="nope")) == (
        5, "No type found for query, name: `nope`, version: `nullopt`")
    assert status_of(envoy, "GetContextsByArtifact", request(
        "GetContextsByArtifact", artifact_id=99)) == (5, "No contexts found for artifact_id: 99")


def test_refused_writes_change_nothing(envoy: GrpcWebClient, graph: dict[str, int]) -> None:
    before = envoy.call("GetContexts", request("GetContexts")).contexts
    duplicate = schema.new("Context", type_id=graph["run_type"], name="run-1")
    fresh = schema.new("Context", type_id=graph["run_type"], name="run-2")
    code, message = status_of(envoy, "PutContexts", request(
        "PutContexts", contexts=[fresh, duplicate]))
    assert code == 6 and message.startswith("Given node already exists")
    assert envoy.call("GetContexts", request("GetContexts")).contexts == before
    code, _ = status_of(envoy, "PutArtifacts", request(
        "PutArtifacts", artifacts=[schema.new("Artifact", uri="u")]))
    assert code == 3  # Type id is missing.


def test_put_execution_reuses_an_existing_context_only_when_asked(
        envoy: GrpcWebClient, graph: dict[str, int]) -> None:
    execution = schema.new("Execution", type_id=graph["execution_type"])
    context = schema.new("Context", type_id=graph["run_type"], name="run-1")
    assert status_of(envoy, "PutExecution", request(
        "PutExecution", execution=execution, contexts=[context]))[0] == 6
    answer = envoy.call("PutExecution", request(
        "PutExecution", execution=execution, contexts=[context],
        options=schema.new("PutExecutionRequest.Options", reuse_context_if_already_exist=True)))
    assert list(answer.context_ids) == [graph["run"]]


def test_reset_clears_the_store(server: EmulatorServer, envoy: GrpcWebClient,
                                graph: dict[str, int]) -> None:
    assert envoy.call("GetArtifacts", request("GetArtifacts")).artifacts
    server.emulator.reset()
    assert envoy.call("GetArtifacts", request("GetArtifacts")).artifacts == []


def test_the_simple_interface_is_visible_on_the_wire(server: EmulatorServer,
                                                     envoy: GrpcWebClient) -> None:
    emulator = server.emulator
    with emulator.kfp.state.lock:
        run = emulator.metadata.put_context("system.PipelineRun", "run-9", {"namespace": "alice"})
        emulator.metadata.put_artifact("system.Artifact", "minio://mlpipeline/a", {"n": 1.5},
                                       [run])
    [artifact] = envoy.call("GetArtifactsByContext", request(
        "GetArtifactsByContext", context_id=run)).artifacts
    assert artifact.custom_properties["n"].WhichOneof("value") == "double_value"
    assert artifact.state == 2  # LIVE


# -- framing and HTTP -------------------------------------------------------------------------

def post(server: EmulatorServer, method: str, body: bytes,
         content_type: str = "application/grpc-web+proto", **headers: str) -> requests.Response:
    return requests.post(server.metadata_url + SERVICE_PATH + method, data=body, timeout=10,
                         headers={"Content-Type": content_type, **headers})


def trailer_of(answer: requests.Response) -> dict[str, str]:
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/grpc-web+proto"
    return decode_frames(answer.content)[1]


def test_the_empty_request_of_iso_020_reads_everything(server: EmulatorServer,
                                                       graph: dict[str, int]) -> None:
    answer = post(server, "GetArtifacts", b"\x00\x00\x00\x00\x00")
    data, trailers = decode_frames(answer.content)
    assert trailers == {"grpc-status": "0"}
    decoded = schema.response_class("GetArtifacts")()
    decoded.ParseFromString(data)
    assert len(decoded.artifacts) == 2


@pytest.mark.parametrize("body", [b"", b"\x00\x00\x00", b"\x00\x00\x00\x00\x09abc",
                                  b"\x01\x00\x00\x00\x00", b"\x00\x00\x00\x00\x02\xff\xff"])
def test_broken_bodies_are_invalid_argument(server: EmulatorServer, body: bytes) -> None:
    assert trailer_of(post(server, "GetArtifacts", body))["grpc-status"] == "3"


def test_an_unknown_method_is_unimplemented(server: EmulatorServer) -> None:
    for method in ("GetLineageGraph", "NoSuchMethod"):
        trailers = trailer_of(post(server, method, b"\x00\x00\x00\x00\x00"))
        assert trailers["grpc-status"] == "12"
    other_service = requests.post(server.metadata_url + "/other.Service/GetArtifacts",
                                  data=b"\x00\x00\x00\x00\x00", timeout=10,
                                  headers={"Content-Type": "application/grpc-web+proto"})
    assert trailer_of(other_service)["grpc-status"] == "12"


def test_the_message_is_percent_encoded(server: EmulatorServer) -> None:
    message = request("GetContextType", type_name="n%é").SerializeToString()
    body = struct.pack(">BI", 0, len(message)) + message
    trailers = trailer_of(post(server, "GetContextType", body))
    assert trailers["grpc-status"] == "5"
    assert "n%25%C3%A9" in trailers["grpc-message"]


def test_text_mode_is_base64(server: EmulatorServer, graph: dict[str, int]) -> None:
    answer = post(server, "GetContexts", base64.b64encode(b"\x00\x00\x00\x00\x00"),
                  "application/grpc-web-text")
    assert answer.headers["content-type"].startswith("application/grpc-web-text")
    data, trailers = decode_frames(base64.b64decode(answer.content))
    assert trailers["grpc-status"] == "0"
    decoded = schema.response_class("GetContexts")()
    decoded.ParseFromString(data)
    assert [c.name for c in decoded.contexts] == ["run-1"]
    text_client = GrpcWebClient(server.metadata_url, text=True)
    assert len(text_client.call("GetArtifacts", request("GetArtifacts")).artifacts) == 2


def test_not_grpc_web_is_refused_before_the_service(server: EmulatorServer) -> None:
    answer = post(server, "GetArtifacts", b"{}", "application/json")
    assert answer.status_code == 415


def test_cors_preflight_is_answered_like_metadata_envoy(server: EmulatorServer) -> None:
    answer = requests.options(
        server.metadata_url + SERVICE_PATH + "GetArtifacts", timeout=10,
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type,x-grpc-web"})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "https://evil.example"
    assert "POST" in answer.headers["access-control-allow-methods"]
    assert "x-grpc-web" in answer.headers["access-control-allow-headers"].split(",")
    actual = post(server, "GetArtifacts", b"\x00\x00\x00\x00\x00", Origin="https://evil.example")
    assert actual.headers["access-control-allow-origin"] == "https://evil.example"
    assert {"grpc-status", "grpc-message"} <= set(
        actual.headers["access-control-expose-headers"].split(","))

"""The gateway's ``/ml_metadata`` route (VirtualService metadata-grpc): authentication as for
every path, then metadata-envoy with no tenant check (ISO-020, the documented limitation)."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.mlmd import schema
from emulator.mlmd.client import GrpcWebClient, GrpcWebError
from emulator.serving import EmulatorServer
from emulator.testing import OWNER, STRANGER, STRANGER_NAMESPACE
from tests.mlmd.conftest import request, signed_in


@pytest.fixture
def bobs_run(server: EmulatorServer) -> int:
    with server.emulator.kfp.state.lock:
        run = server.emulator.metadata.put_context("system.PipelineRun", "run-bob",
                                                   {"namespace": STRANGER_NAMESPACE})
        server.emulator.metadata.put_artifact(
            "system.Model", "minio://mlpipeline/private-artifacts/bob/m", {}, [run])
    return run


def by_name(client: GrpcWebClient) -> Any:
    return client.call("GetContextByTypeAndName", request(
        "GetContextByTypeAndName", type_name="system.PipelineRun", context_name="run-bob"))


def test_a_signed_in_session_reaches_mlmd(server: EmulatorServer, bobs_run: int) -> None:
    owner = GrpcWebClient(server.gateway_url, signed_in(server, STRANGER))
    found = by_name(owner)
    assert found.context.id == bobs_run


def test_a_bearer_token_reaches_mlmd(server: EmulatorServer, bobs_run: int) -> None:
    token = server.emulator.user_token(STRANGER)
    owner = GrpcWebClient(server.gateway_url, headers={"Authorization": f"Bearer {token}"})
    artifacts = owner.call("GetArtifactsByContext", request(
        "GetArtifactsByContext", context_id=bobs_run)).artifacts
    assert [a.uri for a in artifacts] == ["minio://mlpipeline/private-artifacts/bob/m"]


def test_any_tenant_reads_and_writes_every_tenants_metadata(server: EmulatorServer,
                                                            bobs_run: int) -> None:
    """ISO-020 as every release but 2.18.1 ships it: authenticated is enough."""
    alice = GrpcWebClient(server.gateway_url, signed_in(server, OWNER))
    found = by_name(alice)
    assert found.context.custom_properties["namespace"].string_value == STRANGER_NAMESPACE
    context = schema.new("Context", id=bobs_run, type_id=found.context.type_id, name="run-bob")
    context.custom_properties["namespace"].string_value = "alice"
    alice.call("PutContexts", request("PutContexts", contexts=[context]))
    with server.emulator.kfp.state.lock:
        stored = server.emulator.metadata.context_by_type_and_name("system.PipelineRun",
                                                                   "run-bob")
    assert stored is not None and stored.custom_properties == {"namespace": "alice"}


def test_no_identity_is_stopped_at_the_gateway(server: EmulatorServer, bobs_run: int) -> None:
    GrpcWebClient(server.gateway_url, signed_in(server, STRANGER)).call(
        "GetArtifacts", request("GetArtifacts"))  # positive control
    for client in (GrpcWebClient(server.gateway_url),
                   GrpcWebClient(server.gateway_url, headers={"Authorization": "Bearer x.y.z"}),
                   GrpcWebClient(server.gateway_url, headers={"kubeflow-userid": STRANGER})):
        with pytest.raises(GrpcWebError) as raised:
            client.call("GetArtifacts", request("GetArtifacts"))
        assert raised.value.http_status == 401 and raised.value.grpc_status is None


def test_the_gateway_route_is_the_prefix(server: EmulatorServer) -> None:
    """``/ml_metadata`` goes to metadata-envoy, so the service path answers gRPC-web there."""
    session = signed_in(server, STRANGER)
    answer = session.post(server.gateway_url + "/ml_metadata.MetadataStoreService/Nope",
                          data=b"\x00\x00\x00\x00\x00", timeout=10,
                          headers={"Content-Type": "application/grpc-web+proto"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/grpc-web+proto"
    assert b"grpc-status:12" in answer.content

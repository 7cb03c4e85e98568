"""The UI server's routing: the API proxy at ``/`` and ``/pipeline`` (headers forwarded), the
retired generic proxy, the ML Metadata proxy (mounted at the root only, with no check at all),
the web UI for everything else; and standalone mode, where nothing is checked."""

from __future__ import annotations

import struct

import requests

from emulator.mlmd import client, schema
from emulator.serving import EmulatorServer
from emulator.testing import OWNER, STRANGER
from emulator.webui.app import build_web_app
from tests.gateway.conftest import Gateway
from tests.ui.conftest import BUCKET, Answer, call_app, ui_app

GRPC_WEB = {"content-type": "application/grpc-web+proto", "x-grpc-web": "1"}


def test_the_api_proxy_forwards_the_identity(gw: Gateway) -> None:
    alice, bob = gw.signed_in(OWNER), gw.signed_in(STRANGER)
    made = alice.post(f"{gw.pipeline_url}/apis/v2beta1/experiments",
                      json={"display_name": "mine", "namespace": "alice"})
    assert made.status_code == 200, made.text
    listed = alice.get(f"{gw.pipeline_url}/apis/v2beta1/experiments",
                       params={"namespace": "alice"})
    assert [e["display_name"] for e in listed.json()["experiments"]] == ["mine"]
    assert bob.get(f"{gw.pipeline_url}/apis/v2beta1/experiments",
                   params={"namespace": "alice"}).status_code == 403
    # The UI server itself, at the root, passes the caller's header on.
    app = ui_app(gw.emulator)
    root = call_app(app, "/apis/v1beta1/experiments", {"resource_reference_key.type":
                                                       "NAMESPACE",
                                                       "resource_reference_key.id": "alice"},
                    {"kubeflow-userid": OWNER})
    assert root.status == 200 and b"mine" in root.body
    assert call_app(app, "/apis/v1beta1/experiments", {"resource_reference_key.type":
                                                      "NAMESPACE",
                                                      "resource_reference_key.id": "alice"}
                    ).status == 401


def test_the_generic_proxy_is_gone_and_other_paths_are_the_web_ui(gw: Gateway) -> None:
    alice = gw.signed_in(OWNER)
    for path in ("/pipeline/apis/v1beta1/_proxy/example.com", "/pipeline/apis/v2beta1/_proxy/x"):
        gone = alice.get(gw.url + path)
        assert (gone.status_code, gone.text) == (
            410, "The generic /_proxy/ endpoint is deprecated and no longer supported."), path
    for path in ("/pipeline/", "/pipeline/artifacts", "/pipeline/k8s"):
        served = alice.get(gw.url + path)
        expected = web_answer(gw, path)
        assert (served.status_code, served.content) == (expected.status, expected.body), path
    # Under /artifacts/ the middleware runs first; past it, no handler: the web UI.
    assert alice.get(f"{gw.pipeline_url}/artifacts/x").status_code == 400
    past = alice.get(f"{gw.pipeline_url}/artifacts/x", params={"namespace": "alice"})
    expected = web_answer(gw, "/pipeline/artifacts/x")
    assert (past.status_code, past.content) == (expected.status, expected.body)


def web_answer(gw: Gateway, path: str, method: str = "GET") -> Answer:
    """What the web UI itself answers for ``path`` (the UI server's fall-through)."""
    return call_app(build_web_app(gw.emulator), path, method=method)


def _frame(message: object) -> bytes:
    payload = message.SerializeToString()  # type: ignore[attr-defined]
    return struct.pack(">BI", 0, len(payload)) + payload


def test_the_metadata_proxy_checks_no_tenant(gw: Gateway) -> None:
    """app.ts proxies ``/ml_metadata.*`` at the root with no authorization: alice reads the
    context of bob's run (isolation-bugs ISO-020)."""
    with gw.emulator.kfp.state.lock:
        gw.emulator.metadata.put_context("system.PipelineRun", "bobs-run", {"namespace": "bob"})
    request = schema.new("GetContextByTypeAndNameRequest", type_name="system.PipelineRun",
                         context_name="bobs-run")
    app = ui_app(gw.emulator)
    answer = call_app(app, "/ml_metadata.MetadataStoreService/GetContextByTypeAndName",
                      headers={"kubeflow-userid": OWNER, **GRPC_WEB}, method="POST",
                      body=_frame(request))
    assert answer.status == 200
    data, trailers = client.decode_frames(answer.body)
    assert trailers.get("grpc-status") == "0"
    found = schema.response_class("GetContextByTypeAndName")()
    found.ParseFromString(data)
    assert found.context.name == "bobs-run"
    assert found.context.custom_properties["namespace"].string_value == "bob"
    # Not under the base path: app.ts registers this proxy at the root only.
    based = call_app(app, "/pipeline/ml_metadata.MetadataStoreService/GetContextByTypeAndName",
                     headers={"kubeflow-userid": OWNER, **GRPC_WEB}, method="POST",
                     body=_frame(request))
    assert based.status == web_answer(gw, "/pipeline/ml_metadata.MetadataStoreService/"
                                          "GetContextByTypeAndName", "POST").status
    assert "grpc-status" not in based.headers and based.body != answer.body


def test_standalone_checks_nothing(standalone: EmulatorServer) -> None:
    key = "private-artifacts/bob/v2/artifacts/p/r/t/u/model"
    with standalone.emulator.kfp.state.lock:
        standalone.emulator.object_store.put_object(BUCKET, key, b"anyone's")
        standalone.emulator.metadata.put_context("system.PipelineRun", "r", {"namespace": "bob"})
    for base in (standalone.gateway_url, standalone.gateway_url + "/pipeline"):
        answer = requests.get(f"{base}/artifacts/get", timeout=30,
                              params={"source": "minio", "bucket": BUCKET, "key": key})
        assert (answer.status_code, answer.content) == (200, b"anyone's"), base
        other = requests.get(f"{base}/artifacts/get", timeout=30, params={
            "source": "minio", "bucket": BUCKET, "key": key, "namespace": "alice"})
        assert other.content == b"anyone's"
    # The single-value check stays on.
    twice = requests.get(f"{standalone.gateway_url}/artifacts/get?source=minio&source=s3",
                         timeout=30)
    assert (twice.status_code, twice.text) == (400, "source must be a single string value")
    # The API server behind the proxy is single-user.
    healthz = requests.get(f"{standalone.gateway_url}/pipeline/apis/v2beta1/healthz", timeout=30)
    assert healthz.json()["multi_user"] is False
    # ML Metadata through the port-forward, no identity.
    mlmd = client.GrpcWebClient(standalone.gateway_url)
    found = mlmd.call("GetContextByTypeAndName", schema.new(
        "GetContextByTypeAndNameRequest", type_name="system.PipelineRun", context_name="r"))
    assert found.context.custom_properties["namespace"].string_value == "bob"

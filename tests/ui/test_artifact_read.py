"""The API server's ``.../artifacts/{name}:read``: in multi-user mode no identity reaches its
authorization (spec 3.9), so it refuses everyone, the run's owner included; in standalone mode
it serves the Argo node artifact base64-encoded."""

from __future__ import annotations

import base64

import pytest
import requests

from emulator.serving import EmulatorServer
from emulator.testing import OWNER
from tests.gateway.conftest import Gateway
from tests.ui.conftest import BUCKET
from tests.ui.fakes import FakeExecution

V1_WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: hello-}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: alpine, command: [echo, hi]}
"""
UNAUTHENTICATED = ("Unauthenticated: Failed to check authorization. User identity is empty in "
                   "the request header: Unauthenticated: Request header error: there is no user "
                   "identity header.: Request header error: there is no user identity header.")


def read_url(base: str, api: str, run_id: str, node: str = "hello-1",
             name: str = "main-logs") -> str:
    return f"{base}/apis/{api}/runs/{run_id}/nodes/{node}/artifacts/{name}:read"


def create_run(base: str, headers: dict[str, str], namespace: str | None) -> str:
    """A v1 run (Argo YAML), in ``namespace``'s new experiment when given."""
    body: dict[str, object] = {"name": "reader",
                               "pipeline_spec": {"workflow_manifest": V1_WORKFLOW}}
    if namespace:
        experiment = requests.post(f"{base}/apis/v2beta1/experiments", headers=headers,
                                   json={"display_name": "e", "namespace": namespace},
                                   timeout=30)
        assert experiment.status_code == 200, experiment.text
        body["resource_references"] = [{
            "key": {"type": "EXPERIMENT", "id": experiment.json()["experiment_id"]},
            "relationship": "OWNER"}]
    run = requests.post(f"{base}/apis/v1beta1/runs", headers=headers, json=body, timeout=30)
    assert run.status_code == 200, run.text
    return str(run.json()["run"]["id"])


@pytest.mark.parametrize("api", ["v1beta1", "v2beta1"])
def test_multi_user_refuses_even_the_owner(gw: Gateway, api: str) -> None:
    alice = {"kubeflow-userid": OWNER}
    run_id = create_run(gw.direct_url, alice, "alice")
    got = requests.get(f"{gw.direct_url}/apis/v2beta1/runs/{run_id}", headers=alice, timeout=30)
    assert got.status_code == 200  # the owner may read the run itself
    refused = requests.get(read_url(gw.direct_url, api, run_id), headers=alice, timeout=30)
    assert refused.status_code == 403
    message = (f"Failed to authorize the request: Failed to access run {run_id}. Check if you "
               f"have access to namespace alice: {UNAUTHENTICATED}")
    assert refused.json() == {"error_message": message, "error_details": message}
    assert refused.headers["content-type"] == "application/json"
    # Through the UI server's proxy, with a login session: the same.
    through_ui = gw.signed_in(OWNER).get(read_url(gw.pipeline_url, api, run_id))
    assert (through_ui.status_code, through_ui.json()) == (403, refused.json())


def test_multi_user_unknown_run_is_refused_by_the_same_check(gw: Gateway) -> None:
    refused = requests.get(read_url(gw.direct_url, "v1beta1", "no-such-run"),
                           headers={"kubeflow-userid": OWNER}, timeout=30)
    message = ("Failed to authorize the request: Failed to authorize with the run ID "
               "no-such-run: ResourceNotFoundError: Run no-such-run not found")
    assert (refused.status_code, refused.json()) == (
        403, {"error_message": message, "error_details": message})


@pytest.fixture
def engine(standalone: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> FakeExecution:
    fake = FakeExecution()
    monkeypatch.setattr(standalone.emulator, "execution", fake, raising=False)
    return fake


@pytest.mark.parametrize("api", ["v1beta1", "v2beta1"])
def test_standalone_reads_the_node_artifact(standalone: EmulatorServer, engine: FakeExecution,
                                            api: str) -> None:
    run_id = create_run(standalone.url, {}, None)
    key = "artifacts/hello-abcde/2026/01/02/hello-1/main.log"
    payload = bytes(range(256)) * 3
    with standalone.emulator.kfp.state.lock:
        standalone.emulator.object_store.put_object(BUCKET, key, payload)
    # Known to the Workflow's status but not yet found: 404 with Go's "<nil>".
    engine.workflows[run_id] = {"metadata": {"name": "hello-abcde"}}
    missing = requests.get(read_url(standalone.url, api, run_id), timeout=30)
    assert (missing.status_code, missing.json()) == (404, {
        "error_message": "artifact not found: <nil>",
        "error_details": "artifact not found: <nil>"})
    assert "<" not in missing.text  # encoding/json escapes HTML characters
    engine.artifact_keys[(run_id, "hello-1", "main-logs")] = key
    found = requests.get(read_url(standalone.url, api, run_id), timeout=30)
    assert found.status_code == 200
    assert base64.b64decode(found.json()["data"]) == payload
    assert found.headers["cache-control"] == "no-cache, private"
    assert found.headers["content-type"] == "application/json"
    # Through the UI server's proxy (the port-forward) as well.
    proxied = requests.get(read_url(standalone.gateway_url + "/pipeline", api, run_id),
                           timeout=30)
    assert proxied.json() == found.json()
    unknown = requests.get(read_url(standalone.url, api, "no-such-run"), timeout=30)
    assert unknown.status_code == 404


def test_standalone_v2_run_without_a_workflow(standalone: EmulatorServer,
                                              engine: FakeExecution) -> None:
    from conformance.pipeline_spec import MINIMAL_PIPELINE_SPEC

    run = requests.post(f"{standalone.url}/apis/v2beta1/runs", timeout=30, json={
        "display_name": "v2", "pipeline_spec": MINIMAL_PIPELINE_SPEC})
    assert run.status_code == 200, run.text
    answer = requests.get(read_url(standalone.url, "v2beta1", run.json()["run_id"]), timeout=30)
    text = "Invalid input error: read artifact from run with v2 IR spec is not supported"
    assert (answer.status_code, answer.json()) == (
        500, {"error_message": text, "error_details": text})

"""The UI server over a real run: the execution engine's pod, its log and its artifacts, as
the run's namespace and as another tenant."""

from __future__ import annotations

import requests

from conformance.pipeline_spec import producer_pipeline_spec
from emulator.testing import OWNER, STRANGER
from tests.gateway.conftest import Gateway
from tests.ui.conftest import BUCKET

FORBIDDEN_KEY_TEXT = "Artifact does not belong to the requested namespace"


def finished_run(gw: Gateway, alice: requests.Session) -> str:
    experiment = alice.post(f"{gw.pipeline_url}/apis/v2beta1/experiments",
                            json={"display_name": "e", "namespace": "alice"})
    assert experiment.status_code == 200, experiment.text
    run = alice.post(f"{gw.pipeline_url}/apis/v2beta1/runs", json={
        "display_name": "r", "experiment_id": experiment.json()["experiment_id"],
        "pipeline_spec": producer_pipeline_spec()})
    assert run.status_code == 200, run.text
    gw.emulator.advance(60)
    return str(run.json()["run_id"])


def test_a_runs_log_and_artifacts_through_the_ui(gw: Gateway) -> None:
    alice, bob = gw.signed_in(OWNER), gw.signed_in(STRANGER)
    run_id = finished_run(gw, alice)
    pods = gw.emulator.execution.pods_of_run(run_id)
    assert pods, "the run made no pod"
    pod = pods[0]["metadata"]["name"]
    own_log = alice.get(f"{gw.pipeline_url}/k8s/pod/logs",
                        params={"podname": pod, "podnamespace": "alice"})
    assert own_log.status_code == 200 and run_id in own_log.text
    denied = bob.get(f"{gw.pipeline_url}/k8s/pod/logs",
                     params={"podname": pod, "podnamespace": "alice"})
    assert (denied.status_code, denied.text) == (403, "Access denied to namespace")
    # Bob may name his own namespace, where alice's pod does not exist.
    elsewhere = bob.get(f"{gw.pipeline_url}/k8s/pod/logs",
                        params={"podname": pod, "podnamespace": "bob"})
    assert elsewhere.status_code == 500 and run_id not in elsewhere.text
    # The run's output artifact, located by its URI in ML Metadata as the UI does.
    with gw.emulator.kfp.state.lock:
        context = gw.emulator.metadata.context_by_type_and_name("system.PipelineRun", run_id)
        assert context is not None
        uris = [a.uri for a in gw.emulator.metadata.artifacts_by_context(context.id) if a.uri]
    assert uris
    bucket, _, key = uris[0].removeprefix("minio://").partition("/")
    assert bucket == BUCKET
    params = {"source": "minio", "bucket": bucket, "key": key}
    mine = alice.get(f"{gw.pipeline_url}/artifacts/get", params={**params, "namespace": "alice"})
    assert mine.status_code == 200 and mine.content
    for namespace in ("bob", "alice"):
        theirs = bob.get(f"{gw.pipeline_url}/artifacts/get",
                         params={**params, "namespace": namespace})
        assert theirs.status_code == 403 and mine.content not in theirs.content
    assert bob.get(f"{gw.pipeline_url}/artifacts/get",
                   params={**params, "namespace": "bob"}).text == FORBIDDEN_KEY_TEXT
    # And the API server's :read refuses even alice (spec 3.9).
    node = pods[0]["metadata"].get("annotations", {}).get("workflows.argoproj.io/node-id", "n")
    read = alice.get(f"{gw.pipeline_url}/apis/v2beta1/runs/{run_id}/nodes/{node}/artifacts/"
                     "main-logs:read")
    assert read.status_code == 403


def test_a_runs_pod_and_its_events_only_for_viewers_of_its_namespace(gw: Gateway) -> None:
    """``/k8s/pod`` and ``/k8s/pod/events`` read with the UI's cluster-wide rights: the owner
    gets the pod's manifest (positive control), another tenant the exact 403, and nobody gets
    an answer without ``podnamespace`` (ISO-018)."""
    alice, bob = gw.signed_in(OWNER), gw.signed_in(STRANGER)
    run_id = finished_run(gw, alice)
    pod = gw.emulator.execution.pods_of_run(run_id)[0]["metadata"]["name"]
    query = {"podname": pod, "podnamespace": "alice"}
    mine = alice.get(f"{gw.pipeline_url}/k8s/pod", params=query)
    assert mine.status_code == 200, mine.text
    manifest = mine.json()
    assert (manifest["kind"], manifest["metadata"]["name"],
            manifest["metadata"]["namespace"]) == ("Pod", pod, "alice")
    events = alice.get(f"{gw.pipeline_url}/k8s/pod/events", params=query)
    assert events.status_code == 200 and events.json()["kind"] == "EventList"
    for path in ("/k8s/pod", "/k8s/pod/events"):
        denied = bob.get(f"{gw.pipeline_url}{path}", params=query)
        assert (denied.status_code, denied.text) == (403, "Access denied to namespace")
        unscoped = bob.get(f"{gw.pipeline_url}{path}", params={"podname": pod})
        assert (unscoped.status_code, unscoped.text) == (422,
                                                         "podnamespace argument is required")
    missing = alice.get(f"{gw.pipeline_url}/k8s/pod",
                        params={"podname": "no-such-pod", "podnamespace": "alice"})
    assert (missing.status_code, missing.text) == (
        500, "Could not get pod no-such-pod in namespace alice")

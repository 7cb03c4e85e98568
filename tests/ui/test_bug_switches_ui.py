"""The UI server's historical isolation bugs (emulator.bugs), switched on one at a time: each
reproduces the catalog's observed behaviour exactly (status and what is returned), and the
default emulator keeps the fix (the same requests, refused).

ISO-014 artifact downloads with no authorization, ISO-015 the ownership check skipped,
ISO-017 the generic ``/_proxy/`` route, ISO-018 pod info, events and logs unchecked."""

from __future__ import annotations

from typing import Any

import requests

from emulator.testing import OWNER, STRANGER, assert_denied
from tests.gateway.conftest import Gateway
from tests.ui.test_ui_with_runs import FORBIDDEN_KEY_TEXT, finished_run

GONE = "The generic /_proxy/ endpoint is deprecated and no longer supported."
HEALTHZ = "http%3A%2F%2Fml-pipeline.kubeflow%3A8888%2Fapis%2Fv2beta1%2Fhealthz"
NO_SUCH_KEY = "Could not get main container logs: S3Error: The specified key does not exist."


def _artifact(gw: Gateway, alice: requests.Session) -> tuple[dict[str, str], bytes]:
    """The query of the run's output artifact and the bytes alice downloads (the control)."""
    run_id = finished_run(gw, alice)
    with gw.emulator.kfp.state.lock:
        context = gw.emulator.metadata.context_by_type_and_name("system.PipelineRun", run_id)
        assert context is not None
        uris = [a.uri for a in gw.emulator.metadata.artifacts_by_context(context.id) if a.uri]
    bucket, _, key = uris[0].removeprefix("minio://").partition("/")
    params = {"source": "minio", "bucket": bucket, "key": key}
    mine = alice.get(f"{gw.pipeline_url}/artifacts/get", params={**params, "namespace": "alice"})
    assert mine.status_code == 200 and mine.content
    return params, mine.content


def _downloads(gw: Gateway, bob: requests.Session, params: dict[str, str]) -> dict[str, Any]:
    """bob's downloads of alice's artifact naming alice, naming bob, naming nothing."""
    url = f"{gw.pipeline_url}/artifacts/get"
    return {"alice": bob.get(url, params={**params, "namespace": "alice"}),
            "bob": bob.get(url, params={**params, "namespace": "bob"}),
            "none": bob.get(url, params=params)}


# -- ISO-014 / ISO-015: artifact downloads ------------------------------------------------------

def test_iso_014_any_download_is_served_with_the_uis_credentials(bugged: Any) -> None:
    gw = bugged("ISO-014")
    alice, bob = gw.signed_in(OWNER), gw.signed_in(STRANGER)
    params, content = _artifact(gw, alice)
    for scope, answer in _downloads(gw, bob, params).items():
        assert (answer.status_code, answer.content) == (200, content), scope
    # The path form as well (upstream's second route, no middleware either).
    path = bob.get(f"{gw.pipeline_url}/artifacts/minio/{params['bucket']}/{params['key']}")
    assert path.status_code == 200 and path.content


def test_iso_015_a_namespace_the_caller_may_view_opens_any_key(bugged: Any) -> None:
    gw = bugged("ISO-015")
    alice, bob = gw.signed_in(OWNER), gw.signed_in(STRANGER)
    params, content = _artifact(gw, alice)
    answers = _downloads(gw, bob, params)
    assert (answers["bob"].status_code, answers["bob"].content) == (200, content)
    # Only the ownership check is gone: the SAR and the namespace requirement stay.
    assert answers["alice"].status_code == 403 and content not in answers["alice"].content
    assert (answers["none"].status_code, answers["none"].text) == (
        400, "Namespace parameter is required when authentication is enabled")


def test_artifact_downloads_are_checked_by_default(gw: Gateway) -> None:
    alice, bob = gw.signed_in(OWNER), gw.signed_in(STRANGER)
    params, content = _artifact(gw, alice)
    answers = _downloads(gw, bob, params)
    assert answers["alice"].status_code == 403
    assert (answers["bob"].status_code, answers["bob"].text) == (403, FORBIDDEN_KEY_TEXT)
    assert answers["none"].status_code == 400
    assert all(content not in answer.content for answer in answers.values())


# -- ISO-018: pod info, events and logs ---------------------------------------------------------

def _pod_answers(gw: Gateway, bob: requests.Session, pod: str) -> dict[str, Any]:
    scoped = {"podname": pod, "podnamespace": "alice"}
    return {path + scope: bob.get(f"{gw.pipeline_url}{path}", params=params)
            for path in ("/k8s/pod", "/k8s/pod/events", "/k8s/pod/logs")
            for scope, params in (("@alice", scoped), ("@none", {"podname": pod}))}


def test_iso_018_another_tenants_pod_its_events_and_log_are_served(bugged: Any) -> None:
    gw = bugged("ISO-018")
    alice, bob = gw.signed_in(OWNER), gw.signed_in(STRANGER)
    run_id = finished_run(gw, alice)
    pod = gw.emulator.execution.pods_of_run(run_id)[0]["metadata"]["name"]
    answers = _pod_answers(gw, bob, pod)
    manifest = answers["/k8s/pod@alice"]
    assert manifest.status_code == 200
    assert (manifest.json()["metadata"]["name"], manifest.json()["metadata"]["namespace"]) == (
        pod, "alice")
    assert answers["/k8s/pod/events@alice"].status_code == 200
    assert answers["/k8s/pod/events@alice"].json()["kind"] == "EventList"
    assert answers["/k8s/pod/logs@alice"].status_code == 200
    assert run_id in answers["/k8s/pod/logs@alice"].text
    # Without podnamespace the logs handler reads the server's own namespace (kubeflow), where
    # the pod is not, then the archive key ARGO_KEYFORMAT makes: no such object.
    assert (answers["/k8s/pod/logs@none"].status_code,
            answers["/k8s/pod/logs@none"].text) == (500, NO_SUCH_KEY)
    # The pod handlers always needed the namespace.
    for path in ("/k8s/pod", "/k8s/pod/events"):
        assert (answers[path + "@none"].status_code, answers[path + "@none"].text) == (
            422, "podnamespace argument is required")


def test_pod_info_events_and_logs_are_checked_by_default(gw: Gateway) -> None:
    alice, bob = gw.signed_in(OWNER), gw.signed_in(STRANGER)
    run_id = finished_run(gw, alice)
    pod = gw.emulator.execution.pods_of_run(run_id)[0]["metadata"]["name"]
    for key, answer in _pod_answers(gw, bob, pod).items():
        expected = ((403, "Access denied to namespace") if key.endswith("@alice")
                    else (422, "podnamespace argument is required"))
        assert (answer.status_code, answer.text) == expected, key


# -- ISO-017: the generic /_proxy/ route ---------------------------------------------------------

def test_iso_017_the_proxy_forwards_to_the_named_host(bugged: Any) -> None:
    gw = bugged("ISO-017")
    bob = gw.signed_in(STRANGER)
    direct = requests.get(f"{gw.direct_url}/apis/v2beta1/healthz")
    for version in ("v1beta1", "v2beta1"):
        proxied = bob.get(f"{gw.pipeline_url}/apis/{version}/_proxy/{HEALTHZ}")
        assert (proxied.status_code, proxied.json()) == (200, direct.json()), version


def test_iso_017_the_forwarded_request_carries_the_callers_own_identity(bugged: Any) -> None:
    """The proxy passes the headers on as it got them: the gateway's identity header names
    bob, so the API server answers bob as bob (his namespace yes, alice's no)."""
    gw = bugged("ISO-017")
    bob = gw.signed_in(STRANGER)
    base = "http%3A%2F%2Fml-pipeline.kubeflow.svc.cluster.local%3A8888%2Fapis%2Fv2beta1"
    own = bob.get(f"{gw.pipeline_url}/apis/v1beta1/_proxy/{base}%2Fexperiments",
                  params={"namespace": "bob"})
    assert own.status_code == 200, own.text
    body = assert_denied(bob.get(f"{gw.pipeline_url}/apis/v1beta1/_proxy/{base}%2Fexperiments",
                                 params={"namespace": "alice"}))
    assert STRANGER in str(body)


def test_iso_017_only_hosts_the_emulator_serves_answer(bugged: Any) -> None:
    gw = bugged("ISO-017")
    bob = gw.signed_in(STRANGER)
    unknown = bob.get(f"{gw.pipeline_url}/apis/v1beta1/_proxy/"
                      "http%3A%2F%2F169.254.169.254%2FcomputeMetadata%2Fv1%2F")
    assert (unknown.status_code, unknown.text) == (
        504, "Error occurred while trying to proxy: 169.254.169.254:80/computeMetadata/v1/")
    # ml-pipeline:8888 is the KFP API only: not the emulator's controls on the same listener.
    controls = bob.get(f"{gw.pipeline_url}/apis/v1beta1/_proxy/"
                       "http%3A%2F%2Fml-pipeline.kubeflow%3A8888%2F_emulator%2Fstate")
    assert controls.status_code == 404 and "experiments" not in controls.text
    malformed = bob.get(f"{gw.pipeline_url}/apis/v1beta1/_proxy/http%3A%2F%2F%E0%A4")
    assert (malformed.status_code, malformed.text) == (500, "URIError: URI malformed")


def test_iso_017_a_proxy_referer_sends_any_request_to_its_origin(bugged: Any) -> None:
    gw = bugged("ISO-017")
    bob = gw.signed_in(STRANGER)
    referer = f"{gw.pipeline_url}/apis/v1beta1/_proxy/http%3A%2F%2Fevil.example.com%2Fpage"
    answer = bob.get(f"{gw.pipeline_url}/apis/v2beta1/healthz", params={"x": "1"},
                     headers={"Referer": referer})
    assert (answer.status_code, answer.text) == (
        504, "Error occurred while trying to proxy: "
             "evil.example.com:80/pipeline/apis/v2beta1/healthz?x=1")


def test_the_generic_proxy_is_gone_by_default(gw: Gateway) -> None:
    bob = gw.signed_in(STRANGER)
    for version in ("v1beta1", "v2beta1"):
        answer = bob.get(f"{gw.pipeline_url}/apis/{version}/_proxy/{HEALTHZ}")
        assert (answer.status_code, answer.text) == (410, GONE), version
    referer = f"{gw.pipeline_url}/apis/v1beta1/_proxy/http%3A%2F%2Fevil.example.com%2Fpage"
    normal = bob.get(f"{gw.pipeline_url}/apis/v2beta1/healthz", headers={"Referer": referer})
    assert normal.status_code == 200 and normal.json()["multi_user"] is True

"""``/k8s/pod/logs``: podname required, podnamespace required with authz (422), ``get viewers``
on it (403), then the logs from Kubernetes, the Workflow's archive record or the keyFormat
archive, read with the UI's credentials."""

from __future__ import annotations

import pytest
import requests

from emulator.serving import EmulatorServer
from emulator.testing import OWNER
from tests.gateway.conftest import Gateway
from tests.ui.conftest import BUCKET, call_app, ui_app
from tests.ui.fakes import FakeWorkloads, archived_workflow

NO_LOGS = "Could not get main container logs: S3Error: The specified key does not exist."


@pytest.fixture
def engine(gw: Gateway, monkeypatch: pytest.MonkeyPatch) -> FakeWorkloads:
    fake = FakeWorkloads()
    monkeypatch.setattr(gw.emulator.cluster, "workloads", fake)
    return fake


def logs(session: requests.Session, gw: Gateway, **query: str) -> requests.Response:
    return session.get(f"{gw.pipeline_url}/k8s/pod/logs", params=query)


def test_the_pod_namespace_is_required_and_checked(gw: Gateway, engine: FakeWorkloads) -> None:
    engine.logs[("alice", "wf-abc-1")] = "alice's log\n"
    engine.logs[("bob", "wf-xyz-1")] = "bob's log\n"
    alice = gw.signed_in(OWNER)
    own = logs(alice, gw, podname="wf-abc-1", podnamespace="alice")
    assert (own.status_code, own.text) == (200, "alice's log\n")
    missing_pod = logs(alice, gw, podnamespace="alice")
    assert (missing_pod.status_code, missing_pod.text) == (400, "podname argument is required")
    no_namespace = logs(alice, gw, podname="wf-xyz-1")
    assert (no_namespace.status_code, no_namespace.text) == (
        422, "podnamespace argument is required")
    foreign = logs(alice, gw, podname="wf-xyz-1", podnamespace="bob")
    assert (foreign.status_code, foreign.text) == (403, "Access denied to namespace")
    # With no identity at the UI server the API server's check fails: the same 403.
    anonymous = call_app(ui_app(gw.emulator), "/k8s/pod/logs",
                         {"podname": "wf-abc-1", "podnamespace": "alice"})
    assert (anonymous.status, anonymous.text) == (403, "Access denied to namespace")


def test_an_unknown_pod_is_the_archive_miss(gw: Gateway, engine: FakeWorkloads) -> None:
    """No pod, no Workflow, no archived log at the keyFormat path: upstream's last fallback
    fails reading the object, and the handler answers 500 with that error."""
    alice = gw.signed_in(OWNER)
    answer = logs(alice, gw, podname="nothing-here", podnamespace="alice")
    assert (answer.status_code, answer.text) == (500, NO_LOGS)


def test_logs_from_the_archive(gw: Gateway, engine: FakeWorkloads) -> None:
    # The Workflow's status names the node's main-logs object (the pod itself is gone).
    pod = "wf-abc-system-container-impl-1234"
    log_key = f"private-artifacts/alice/wf-abc/2026/01/02/{pod}/main.log"
    with gw.emulator.kfp.state.lock:
        gw.emulator.object_store.put_object(BUCKET, log_key, b"archived by argo\n")
    alice = gw.signed_in(OWNER)
    assert logs(alice, gw, podname=pod, podnamespace="alice").status_code == 500
    engine.workflows[("alice", "wf-abc")] = archived_workflow("wf-abc", "alice", "wf-abc-1234",
                                                              log_key)
    found = logs(alice, gw, podname=pod, podnamespace="alice")
    assert (found.status_code, found.text) == (200, "archived by argo\n")
    # Without a Workflow: the keyFormat the UI is configured with (ARGO_KEYFORMAT's default).
    legacy_pod = "old-wf-system-container-impl-99"
    legacy_key = f"artifacts/old-wf/2025/12/31/{legacy_pod}/main.log"
    with gw.emulator.kfp.state.lock:
        gw.emulator.object_store.put_object(BUCKET, legacy_key, b"legacy layout\n")
    legacy = logs(alice, gw, podname=legacy_pod, podnamespace="alice", createdat="2025-12-31")
    assert (legacy.status_code, legacy.text) == (200, "legacy layout\n")
    assert logs(alice, gw, podname=legacy_pod, podnamespace="alice").text == NO_LOGS


def test_standalone_needs_no_namespace(standalone: EmulatorServer,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeWorkloads(logs={("kubeflow", "wf-1"): "in the server's namespace\n"})
    monkeypatch.setattr(standalone.emulator.cluster, "workloads", fake)
    answer = requests.get(f"{standalone.gateway_url}/pipeline/k8s/pod/logs",
                          params={"podname": "wf-1"}, timeout=30)
    assert (answer.status_code, answer.text) == (200, "in the server's namespace\n")
    root = requests.get(f"{standalone.gateway_url}/k8s/pod/logs",
                        params={"podname": "wf-1", "podnamespace": "kubeflow"}, timeout=30)
    assert root.text == "in the server's namespace\n"
    missing = requests.get(f"{standalone.gateway_url}/k8s/pod/logs", timeout=30)
    assert (missing.status_code, missing.text) == (400, "podname argument is required")

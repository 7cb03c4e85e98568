"""The historical bug switches of runs, experiments, recurring runs and the API server's own
readers (isolation-bugs ISO-001, ISO-002, ISO-003, ISO-009), through HTTP.

Each test drives the same requests against an emulator with the switch on and one without: on,
the bug reproduces as the catalog describes it (status and side effect); off, the request is
refused exactly and nothing changes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
import requests

from emulator.config import EmulatorConfig
from emulator.core import Emulator
from emulator.kube.rbac import PolicyRule, Role, RoleBinding, RoleRef, Subject
from emulator.testing import (
    KfpTestEnv,
    assert_denied,
    assert_unauthenticated,
    running_env,
    standard_profiles,
)
from tests.support.api import SPEC, V1, V2, ok

NS = "alice"
GROUP = "pipelines.kubeflow.org"
UNA = "una@example.com"
# una's custom Roles in alice: reads, plus the verbs 2.0.0-beta asked for by mistake.
UNA_ROLES = {"runs": ("get", "list", "unarchive"), "experiments": ("get", "list", "archive"),
             "jobs": ("get", "list", "enable")}
LEGACY_PRODUCER = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: legacy-}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: produce, template: produce}
  - name: produce
    container: {image: busybox:1.36, command: [sh, -c], args: ['echo produced']}
    outputs:
      artifacts:
      - {name: data, path: /tmp/outputs/data}
"""


@pytest.fixture(scope="module")
def envs() -> Iterator[dict[str, KfpTestEnv]]:
    """One emulator per switch, and one with none ("off"); each test resets the ones it uses."""
    with ExitStack() as stack:
        found = {}
        for name in ("off", "ISO-001", "ISO-002", "ISO-003", "ISO-009"):
            bugs = frozenset() if name == "off" else frozenset({name})
            emulator = Emulator(EmulatorConfig(bugs=bugs), profiles=standard_profiles())
            found[name] = stack.enter_context(running_env(emulator))
        yield found


def env_for(envs: dict[str, KfpTestEnv], name: str) -> KfpTestEnv:
    env = envs[name]
    env.reset()
    return env


def experiment(env: KfpTestEnv, name: str = "plans") -> str:
    return str(ok(env.as_owner().post(f"{V2}/experiments", json={
        "display_name": name, "namespace": NS}))["experiment_id"])


def run(env: KfpTestEnv, experiment_id: str, name: str = "r1") -> str:
    return str(ok(env.as_owner().post(f"{V2}/runs", json={
        "display_name": name, "experiment_id": experiment_id, "pipeline_spec": SPEC}))["run_id"])


def legacy_run(env: KfpTestEnv, experiment_id: str) -> str:
    """A finished v1 run of an Argo Workflow with a node output ``data``."""
    body = {"name": "legacy", "pipeline_spec": {"workflow_manifest": LEGACY_PRODUCER},
            "resource_references": [{"key": {"type": "EXPERIMENT", "id": experiment_id},
                                     "relationship": "OWNER"}]}
    run_id = str(ok(env.as_owner().post(f"{V1}/runs", json=body))["run"]["id"])
    env.advance(60)
    assert ok(env.as_owner().get(f"{V2}/runs/{run_id}"))["state"] == "SUCCEEDED"
    return run_id


def grant_una(env: KfpTestEnv) -> requests.Session:
    rbac = env.emulator.cluster.rbac
    with env.emulator.kfp.state.lock:
        for resource, verbs in UNA_ROLES.items():
            rbac.put_role(Role(NS, f"partial-{resource}", [
                PolicyRule((GROUP,), (resource,), verbs)]))
            rbac.put_binding(RoleBinding(NS, f"una-{resource}",
                                         RoleRef("Role", f"partial-{resource}"),
                                         [Subject("User", UNA)]))
    return env.as_user(UNA)


def decided_verbs(env: KfpTestEnv, since: int, user: str) -> list[tuple[str, bool]]:
    """The (verb, allowed) of every SAR about ``user`` since ``since``."""
    body = ok(requests.get(f"{env.url}/_emulator/decisions", params={"since": since},
                           timeout=30))
    return [(d["verb"], d["allowed"]) for d in body["decisions"] if d["user"] == user]


# -- ISO-001: 2.0.0-beta's wrong verbs ------------------------------------------------------------

# (method, path, right verb, the verb 2.0.0-beta asked for, what alice sees once it happened)
ISO_001_CALLS = [
    ("DELETE", V2 + "/runs/{run}", "delete", "unarchive", "gone"),
    ("DELETE", V1 + "/runs/{run}", "delete", "unarchive", "gone"),
    ("POST", V2 + "/runs/{run}:terminate", "terminate", "unarchive", "canceled"),
    ("POST", V1 + "/runs/{run}/terminate", "terminate", "unarchive", "canceled"),
    ("DELETE", V2 + "/experiments/{experiment}", "delete", "archive", "gone"),
    ("DELETE", V1 + "/experiments/{experiment}", "delete", "archive", "gone"),
    ("POST", V2 + "/experiments/{archived}:unarchive", "unarchive", "archive", "AVAILABLE"),
    ("POST", V1 + "/experiments/{archived}:unarchive", "unarchive", "archive", "AVAILABLE"),
    ("POST", V2 + "/recurringruns/{job}:disable", "disable", "enable", "DISABLED"),
    ("POST", V1 + "/jobs/{job}/disable", "disable", "enable", "DISABLED"),
]


def _iso_001_scene(env: KfpTestEnv) -> dict[str, str]:
    owner = env.as_owner()
    ids = {"experiment": experiment(env)}
    ids["run"] = run(env, ids["experiment"])
    ids["archived"] = experiment(env, "old")
    ok(owner.post(f"{V2}/experiments/{ids['archived']}:archive"))
    ids["job"] = str(ok(owner.post(f"{V2}/recurringruns", json={
        "display_name": "daily", "experiment_id": ids["experiment"], "pipeline_spec": SPEC,
        "mode": "ENABLE", "trigger": {"periodic_schedule": {"interval_second": "3600"}}}))[
        "recurring_run_id"])
    return ids


def _effect(env: KfpTestEnv, path: str, ids: dict[str, str]) -> str:
    """What alice now sees of the object the call named."""
    owner = env.as_owner()
    if "{run}" in path:
        answer = owner.get(f"{V2}/runs/{ids['run']}")
        if answer.status_code == 404:
            return "gone"
        state = str(answer.json()["state"])
        return "canceled" if state in ("CANCELING", "CANCELED") else state
    if "{experiment}" in path:
        answer = owner.get(f"{V2}/experiments/{ids['experiment']}")
        return "gone" if answer.status_code == 404 else "there"
    if "{archived}" in path:
        return str(ok(owner.get(f"{V2}/experiments/{ids['archived']}"))["storage_state"])
    return str(ok(owner.get(f"{V2}/recurringruns/{ids['job']}"))["status"])


@pytest.mark.parametrize(("method", "path", "right", "wrong", "effect"), ISO_001_CALLS)
def test_iso_001_asks_the_wrong_verb(envs: dict[str, KfpTestEnv], method: str, path: str,
                                     right: str, wrong: str, effect: str) -> None:
    for name in ("off", "ISO-001"):
        env = env_for(envs, name)
        ids = _iso_001_scene(env)
        una = grant_una(env)
        before = _effect(env, path, ids)
        assert before != effect
        since = env.emulator.cluster.authorizer.last_seq()
        answer = una.request(method, path.format(**ids))
        after = _effect(env, path, ids)
        if name == "off":
            assert_denied(answer)
            assert after == before, f"{method} {path} changed {before} -> {after}"
            assert decided_verbs(env, since, UNA) == [(right, False)]
        else:
            ok(answer)
            assert decided_verbs(env, since, UNA) == [(wrong, True)]
            assert after == effect, (before, after)


def test_iso_001_changes_only_the_five_verbs(envs: dict[str, KfpTestEnv]) -> None:
    """Verbs 2.0.0-beta asked right stay right: una, who may unarchive runs, may not archive
    one either way, and carol (kubeflow-edit) keeps every right."""
    env = env_for(envs, "ISO-001")
    ids = _iso_001_scene(env)
    assert_denied(grant_una(env).post(f"{V2}/runs/{ids['run']}:archive"))
    assert ok(env.as_owner().get(f"{V2}/runs/{ids['run']}"))["storage_state"] == "AVAILABLE"
    ok(env.as_contributor().delete(f"{V2}/runs/{ids['run']}"))
    assert_denied(env.as_stranger().delete(f"{V2}/experiments/{ids['experiment']}"))


# -- ISO-002: ReportRunMetrics and ReadArtifact without canAccessRun ------------------------------

METRICS = {"metrics": [{"name": "accuracy", "node_id": "node-1", "number_value": 0.01,
                        "format": "RAW"}]}


def _metrics(env: KfpTestEnv, run_id: str) -> list[Any]:
    return list(ok(env.as_owner().get(f"{V1}/runs/{run_id}"))["run"].get("metrics") or [])


def test_iso_002_report_metrics_writes_into_any_run(envs: dict[str, KfpTestEnv]) -> None:
    off = env_for(envs, "off")
    run_id = run(off, experiment(off))
    assert_denied(off.as_stranger().post(f"{V1}/runs/{run_id}:reportMetrics", json=METRICS))
    assert_unauthenticated(off.as_anonymous().post(f"{V1}/runs/{run_id}:reportMetrics",
                                                   json=METRICS))
    assert _metrics(off, run_id) == []

    on = env_for(envs, "ISO-002")
    run_id = run(on, experiment(on))
    answer = ok(on.as_stranger().post(f"{V1}/runs/{run_id}:reportMetrics", json=METRICS))
    assert [r["status"] for r in answer["results"]] == ["OK"]
    assert [(m["name"], m["node_id"], m["number_value"]) for m in _metrics(on, run_id)] == [
        ("accuracy", "node-1", 0.01)]
    # No identity at all is no obstacle either.
    second = {"metrics": [{**METRICS["metrics"][0], "name": "loss"}]}
    ok(on.as_anonymous().post(f"{V1}/runs/{run_id}:reportMetrics", json=second))
    assert len(_metrics(on, run_id)) == 2
    # An unknown run is still an unknown run.
    assert on.as_stranger().post(f"{V1}/runs/no-such-run:reportMetrics",
                                 json=METRICS).status_code == 404


def _node_with_output(env: KfpTestEnv, run_id: str, artifact: str) -> tuple[str, str]:
    workflow = env.emulator.execution.workflow_of_run(run_id)
    assert workflow is not None
    for node in workflow["status"]["nodes"].values():
        for item in (node.get("outputs") or {}).get("artifacts") or []:
            if item["name"] == artifact:
                return str(node["id"]), str(item["s3"]["key"])
    raise AssertionError(f"no node outputs {artifact}")


@pytest.mark.parametrize("api", [V1, V2])
def test_iso_002_read_artifact_serves_anyone(envs: dict[str, KfpTestEnv], api: str) -> None:
    for name in ("off", "ISO-002"):
        env = env_for(envs, name)
        run_id = legacy_run(env, experiment(env))
        node, key = _node_with_output(env, run_id, "data")
        path = f"{api}/runs/{run_id}/nodes/{node}/artifacts/data:read"
        for caller in (env.as_stranger(), env.as_anonymous(), env.as_owner()):
            answer = caller.get(path)
            if name == "off":  # no identity reaches the check (spec 3.9): everyone is refused
                assert answer.status_code == 403, answer.text
                assert "data" not in answer.json()
            else:
                assert answer.status_code == 200, answer.text
                stored = env.emulator.object_store.get_object("mlpipeline", key)
                assert base64.b64decode(answer.json()["data"]) == bytes(stored.data)


# -- ISO-003: the persistence agent's report endpoints unauthenticated ----------------------------

def _forged(run_id: str, phase: str) -> str:
    return json.dumps({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
                       "metadata": {"name": "forged", "namespace": NS, "uid": "u-1",
                                    "labels": {"pipeline/runid": run_id}},
                       "status": {"phase": phase}})


@pytest.mark.parametrize("api", [V1, V2])
def test_iso_003_a_forged_workflow_overwrites_the_run(envs: dict[str, KfpTestEnv],
                                                      api: str) -> None:
    off = env_for(envs, "off")
    run_id = run(off, experiment(off))
    state = ok(off.as_owner().get(f"{V2}/runs/{run_id}"))["state"]
    assert_denied(off.as_stranger().post(f"{api}/workflows", json=_forged(run_id, "Failed")))
    assert_denied(off.as_owner().post(f"{api}/workflows", json=_forged(run_id, "Failed")))
    assert_unauthenticated(off.as_anonymous().post(f"{api}/workflows",
                                                   json=_forged(run_id, "Failed")))
    assert ok(off.as_owner().get(f"{V2}/runs/{run_id}"))["state"] == state

    on = env_for(envs, "ISO-003")
    for caller in (on.as_stranger(), on.as_anonymous()):
        run_id = run(on, experiment(on, f"plans-{caller.identity}"))
        ok(caller.post(f"{api}/workflows", json=_forged(run_id, "Failed")))
        assert ok(on.as_owner().get(f"{V2}/runs/{run_id}"))["state"] == "FAILED"


def test_iso_003_scheduled_workflow_reports_skip_authentication(
        envs: dict[str, KfpTestEnv]) -> None:
    manifest = json.dumps({"apiVersion": "kubeflow.org/v1beta1", "kind": "ScheduledWorkflow",
                           "metadata": {"name": "forged", "namespace": NS, "uid": "nope"}})
    assert_unauthenticated(env_for(envs, "off").as_anonymous().post(
        f"{V1}/scheduledworkflows", json=manifest))
    # On, the request reaches the lookup after the (skipped) check: 404 for this uid.
    answer = env_for(envs, "ISO-003").as_anonymous().post(f"{V1}/scheduledworkflows",
                                                           json=manifest)
    assert answer.status_code == 404, answer.text
    assert "error retrieving recurring run nope" in answer.text


# -- ISO-009: the run log route without canAccessRun ----------------------------------------------

def _log_path(run_id: str, node: str) -> str:
    return f"/apis/v1alpha1/runs/{run_id}/nodes/{node}/log"


def test_iso_009_the_run_log_streams_to_anyone(envs: dict[str, KfpTestEnv]) -> None:
    for name in ("off", "ISO-009"):
        env = env_for(envs, name)
        run_id = legacy_run(env, experiment(env))
        pod = env.emulator.execution.pods_of_run(run_id)[0]["metadata"]["name"]
        log = env.emulator.execution.pod_log(NS, pod)
        assert log and "produce" in log
        for caller in (env.as_stranger(), env.as_anonymous(), env.as_owner()):
            answer = caller.get(_log_path(run_id, pod))
            if name == "off":  # 2.18's check sees no identity (a plain handler, like :read)
                assert answer.status_code == 403, answer.text
                message = (f"Failed to authorize the request: Failed to access run {run_id}. "
                           "Check if you have access to namespace alice: Unauthenticated: ")
                assert answer.json()["error_message"].startswith(message)
                assert log.splitlines()[0] not in answer.text
            else:
                assert answer.status_code == 200, answer.text
                assert answer.headers["content-type"] == "text/plain"
                assert answer.headers["cache-control"] == "no-cache, private"
                assert answer.text == log


def test_iso_009_unreadable_logs_answer_200_with_the_error(envs: dict[str, KfpTestEnv]) -> None:
    """ReadRunLogV1 writes 200 before reading: a failure is the error body under that 200.
    Without its pod the log comes from the archived main.log the Workflow names."""
    env = env_for(envs, "ISO-009")
    stranger = env.as_stranger()
    unknown = stranger.get(_log_path("no-such-run", "pod"))
    text = ("BadRequestError: Failed to read logs for run no-such-run due to run fetching "
            "error: Failed to fetch run no-such-run: ResourceNotFoundError: Run no-such-run "
            "not found")
    assert (unknown.status_code, unknown.json()) == (
        200, {"error_message": text, "error_details": text})
    run_id = legacy_run(env, experiment(env))
    pod = env.emulator.execution.pods_of_run(run_id)[0]["metadata"]["name"]
    live = stranger.get(_log_path(run_id, pod)).text
    with env.emulator.kfp.state.lock:
        assert env.emulator.execution.delete_pod(NS, pod) is not None
    archived = stranger.get(_log_path(run_id, pod))
    assert archived.status_code == 200
    # The archive reader drops each line's timestamp.
    assert archived.text == "".join(line.split(" ", 1)[1] + "\n" for line in live.splitlines())
    node, _ = _node_with_output(env, run_id, "main-logs")
    assert stranger.get(_log_path(run_id, node)).text == archived.text
    missing = stranger.get(_log_path(run_id, "no-such-node"))
    assert missing.status_code == 200
    assert missing.json()["error_message"] == (
        f"BadRequestError: Failed to read logs for run {run_id}: InternalServerError: Failed "
        "to read logs from archive no-such-node due to error fetching the log file: The "
        "specified key does not exist.")


def test_the_run_log_route_checks_nothing_in_standalone_mode() -> None:
    with running_env(Emulator(EmulatorConfig(multiuser=False), profiles=[])) as env:
        anyone = env.as_anonymous()
        run_id = str(ok(anyone.post(f"{V1}/runs", json={
            "name": "legacy", "pipeline_spec": {"workflow_manifest": LEGACY_PRODUCER}}))[
            "run"]["id"])
        env.advance(60)
        pod = env.emulator.execution.pods_of_run(run_id)[0]["metadata"]["name"]
        answer = anyone.get(_log_path(run_id, pod))
        assert answer.status_code == 200
        assert "produce" in answer.text

"""Runs use only their own namespace: its ServiceAccounts, its secrets and config maps."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from emulator.kube.cluster import EDITOR_SA
from emulator.testing import OWNER, OWNER_NAMESPACE, STRANGER, STRANGER_NAMESPACE, KfpTestEnv
from tests.execution import pipelines
from tests.execution.exec_support import documents, put_secret

pytestmark = pytest.mark.kfp2


def run_as(env: KfpTestEnv, email: str, namespace: str, package: Path,
           service_account: str = "") -> dict[str, Any]:
    """Create a run through the REST API the way kfp.Client sends a kfp-kubernetes package."""
    session = env.as_user(email)
    experiment = session.post("/apis/v2beta1/experiments",
                              json={"display_name": f"exp-{namespace}-{uuid.uuid4().hex[:8]}",
                                    "namespace": namespace}).json()
    docs = documents(package)
    spec: Any = docs[0] if len(docs) == 1 else {"pipeline_spec": docs[0],
                                                "platform_spec": docs[1]}
    body = {"display_name": "r", "experiment_id": experiment["experiment_id"],
            "pipeline_spec": spec}
    if service_account:
        body["service_account"] = service_account
    answer = session.post("/apis/v2beta1/runs", json=body)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def state_of(env: KfpTestEnv, email: str, run_id: str) -> str:
    return str(env.as_user(email).get(f"/apis/v2beta1/runs/{run_id}").json()["state"])


def only_pod(env: KfpTestEnv, run_id: str) -> dict[str, Any]:
    (pod,) = env.emulator.execution.pods_of_run(run_id)
    return pod


def test_each_namespace_sees_its_own_secret(kfp_env: KfpTestEnv,
                                            packages: dict[str, Path]) -> None:
    put_secret(kfp_env, OWNER_NAMESPACE, pipelines.SECRET, {pipelines.SECRET_KEY: "alice-pw"})
    put_secret(kfp_env, STRANGER_NAMESPACE, pipelines.SECRET, {pipelines.SECRET_KEY: "bob-pw"})
    alice_run = run_as(kfp_env, OWNER, OWNER_NAMESPACE, packages["with-secret"])
    bob_run = run_as(kfp_env, STRANGER, STRANGER_NAMESPACE, packages["with-secret"])
    kfp_env.advance(2)
    engine = kfp_env.emulator.execution
    seen = {}
    for run, namespace in ((alice_run, OWNER_NAMESPACE), (bob_run, STRANGER_NAMESPACE)):
        pod = only_pod(kfp_env, run["run_id"])
        assert pod["metadata"]["namespace"] == namespace
        assert pod["status"]["phase"] == "Running"
        main = next(c for c in pod["spec"]["containers"] if c["name"] == "main")
        assert main["env"] == [{"name": pipelines.SECRET_ENV, "valueFrom": {"secretKeyRef": {
            "name": pipelines.SECRET, "key": pipelines.SECRET_KEY}}}]
        seen[namespace] = engine.container_env(namespace, pod["metadata"]["name"])
    assert seen == {OWNER_NAMESPACE: {pipelines.SECRET_ENV: "alice-pw"},
                    STRANGER_NAMESPACE: {pipelines.SECRET_ENV: "bob-pw"}}
    kfp_env.advance(30)
    assert state_of(kfp_env, OWNER, alice_run["run_id"]) == "SUCCEEDED"
    # The task's output names the key it received, never the value.
    log = engine.pod_log(OWNER_NAMESPACE, only_pod(kfp_env, alice_run["run_id"])[
        "metadata"]["name"])
    assert log is not None and pipelines.SECRET_ENV in log and "alice-pw" not in log
    stored = [o.data for o in kfp_env.emulator.object_store.list_objects("mlpipeline")]
    assert not any(b"alice-pw" in data or b"bob-pw" in data for data in stored)
    workflow = json.dumps(engine.workflow_of_run(alice_run["run_id"]))
    assert "alice-pw" not in workflow


def test_secret_only_in_another_namespace_blocks_the_pod(kfp_env: KfpTestEnv,
                                                         packages: dict[str, Path]) -> None:
    put_secret(kfp_env, STRANGER_NAMESPACE, pipelines.SECRET, {pipelines.SECRET_KEY: "bob-pw"})
    # Positive control: bob's own run gets bob's secret and finishes.
    bob_run = run_as(kfp_env, STRANGER, STRANGER_NAMESPACE, packages["with-secret"])
    alice_run = run_as(kfp_env, OWNER, OWNER_NAMESPACE, packages["with-secret"])
    kfp_env.advance(3600)
    assert state_of(kfp_env, STRANGER, bob_run["run_id"]) == "SUCCEEDED"
    assert state_of(kfp_env, OWNER, alice_run["run_id"]) == "RUNNING"
    pod = only_pod(kfp_env, alice_run["run_id"])
    assert pod["status"]["phase"] == "Pending"
    (status,) = pod["status"]["containerStatuses"]
    assert status["state"] == {"waiting": {"reason": "CreateContainerConfigError",
                                           "message": f'secret "{pipelines.SECRET}" not found'}}
    workflow = kfp_env.emulator.execution.workflow_of_run(alice_run["run_id"])
    (node,) = [n for n in workflow["status"]["nodes"].values() if n["type"] == "Pod"]
    assert node["phase"] == "Pending"
    assert node["message"] == f'CreateContainerConfigError: secret "{pipelines.SECRET}" not found'
    assert workflow["status"]["phase"] == "Running"
    assert kfp_env.emulator.execution.container_env(OWNER_NAMESPACE,
                                                    pod["metadata"]["name"]) == {}
    # Terminating ends it, as on a real cluster.
    assert kfp_env.as_user(OWNER).post(
        f"/apis/v2beta1/runs/{alice_run['run_id']}:terminate").status_code == 200
    kfp_env.advance(5)
    assert state_of(kfp_env, OWNER, alice_run["run_id"]) == "CANCELED"


def test_secret_volume_missing_fails_the_mount_then_recovers(
        kfp_env: KfpTestEnv, packages: dict[str, Path]) -> None:
    run = run_as(kfp_env, OWNER, OWNER_NAMESPACE, packages["with-secret-volume"])
    kfp_env.advance(60)
    assert state_of(kfp_env, OWNER, run["run_id"]) == "RUNNING"
    pod = only_pod(kfp_env, run["run_id"])
    assert pod["spec"]["volumes"] == [{"name": pipelines.SECRET,
                                       "secret": {"secretName": pipelines.SECRET}}]
    (status,) = pod["status"]["containerStatuses"]
    assert status["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert {"type": "ContainersReady", "status": "False", "reason": "FailedMount",
            "message": f'MountVolume.SetUp failed for volume "{pipelines.SECRET}" : '
                       f'secret "{pipelines.SECRET}" not found'} in pod["status"]["conditions"]
    # The kubelet retries: once the secret exists in the run's namespace the pod starts.
    put_secret(kfp_env, OWNER_NAMESPACE, pipelines.SECRET, {pipelines.SECRET_KEY: "x"})
    kfp_env.advance(60)
    assert state_of(kfp_env, OWNER, run["run_id"]) == "SUCCEEDED"


def test_optional_secret_and_config_maps(kfp_env: KfpTestEnv,
                                         packages: dict[str, Path]) -> None:
    optional = run_as(kfp_env, OWNER, OWNER_NAMESPACE, packages["with-optional-secret"])
    config = run_as(kfp_env, OWNER, OWNER_NAMESPACE, packages["with-config-map"])
    kfp_env.advance(60)
    assert state_of(kfp_env, OWNER, optional["run_id"]) == "SUCCEEDED"
    assert state_of(kfp_env, OWNER, config["run_id"]) == "RUNNING"
    pod = only_pod(kfp_env, config["run_id"])
    # Volumes are set up before the container is configured.
    assert pod["status"]["containerStatuses"][0]["state"] == {
        "waiting": {"reason": "ContainerCreating"}}


def test_service_account_of_another_namespace_fails_the_run(
        kfp_env: KfpTestEnv, packages: dict[str, Path]) -> None:
    emulator = kfp_env.emulator
    with emulator.kfp.state.lock:
        emulator.cluster.create_service_account(STRANGER_NAMESPACE, "bob-runner")
    # Positive controls: naming alice's own default-editor, and bob using his own account.
    own = run_as(kfp_env, OWNER, OWNER_NAMESPACE, packages["two-step"], EDITOR_SA)
    bobs = run_as(kfp_env, STRANGER, STRANGER_NAMESPACE, packages["two-step"], "bob-runner")
    borrowed = run_as(kfp_env, OWNER, OWNER_NAMESPACE, packages["two-step"], "bob-runner")
    kfp_env.advance(60)
    assert state_of(kfp_env, OWNER, own["run_id"]) == "SUCCEEDED"
    assert state_of(kfp_env, STRANGER, bobs["run_id"]) == "SUCCEEDED"
    assert state_of(kfp_env, OWNER, borrowed["run_id"]) == "FAILED"
    engine = emulator.execution
    workflow = engine.workflow_of_run(borrowed["run_id"])
    assert workflow["spec"]["serviceAccountName"] == "bob-runner"
    assert workflow["status"]["phase"] == "Error"
    (node,) = [n for n in workflow["status"]["nodes"].values() if n["type"] == "Pod"]
    assert node["phase"] == "Error"
    pod_name = f"{workflow['metadata']['name']}-system-dag-driver-"
    message = node["message"]
    assert message.startswith(f'pods "{pod_name}')
    assert message.endswith(f'" is forbidden: error looking up service account '
                            f'{OWNER_NAMESPACE}/bob-runner: serviceaccount "bob-runner" '
                            'not found')
    assert engine.pods_of_run(borrowed["run_id"]) == []
    history = [s["state"] for s in kfp_env.as_user(OWNER).get(
        f"/apis/v2beta1/runs/{borrowed['run_id']}").json()["state_history"]]
    assert history == ["PENDING", "FAILED"]


def test_namespace_and_reset_take_workflows_along(kfp_env: KfpTestEnv,
                                                  packages: dict[str, Path]) -> None:
    run = run_as(kfp_env, STRANGER, STRANGER_NAMESPACE, packages["two-step"])
    kfp_env.advance(2)
    engine = kfp_env.emulator.execution
    assert engine.pods_of_run(run["run_id"])
    with kfp_env.emulator.kfp.state.lock:
        kfp_env.emulator.cluster.delete_namespace(STRANGER_NAMESPACE)
    assert engine.workflow_of_run(run["run_id"]) is None
    assert engine.pods_of_run(run["run_id"]) == []
    # The profile controller recreated the namespace with its ConfigMaps.
    launcher = kfp_env.emulator.cluster.config_maps[STRANGER_NAMESPACE]["kfp-launcher"]
    assert launcher.data["defaultPipelineRoot"] == (
        f"minio://mlpipeline/private-artifacts/{STRANGER_NAMESPACE}/v2/artifacts")
    assert yaml.safe_load(launcher.data["clusterDomain"]) == ".svc.cluster.local"

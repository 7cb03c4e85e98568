"""A real two-step pipeline run as alice: its Workflow and Pods in ``alice``, its artifacts at
KFP's key layout, its ML Metadata records and the API's run details."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kfp.client.client import Client
from kubernetes import client

from emulator.kube.cluster import EDITOR_SA
from emulator.testing import (
    OWNER,
    OWNER_NAMESPACE,
    STRANGER,
    STRANGER_NAMESPACE,
    VIEWER,
    KfpTestEnv,
)
from tests.sdk_kfp2.helpers import SdkClients
from tests.support.swagger import assert_valid

pytestmark = pytest.mark.kfp2
WORKFLOWS = ("argoproj.io", "v1alpha1", "workflows")


@pytest.fixture
def alice(kfp_env: KfpTestEnv, kfp_home: Path, monkeypatch: pytest.MonkeyPatch) -> Client:
    return SdkClients(kfp_env, kfp_home, monkeypatch).service_account(OWNER_NAMESPACE)


def start(owner: Client, package: Path, namespace: str = OWNER_NAMESPACE,
          **kwargs: Any) -> str:
    experiment = owner.create_experiment(f"exp-{namespace}", namespace=namespace)
    result = owner.create_run_from_pipeline_package(
        str(package), arguments={}, run_name="first", experiment_id=experiment.experiment_id,
        namespace=namespace, **kwargs)
    return str(result.run_id)


def forbidden(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(client.ApiException) as info:
        call()
    assert info.value.status == 403, info.value.body
    body = json.loads(info.value.body)
    assert body["reason"] == "Forbidden"
    return dict(body)


def test_workflow_created_in_the_run_namespace(
        kfp_env: KfpTestEnv, alice: Client, packages: dict[str, Path],
        kube_as: Callable[[str], client.ApiClient]) -> None:
    run_id = start(alice, packages["two-step"])
    engine = kfp_env.emulator.execution
    manifest = engine.workflow_of_run(run_id)
    assert manifest is not None
    name = manifest["metadata"]["name"]
    assert manifest["metadata"]["generateName"] == "two-step-"
    assert name.startswith("two-step-") and len(name) == len("two-step-") + 5
    assert manifest["metadata"]["labels"]["pipeline/runid"] == run_id
    assert manifest["metadata"]["annotations"]["pipelines.kubeflow.org/run_name"] == "first"
    assert manifest["spec"]["serviceAccountName"] == EDITOR_SA
    # The owner reads it through the Kubernetes API (positive control first) ...
    custom = client.CustomObjectsApi(kube_as(OWNER))
    served = custom.get_namespaced_custom_object(*WORKFLOWS[:2], OWNER_NAMESPACE, WORKFLOWS[2],
                                                 name)
    assert served["metadata"]["uid"] == manifest["metadata"]["uid"]
    listed = custom.list_namespaced_custom_object(*WORKFLOWS[:2], OWNER_NAMESPACE, WORKFLOWS[2])
    assert [w["metadata"]["name"] for w in listed["items"]] == [name]
    # ... bob, who owns another namespace, may not.
    stranger = client.CustomObjectsApi(kube_as(STRANGER))
    assert stranger.list_namespaced_custom_object(
        *WORKFLOWS[:2], STRANGER_NAMESPACE, WORKFLOWS[2])["items"] == []
    body = forbidden(lambda: stranger.get_namespaced_custom_object(
        *WORKFLOWS[:2], OWNER_NAMESPACE, WORKFLOWS[2], name))
    assert body["message"] == (f'workflows.argoproj.io "{name}" is forbidden: User "{STRANGER}" '
                               f'cannot get resource "workflows" in API group "argoproj.io" in '
                               f'the namespace "{OWNER_NAMESPACE}"')
    # The run's SAR resource name is the workflow's name (KFP's run.K8SName).
    with kfp_env.emulator.kfp.state.lock:
        assert kfp_env.emulator.kfp.runs.lookup(run_id).k8s_name == name


def test_pods_run_with_default_editor_and_finish(
        kfp_env: KfpTestEnv, alice: Client, packages: dict[str, Path],
        kube_as: Callable[[str], client.ApiClient]) -> None:
    run_id = start(alice, packages["two-step"])
    engine = kfp_env.emulator.execution
    assert engine.pods_of_run(run_id) == []  # PENDING: no pod yet
    kfp_env.advance(kfp_env.emulator.config.run_pending_seconds + 0.5)
    pods = engine.pods_of_run(run_id)
    workflow_name = engine.workflow_of_run(run_id)["metadata"]["name"]
    assert len(pods) == 2
    for pod in pods:
        assert pod["metadata"]["namespace"] == OWNER_NAMESPACE
        assert pod["metadata"]["labels"]["workflows.argoproj.io/workflow"] == workflow_name
        assert pod["spec"]["serviceAccountName"] == EDITOR_SA
        assert pod["status"]["phase"] == "Running"
    # A viewer of alice lists the pods and reads a log, but not the namespace's secrets.
    viewer = client.CoreV1Api(kube_as(VIEWER))
    listed = viewer.list_namespaced_pod(OWNER_NAMESPACE)
    assert sorted(p.metadata.name for p in listed.items) == sorted(
        p["metadata"]["name"] for p in pods)
    forbidden(lambda: viewer.list_namespaced_secret(OWNER_NAMESPACE))
    forbidden(lambda: client.CoreV1Api(kube_as(STRANGER)).list_namespaced_pod(OWNER_NAMESPACE))
    kfp_env.advance(kfp_env.emulator.config.run_running_seconds + 1)
    assert alice.get_run(run_id).state == "SUCCEEDED"
    assert {p["status"]["phase"] for p in engine.pods_of_run(run_id)} == {"Succeeded"}
    status = engine.workflow_of_run(run_id)["status"]
    assert status["phase"] == "Succeeded"
    pod_nodes = [n for n in status["nodes"].values() if n["type"] == "Pod"]
    assert {n["phase"] for n in pod_nodes} == {"Succeeded"}
    first = pods[0]["metadata"]["name"]
    log = viewer.read_namespaced_pod_log(first, OWNER_NAMESPACE)
    assert log == engine.pod_log(OWNER_NAMESPACE, first)
    assert run_id in log
    assert engine.pod_log(STRANGER_NAMESPACE, first) is None


def test_outputs_in_object_store_and_mlmd(kfp_env: KfpTestEnv, alice: Client,
                                          packages: dict[str, Path]) -> None:
    run_id = start(alice, packages["two-step"])
    kfp_env.advance(30)
    emulator = kfp_env.emulator
    workflow = emulator.execution.workflow_of_run(run_id)
    name = workflow["metadata"]["name"]
    store = emulator.object_store
    prefix = f"private-artifacts/{OWNER_NAMESPACE}/v2/artifacts/two-step/{run_id}/"
    keys = [o.key for o in store.list_objects("mlpipeline", prefix)]
    by_output = {}
    for key in keys:
        task, salt, output = key[len(prefix):].split("/")
        assert len(salt) == 36  # the driver's uuid
        by_output[(task, output)] = key
    assert set(by_output) == {("prepare", "data"), ("prepare", "metrics"), ("train", "model")}
    metrics = json.loads(store.get_object("mlpipeline", by_output["prepare", "metrics"]).data)
    assert {m["name"] for m in metrics["metrics"]} and all(
        isinstance(m["numberValue"], float) for m in metrics["metrics"])
    assert b"prepare" in store.get_object("mlpipeline", by_output["prepare", "data"]).data
    # Pod logs at the Argo keyFormat.
    created = workflow["metadata"]["creationTimestamp"][:10].replace("-", "/")
    for pod in emulator.execution.pods_of_run(run_id):
        pod_name = pod["metadata"]["name"]
        log_key = (f"private-artifacts/{OWNER_NAMESPACE}/{name}/{created}/{pod_name}/"
                   "main.log")
        stored = store.get_object("mlpipeline", log_key)
        assert stored is not None
        assert stored.data.decode() == emulator.execution.pod_log(OWNER_NAMESPACE, pod_name)
    # ML Metadata: the run context names the namespace and the workflow.
    with emulator.kfp.state.lock:
        metadata = emulator.metadata
        context = metadata.context_by_type_and_name("system.PipelineRun", run_id)
        assert context is not None
        assert context.custom_properties["namespace"] == OWNER_NAMESPACE
        assert context.custom_properties["resource_name"] == name
        assert str(context.custom_properties["pipeline_root"]).endswith(f"/two-step/{run_id}")
        assert metadata.context_by_type_and_name("system.Pipeline", "two-step") is not None
        executions = metadata.executions_by_context(context.id)
        assert sorted(e.custom_properties["task_name"] for e in executions) == [
            "prepare", "train"]
        assert {e.state for e in executions} == {"COMPLETE"}
        for (_task, output), key in by_output.items():
            (artifact,) = metadata.artifacts_by_uri(f"minio://mlpipeline/{key}")
            contexts = metadata.contexts_by_artifact(artifact.id)
            assert context.id in [c.id for c in contexts]
            events = metadata.events_by_artifact_ids([artifact.id])
            assert [(e.kind, e.path) for e in events if e.kind == "OUTPUT"] == [
                ("OUTPUT", (output,))]


def test_run_details_in_both_api_versions(kfp_env: KfpTestEnv, alice: Client,
                                          packages: dict[str, Path]) -> None:
    run_id = start(alice, packages["two-step"])
    session = kfp_env.as_user(OWNER)
    before = session.get(f"/apis/v2beta1/runs/{run_id}").json()
    assert before["run_details"] == {}  # nothing ran yet
    kfp_env.advance(30)
    run = session.get(f"/apis/v2beta1/runs/{run_id}").json()
    assert_valid("v2beta1", "v2beta1Run", run)
    details = run["run_details"]["task_details"]
    pods = {p["metadata"]["name"] for p in kfp_env.emulator.execution.pods_of_run(run_id)}
    assert sorted(t["display_name"] for t in details) == ["prepare", "train"]
    for task in details:
        assert task["run_id"] == run_id and task["state"] == "SUCCEEDED"
        assert task["executor_detail"]["main_job"] in pods
        assert [s["state"] for s in task["state_history"]] == ["PENDING", "RUNNING",
                                                               "SUCCEEDED"]
    prepare = next(t for t in details if t["display_name"] == "prepare")
    train = next(t for t in details if t["display_name"] == "train")
    assert prepare["child_tasks"] == [{"pod_name": train["executor_detail"]["main_job"]}]
    assert set(prepare["outputs"]) == {"data", "metrics"}
    assert train["inputs"]["data"] == prepare["outputs"]["data"]
    # The SDK reads them too.
    sdk_details = alice.get_run(run_id).run_details
    assert sorted(t.display_name for t in sdk_details.task_details) == ["prepare", "train"]
    v1 = session.get(f"/apis/v1beta1/runs/{run_id}").json()
    assert_valid("v1beta1", "apiRunDetail", v1)
    manifest = json.loads(v1["pipeline_runtime"]["workflow_manifest"])
    assert manifest["kind"] == "Workflow"
    assert manifest["metadata"]["labels"]["pipeline/runid"] == run_id
    assert manifest["status"]["phase"] == "Succeeded"
    assert "pipeline_manifest" in v1["pipeline_runtime"]


def test_failed_terminated_retried_and_deleted_runs(
        kfp_env: KfpTestEnv, alice: Client, packages: dict[str, Path],
        kube_as: Callable[[str], client.ApiClient]) -> None:
    emulator = kfp_env.emulator
    failing = start(alice, packages["two-step"])
    emulator.set_run_outcome(failing, "FAILED")
    stopped = start(alice, packages["two-step"])
    kfp_env.advance(2)
    alice.terminate_run(stopped)
    kfp_env.advance(30)
    assert alice.get_run(failing).state == "FAILED"
    status = emulator.execution.workflow_of_run(failing)["status"]
    assert status["phase"] == "Failed"
    phases = sorted(n["phase"] for n in status["nodes"].values() if n["type"] == "Pod")
    assert phases == ["Failed", "Succeeded"]
    assert alice.get_run(stopped).state == "CANCELED"
    stopped_wf = emulator.execution.workflow_of_run(stopped)
    assert stopped_wf["spec"]["activeDeadlineSeconds"] == 0
    assert stopped_wf["status"]["phase"] == "Failed"
    # Retry: the failed task runs again, the succeeded one is kept.
    emulator.set_run_outcome(failing, "SUCCEEDED")
    retried = kfp_env.as_user(OWNER).post(f"/apis/v2beta1/runs/{failing}:retry")
    assert retried.status_code == 200, retried.text
    kfp_env.advance(30)
    assert alice.get_run(failing).state == "SUCCEEDED"
    details = alice.get_run(failing).run_details.task_details
    assert sum(1 for t in details if t.executor_detail.failed_main_jobs) == 1
    # Delete: the workflow and its pods go with the run.
    name = emulator.execution.workflow_of_run(failing)["metadata"]["name"]
    pod = emulator.execution.pods_of_run(failing)[0]["metadata"]["name"]
    alice.delete_run(failing)
    assert emulator.execution.workflow_of_run(failing) is None
    assert emulator.execution.pod_log(OWNER_NAMESPACE, pod) is None
    custom = client.CustomObjectsApi(kube_as(OWNER))
    with pytest.raises(client.ApiException) as info:
        custom.get_namespaced_custom_object(*WORKFLOWS[:2], OWNER_NAMESPACE, WORKFLOWS[2], name)
    assert info.value.status == 404
    assert json.loads(info.value.body)["message"] == f'workflows.argoproj.io "{name}" not found'


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_sees_workflows_pods_and_logs(kfp_env: KfpTestEnv, alice: Client,
                                              packages: dict[str, Path]) -> None:
    run_id = start(alice, packages["two-step"])
    kfp_env.advance(2)
    kubeconfig = str(kfp_env.kubeconfig())

    def kubectl(*args: str) -> str:
        done = subprocess.run(["kubectl", "--kubeconfig", kubeconfig, *args],
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    name = kfp_env.emulator.execution.workflow_of_run(run_id)["metadata"]["name"]
    assert kubectl("get", "workflows", "-n", OWNER_NAMESPACE, "-o", "name") == \
        f"workflow.argoproj.io/{name}\n"
    pods = kfp_env.emulator.execution.pods_of_run(run_id)
    first = pods[0]["metadata"]["name"]
    listed = kubectl("get", "pods", "-n", OWNER_NAMESPACE, "-l",
                     f"workflows.argoproj.io/workflow={name}", "-o", "name")
    assert sorted(listed.split()) == sorted(f"pod/{p['metadata']['name']}" for p in pods)
    assert kubectl("logs", "-n", OWNER_NAMESPACE, first) == \
        kfp_env.emulator.execution.pod_log(OWNER_NAMESPACE, first)

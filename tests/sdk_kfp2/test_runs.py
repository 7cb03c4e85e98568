"""Pipelines and runs through the kfp 2.17.3 SDK: upload, run, lifecycle, and bob's denials."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import kfp
import pytest
from kfp_server_api.exceptions import ApiException

from emulator.kube.rbac import RoleBinding, RoleRef, Subject
from emulator.testing import OWNER_NAMESPACE, KfpTestEnv
from tests.sdk_kfp2.helpers import (
    FUTURE_WARNING_FILTER,
    Caller,
    Workspace,
    assert_sdk_error,
    denied,
    error_body,
    only_version_id,
    run_ids,
)

pytestmark = [pytest.mark.kfp2, FUTURE_WARNING_FILTER]

StartRun = Callable[[str], Any]


def grant_shared_pipeline_rights(env: KfpTestEnv, namespace: str) -> None:
    """What KFP's multi-user CI does (shared-pipeline-rbac.yaml): bind a namespace's
    default-editor to kubeflow-edit in the KFP system namespace, so it may publish shared
    pipelines."""
    emulator = env.emulator
    with emulator.kfp.state.lock:
        emulator.cluster.rbac.put_binding(RoleBinding(
            namespace=emulator.config.pod_namespace,
            name=f"shared-pipelines-{namespace}",
            role_ref=RoleRef("ClusterRole", "kubeflow-edit"),
            subjects=[Subject("ServiceAccount", "default-editor", namespace)],
        ))


def test_run_of_uploaded_pipeline_progresses_on_the_clock(kfp_env: KfpTestEnv,
                                                          owner: kfp.Client,
                                                          workspace: Workspace) -> None:
    config = kfp_env.emulator.config
    run = owner.run_pipeline(workspace.experiment_id, "progression",
                             pipeline_id=workspace.pipeline_id, version_id=workspace.version_id)

    assert run.experiment_id == workspace.experiment_id
    assert (run.pipeline_version_reference.pipeline_id,
            run.pipeline_version_reference.pipeline_version_id) == \
        (workspace.pipeline_id, workspace.version_id)
    assert run.service_account == config.default_runner_service_account
    assert owner.get_run(run.run_id).state == "PENDING"
    kfp_env.advance(config.run_pending_seconds)
    assert owner.get_run(run.run_id).state == "RUNNING"
    kfp_env.advance(config.run_running_seconds)
    finished = owner.get_run(run.run_id)
    assert finished.state == "SUCCEEDED"
    assert [h.state for h in finished.state_history] == ["PENDING", "RUNNING", "SUCCEEDED"]
    assert finished.finished_at > finished.created_at


def test_run_outcome_failed(kfp_env: KfpTestEnv, owner: kfp.Client,
                            start_run: StartRun) -> None:
    run = start_run("doomed")
    kfp_env.emulator.set_run_outcome(run.run_id, "FAILED")
    kfp_env.advance(kfp_env.emulator.config.run_pending_seconds
                    + kfp_env.emulator.config.run_running_seconds)

    assert owner.get_run(run.run_id).state == "FAILED"


def test_inline_package_run_carries_parameters(owner: kfp.Client, workspace: Workspace,
                                               pipeline_package: Path) -> None:
    run = owner.run_pipeline(workspace.experiment_id, "inline",
                             pipeline_package_path=str(pipeline_package),
                             params={"x": 5, "y": 7})

    fetched = owner.get_run(run.run_id)
    assert fetched.runtime_config.parameters == {"x": 5, "y": 7}
    assert fetched.pipeline_spec["pipelineInfo"]["name"] == "tiny-adder"
    assert fetched.pipeline_version_reference is None


def test_create_run_from_package_makes_default_experiment(
        owner: kfp.Client, pipeline_package: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KF_PIPELINES_DEFAULT_EXPERIMENT_NAME", raising=False)
    monkeypatch.delenv("KF_PIPELINES_OVERRIDE_EXPERIMENT_NAME", raising=False)
    result = owner.create_run_from_pipeline_package(str(pipeline_package),
                                                    arguments={"x": 3},
                                                    namespace=OWNER_NAMESPACE)

    default = owner.get_experiment(experiment_name="Default", namespace=OWNER_NAMESPACE)
    assert owner.get_run(result.run_id).experiment_id == default.experiment_id


def test_shared_upload_is_runnable_and_readable_by_everyone(
        kfp_env: KfpTestEnv, owner: kfp.Client, intruder: Caller, workspace: Workspace,
        pipeline_package: Path) -> None:
    grant_shared_pipeline_rights(kfp_env, OWNER_NAMESPACE)
    shared = owner.upload_pipeline(str(pipeline_package), pipeline_name="shared-adder")
    assert shared.namespace is None
    version_id = only_version_id(owner, shared.pipeline_id)

    run = owner.run_pipeline(workspace.experiment_id, "on-shared",
                             pipeline_id=shared.pipeline_id, version_id=version_id)
    assert owner.get_run(run.run_id).pipeline_version_reference.pipeline_id == \
        shared.pipeline_id
    # Shared pipelines are readable by any caller; namespaced ones are not listed with them.
    listed = intruder.client.list_pipelines()
    assert [p.pipeline_id for p in listed.pipelines] == [shared.pipeline_id]
    assert intruder.client.get_pipeline(shared.pipeline_id).display_name == "shared-adder"
    assert intruder.client.get_pipeline_id("shared-adder") == shared.pipeline_id


def test_shared_upload_needs_rights_in_the_system_namespace(
        owner: kfp.Client, workspace: Workspace, pipeline_package: Path) -> None:
    # Positive control: the namespaced upload in the workspace fixture succeeded.
    assert owner.get_pipeline(workspace.pipeline_id).namespace == OWNER_NAMESPACE

    with pytest.raises(ApiException) as info:
        owner.upload_pipeline(str(pipeline_package), pipeline_name="unauthorized-shared")
    # Upload handlers report authorization failures as 400 {error_message, error_details}.
    assert info.value.status == 400
    body = error_body(info.value)
    assert body["error_message"] == "Failed to create a pipeline"
    # KFP >= 2.15 only logs the cause (kubeflow/pipelines#12295).
    assert "Namespace:kubeflow" not in body["error_details"]
    assert not [p for p in owner.list_pipelines(page_size=100).pipelines or []
                if p.display_name == "unauthorized-shared"]


def test_list_runs_by_experiment_and_by_namespace(owner: kfp.Client, workspace: Workspace,
                                                  start_run: StartRun, intruder: Caller,
                                                  pipeline_package: Path) -> None:
    other = owner.create_experiment("alice-other", namespace=OWNER_NAMESPACE)
    first, second = start_run("first"), start_run("second")
    third = owner.run_pipeline(other.experiment_id, "third", pipeline_id=workspace.pipeline_id,
                               version_id=workspace.version_id)
    bobs_experiment = intruder.client.create_experiment("bob-exp")
    bobs = intruder.client.run_pipeline(bobs_experiment.experiment_id, "bobs",
                                        pipeline_package_path=str(pipeline_package))

    assert run_ids(owner.list_runs(experiment_id=workspace.experiment_id)) == \
        {first.run_id, second.run_id}
    assert run_ids(owner.list_runs(experiment_id=other.experiment_id)) == {third.run_id}
    in_namespace = owner.list_runs(namespace=OWNER_NAMESPACE)
    assert run_ids(in_namespace) == {first.run_id, second.run_id, third.run_id}
    assert in_namespace.total_size == 3
    assert run_ids(intruder.client.list_runs()) == {bobs.run_id}  # bob's context: bob


def test_list_runs_without_scope_is_rejected(owner: kfp.Client, start_run: StartRun) -> None:
    start_run("exists")
    with pytest.raises(ApiException) as info:
        owner.list_runs()  # no context namespace: the SDK sends namespace=''
    assert_sdk_error(info.value, 400, 3, "A run cannot have an empty namespace in multi-user mode")


def test_runs_follow_the_context_namespace(owner: kfp.Client, start_run: StartRun) -> None:
    run = start_run("contextual")
    owner.set_user_namespace(OWNER_NAMESPACE)

    assert run_ids(owner.list_runs()) == {run.run_id}


def test_terminate_cancels_an_active_run(kfp_env: KfpTestEnv, owner: kfp.Client,
                                         start_run: StartRun) -> None:
    run = start_run("to-cancel")
    owner.terminate_run(run.run_id)
    assert owner.get_run(run.run_id).state == "CANCELING"
    kfp_env.advance(kfp_env.emulator.config.run_running_seconds + 1)
    assert owner.get_run(run.run_id).state == "CANCELED"

    with pytest.raises(ApiException) as info:
        owner.terminate_run(run.run_id)
    assert_sdk_error(info.value, 400, 3,
                     f"Failed to terminate a run {run.run_id}. Row not found")


def test_archive_unarchive_delete_run(owner: kfp.Client, start_run: StartRun) -> None:
    run = start_run("to-archive")
    owner.archive_run(run.run_id)
    assert owner.get_run(run.run_id).storage_state == "ARCHIVED"
    owner.unarchive_run(run.run_id)
    assert owner.get_run(run.run_id).storage_state == "AVAILABLE"

    owner.delete_run(run.run_id)
    with pytest.raises(ApiException) as info:
        owner.get_run(run.run_id)
    assert_sdk_error(info.value, 404, 5, f"Run {run.run_id} not found")


# -- bob, twice: with his default-editor token and as bob@example.com via context.json ------


def test_intruder_cannot_touch_alice_pipelines(owner: kfp.Client, intruder: Caller,
                                               workspace: Workspace,
                                               pipeline_package: Path) -> None:
    assert owner.get_pipeline(workspace.pipeline_id).display_name == "alice-adder"
    assert owner.list_pipelines(namespace=OWNER_NAMESPACE).total_size == 1

    with denied(intruder, "get", "pipelines"):
        intruder.client.get_pipeline(workspace.pipeline_id)
    with denied(intruder, "list", "pipelines"):
        intruder.client.list_pipelines(namespace=OWNER_NAMESPACE)
    with denied(intruder, "list", "pipelines"):
        intruder.client.list_pipeline_versions(workspace.pipeline_id)
    with denied(intruder, "delete", "pipelines"):
        intruder.client.delete_pipeline(workspace.pipeline_id)
    # The multipart upload reports its authorization failure as 400, not 403 (spec 5.5).
    with pytest.raises(ApiException) as info:
        intruder.client.upload_pipeline(str(pipeline_package), pipeline_name="bobs",
                                        namespace=OWNER_NAMESPACE)
    assert info.value.status == 400
    body = error_body(info.value)
    assert body["error_message"] == "Failed to create a pipeline"
    assert "not authorized" not in body["error_details"]  # only logged since KFP 2.15
    assert owner.list_pipelines(namespace=OWNER_NAMESPACE).total_size == 1


def test_intruder_cannot_run_in_alice_experiment(owner: kfp.Client, intruder: Caller,
                                                 workspace: Workspace, start_run: StartRun,
                                                 pipeline_package: Path) -> None:
    start_run("alice-may")

    with denied(intruder, "create", "runs"):
        intruder.client.run_pipeline(workspace.experiment_id, "bob-may-not",
                                     pipeline_id=workspace.pipeline_id,
                                     version_id=workspace.version_id)
    with denied(intruder, "create", "runs"):
        intruder.client.run_pipeline(workspace.experiment_id, "bob-inline",
                                     pipeline_package_path=str(pipeline_package))
    assert owner.list_runs(experiment_id=workspace.experiment_id).total_size == 1


def test_intruder_cannot_list_or_read_alice_runs(owner: kfp.Client, intruder: Caller,
                                                 workspace: Workspace,
                                                 start_run: StartRun) -> None:
    run = start_run("private-run")
    assert run_ids(owner.list_runs(experiment_id=workspace.experiment_id)) == {run.run_id}
    assert owner.get_run(run.run_id).display_name == "private-run"

    with denied(intruder, "list", "runs"):
        intruder.client.list_runs(experiment_id=workspace.experiment_id)
    with denied(intruder, "list", "runs"):
        intruder.client.list_runs(namespace=OWNER_NAMESPACE)
    with denied(intruder, "get", "runs"):
        intruder.client.get_run(run.run_id)


def test_intruder_cannot_terminate_archive_or_delete_alice_runs(
        owner: kfp.Client, intruder: Caller, start_run: StartRun) -> None:
    control, target = start_run("control"), start_run("target")
    owner.terminate_run(control.run_id)
    owner.archive_run(control.run_id)
    owner.unarchive_run(control.run_id)
    owner.delete_run(control.run_id)

    with denied(intruder, "terminate", "runs"):
        intruder.client.terminate_run(target.run_id)
    with denied(intruder, "archive", "runs"):
        intruder.client.archive_run(target.run_id)
    with denied(intruder, "delete", "runs"):
        intruder.client.delete_run(target.run_id)
    owner.archive_run(target.run_id)
    with denied(intruder, "unarchive", "runs"):
        intruder.client.unarchive_run(target.run_id)

    survivor = owner.get_run(target.run_id)
    assert (survivor.state, survivor.storage_state) == ("PENDING", "ARCHIVED")


def test_intruder_cannot_run_alice_private_pipeline_in_own_experiment(
        owner: kfp.Client, intruder: Caller, workspace: Workspace, start_run: StartRun,
        pipeline_package: Path) -> None:
    start_run("alice-runs-her-pipeline")
    bobs_experiment = intruder.client.create_experiment("bob-exp")
    intruder.client.run_pipeline(bobs_experiment.experiment_id, "bob-runs-his-own-package",
                                 pipeline_package_path=str(pipeline_package))

    # ISO-007 fixed: referencing a private pipeline needs ``get`` on it, in its namespace.
    with denied(intruder, "get", "pipelines"):
        intruder.client.run_pipeline(bobs_experiment.experiment_id, "borrowed",
                                     pipeline_id=workspace.pipeline_id,
                                     version_id=workspace.version_id)
    with denied(intruder, "get", "pipelines"):
        intruder.client.create_recurring_run(bobs_experiment.experiment_id, "borrowed-cron",
                                             cron_expression="0 0 * * * *",
                                             pipeline_id=workspace.pipeline_id,
                                             version_id=workspace.version_id)
    assert intruder.client.list_runs().total_size == 1

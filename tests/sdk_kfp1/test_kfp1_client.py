"""The kfp 1.8.24 ``kfp.Client`` used by a tenant, end to end against the emulator."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import kfp
import pytest
import yaml
from kfp_server_api import ApiPipeline
from kfp_server_api.exceptions import ApiException

from emulator.testing import KfpTestEnv
from tests.sdk_kfp1.kfp1_support import (
    ARGO_PIPELINE_NAME,
    IR_PIPELINE_NAME,
    ClientFactory,
    error_body,
    failed,
    references,
    sa_user,
)

EMPTY_IDENTITY = "Failed to check authorization. User identity is empty in the request header"


def run_ids(response: object) -> set[str]:
    return {r.id for r in getattr(response, "runs", None) or []}


# -- identity -----------------------------------------------------------------------------------


def test_sa_token_from_env_var_authenticates_as_default_editor(
        kfp_env: KfpTestEnv, kfp_home: Path, alice: kfp.Client) -> None:
    assert alice.get_kfp_healthz().multi_user is True
    since = kfp_env.emulator.cluster.authorizer.last_seq()
    experiment = alice.create_experiment("who-am-i", namespace="alice")
    assert experiment.id
    decisions = kfp_env.emulator.decisions(since)
    assert decisions, "creating an experiment must be authorized by a SubjectAccessReview"
    assert {d.user for d in decisions} == {sa_user("alice")}
    create = [d for d in decisions if d.verb == "create"]
    assert [(d.resource, d.namespace, d.allowed) for d in create] == \
        [("experiments", "alice", True)]


def test_client_without_credentials_is_unauthenticated(kfp_env: KfpTestEnv, kfp_home: Path,
                                                       alice: kfp.Client) -> None:
    experiment = alice.create_experiment("visible", namespace="alice")  # positive control
    assert [e.id for e in alice.list_experiments(namespace="alice").experiments] == \
        [experiment.id]
    anonymous = kfp.Client(host=kfp_env.url, namespace="alice")
    failed(lambda: anonymous.list_experiments(namespace="alice"), 401, 16, EMPTY_IDENTITY)


def test_token_file_is_reread_on_every_request(kfp_env: KfpTestEnv, kfp_home: Path,
                                               tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The kubelet rotates the projected token in place; the SDK reads the file per call."""
    token_file = tmp_path / "token"
    token_file.write_text(kfp_env.emulator.service_account_token("alice", ttl_seconds=60))
    monkeypatch.setenv("KF_PIPELINES_SA_TOKEN_PATH", str(token_file))
    client = kfp.Client(host=kfp_env.url,
                        credentials=kfp.auth.ServiceAccountTokenVolumeCredentials(path=None))
    client.create_experiment("rotating", namespace="alice")
    kfp_env.advance(121)  # past the expiry and the validator's 60 s leeway
    failed(lambda: client.list_experiments(namespace="alice"), 401, 16, EMPTY_IDENTITY)
    token_file.write_text(kfp_env.emulator.service_account_token("alice"))
    assert [e.name for e in client.list_experiments(namespace="alice").experiments] == \
        ["rotating"]


# -- experiments ----------------------------------------------------------------------------------


def test_create_and_list_experiments_in_a_namespace(kfp_home: Path, alice: kfp.Client,
                                                    bob: kfp.Client) -> None:
    first = alice.create_experiment("exp-a", description="first", namespace="alice")
    second = alice.create_experiment("exp-b", namespace="alice")
    assert references(first) == {"NAMESPACE": ["alice"]}
    assert first.description == "first"
    assert first.storage_state == "STORAGESTATE_AVAILABLE"
    # kfp 1.8 looks the name up first, so creating it again returns the same experiment.
    assert alice.create_experiment("exp-a", namespace="alice").id == first.id
    # Names are unique per namespace only: bob gets his own "exp-a".
    bobs = bob.create_experiment("exp-a", namespace="bob")
    assert bobs.id != first.id
    assert references(bobs) == {"NAMESPACE": ["bob"]}

    listed = alice.list_experiments(namespace="alice", sort_by="name desc")
    assert [e.id for e in listed.experiments] == [second.id, first.id]
    assert listed.total_size == 2
    assert alice.get_experiment(experiment_name="exp-a", namespace="alice").id == first.id
    assert [e.id for e in bob.list_experiments(namespace="bob").experiments] == [bobs.id]


def test_set_user_namespace_is_the_default_for_later_calls(
        kfp_env: KfpTestEnv, kfp_home: Path, kfp1_context: Path, alice: kfp.Client,
        sa_client: ClientFactory, shared_pipeline: ApiPipeline) -> None:
    assert alice.get_user_namespace() == ""
    failed(lambda: alice.list_experiments(), 400, 3,
           "An experiment cannot have an empty namespace in multi-user mode")
    alice.set_user_namespace("alice")
    assert json.loads(kfp1_context.read_text())["namespace"] == "alice"

    experiment = alice.create_experiment("defaulted")  # no namespace argument
    assert references(experiment) == {"NAMESPACE": ["alice"]}
    run = alice.run_pipeline(experiment.id, "defaulted-run", pipeline_id=shared_pipeline.id)
    assert [e.id for e in alice.list_experiments().experiments] == [experiment.id]
    assert run_ids(alice.list_runs()) == {run.id}

    # A new client on the same machine reads the context file (and skips the healthz probe).
    later = sa_client("alice")
    assert later.get_user_namespace() == "alice"
    assert [e.id for e in later.list_experiments().experiments] == [experiment.id]


def test_in_cluster_client_adopts_its_pod_namespace(kfp_env: KfpTestEnv, kfp_home: Path,
                                                    kfp1_context: Path, tmp_path: Path,
                                                    sa_client: ClientFactory,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """With no context, kfp 1.8 asks healthz; multi_user=true makes it read the pod namespace."""
    pod_namespace = tmp_path / "pod-namespace"
    pod_namespace.write_text("alice")
    monkeypatch.setattr(kfp.Client, "NAMESPACE_PATH", str(pod_namespace))
    client = sa_client("alice")
    assert client.get_user_namespace() == "alice"
    assert json.loads(kfp1_context.read_text())["namespace"] == "alice"
    experiment = client.create_experiment("in-pod")
    assert references(experiment) == {"NAMESPACE": ["alice"]}


# -- pipelines ------------------------------------------------------------------------------------


def test_upload_argo_workflow_compiled_by_kfp18(kfp_home: Path, alice: kfp.Client,
                                                bob: kfp.Client, argo_package: Path,
                                                shared_pipeline: ApiPipeline) -> None:
    compiled = yaml.safe_load(argo_package.read_text())
    assert compiled["kind"] == "Workflow"
    pipeline = shared_pipeline
    assert pipeline.name == ARGO_PIPELINE_NAME
    assert pipeline.description == "echo a message"
    # kfp 1.8's upload has no namespace: the pipeline is shared.
    assert not references(pipeline).get("NAMESPACE")
    declared = compiled["spec"]["arguments"]["parameters"]
    assert [(p.name, p.value) for p in pipeline.parameters] == \
        [(p["name"], p["value"]) for p in declared]
    assert references(pipeline.default_version) == {"PIPELINE": [pipeline.id]}

    template = alice._pipelines_api.get_template(id=pipeline.id).template
    assert yaml.safe_load(template) == compiled
    # Shared pipelines are readable by every tenant.
    assert bob.get_pipeline(pipeline.id).name == ARGO_PIPELINE_NAME
    assert alice.get_pipeline_id(ARGO_PIPELINE_NAME) == pipeline.id
    assert [p.id for p in bob.list_pipelines().pipelines] == [pipeline.id]


def test_upload_v2_ir_yaml(kfp_home: Path, alice: kfp.Client, bob: kfp.Client,
                           grant_shared_pipelines: Callable[[str], None],
                           ir_package: Path) -> None:
    grant_shared_pipelines("alice")
    pipeline = alice.upload_pipeline(str(ir_package), pipeline_name=IR_PIPELINE_NAME)
    assert pipeline.name == IR_PIPELINE_NAME
    assert not references(pipeline).get("NAMESPACE")
    # Upstream V2Spec.ParametersJSON is "[]": a v2 IR pipeline shows no v1 parameters.
    assert pipeline.parameters is None
    assert pipeline.default_version.parameters is None
    template = bob._pipelines_api.get_template(id=pipeline.id).template
    assert yaml.safe_load(template) == yaml.safe_load(ir_package.read_text())

    experiment = alice.create_experiment("ir-exp", namespace="alice")
    run = alice.run_pipeline(experiment.id, "ir-run", pipeline_id=pipeline.id)
    assert run.pipeline_spec.pipeline_id == pipeline.id
    assert references(run)["EXPERIMENT"] == [experiment.id]
    assert references(run)["NAMESPACE"] == ["alice"]


def test_shared_upload_needs_rights_in_the_kfp_namespace(
        kfp_home: Path, alice: kfp.Client, grant_shared_pipelines: Callable[[str], None],
        argo_package: Path) -> None:
    """Secure behaviour (ISO-006 fixed): a tenant alone cannot publish a shared pipeline."""
    with pytest.raises(ApiException) as caught:
        alice.upload_pipeline(str(argo_package), pipeline_name="nope")
    # The multipart handler answers authorization failures with its own 400 shape.
    assert caught.value.status == 400
    assert error_body(caught.value)["error_message"] == "Failed to create a pipeline"
    assert alice.list_pipelines().pipelines is None
    grant_shared_pipelines("alice")
    pipeline = alice.upload_pipeline(str(argo_package), pipeline_name="now-ok")
    assert [p.id for p in alice.list_pipelines().pipelines] == [pipeline.id]


# -- runs -----------------------------------------------------------------------------------------


def test_run_pipeline_by_id_progresses_on_the_emulator_clock(
        kfp_env: KfpTestEnv, kfp_home: Path, alice: kfp.Client,
        shared_pipeline: ApiPipeline) -> None:
    config = kfp_env.emulator.config
    experiment = alice.create_experiment("runs", namespace="alice")
    run = alice.run_pipeline(experiment.id, "by-id", pipeline_id=shared_pipeline.id,
                             params={"msg": "hello"})
    assert run.name == "by-id"
    assert run.status == "Pending"
    assert run.service_account == config.default_runner_service_account
    assert run.pipeline_spec.pipeline_id == shared_pipeline.id
    assert [(p.name, p.value) for p in run.pipeline_spec.parameters] == [("msg", "hello")]
    assert references(run)["EXPERIMENT"] == [experiment.id]
    assert references(run)["NAMESPACE"] == ["alice"]

    kfp_env.advance(config.run_pending_seconds)
    assert alice.get_run(run.id).run.status == "Running"
    kfp_env.advance(config.run_running_seconds)
    detail = alice.get_run(run.id).run
    assert detail.status == "Succeeded"
    elapsed = (detail.finished_at - detail.created_at).total_seconds()
    assert elapsed == config.run_pending_seconds + config.run_running_seconds


def test_run_pipeline_from_a_local_package(kfp_env: KfpTestEnv, kfp_home: Path,
                                           alice: kfp.Client, argo_package: Path) -> None:
    experiment = alice.create_experiment("inline", namespace="alice")
    run = alice.run_pipeline(experiment.id, "inline-run",
                             pipeline_package_path=str(argo_package), params={"msg": "yo"})
    assert [(p.name, p.value) for p in run.pipeline_spec.parameters] == [("msg", "yo")]
    manifest = json.loads(run.pipeline_spec.workflow_manifest)
    assert manifest == yaml.safe_load(argo_package.read_text())
    result = alice.create_run_from_pipeline_package(str(argo_package), {"msg": "again"},
                                                    run_name="from-package",
                                                    experiment_name="inline",
                                                    namespace="alice")
    assert run_ids(alice.list_runs(experiment_id=experiment.id)) == {run.id, result.run_id}


def test_list_runs_by_experiment_and_by_namespace(kfp_home: Path, alice: kfp.Client,
                                                  bob: kfp.Client,
                                                  shared_pipeline: ApiPipeline) -> None:
    first = alice.create_experiment("first", namespace="alice")
    second = alice.create_experiment("second", namespace="alice")
    a1 = alice.run_pipeline(first.id, "a1", pipeline_id=shared_pipeline.id)
    a2 = alice.run_pipeline(first.id, "a2", pipeline_id=shared_pipeline.id)
    b1 = alice.run_pipeline(second.id, "b1", pipeline_id=shared_pipeline.id)
    theirs = bob.create_experiment("bobs", namespace="bob")
    bob.run_pipeline(theirs.id, "bob-run", pipeline_id=shared_pipeline.id)

    assert run_ids(alice.list_runs(experiment_id=first.id)) == {a1.id, a2.id}
    assert run_ids(alice.list_runs(experiment_id=second.id)) == {b1.id}
    by_namespace = alice.list_runs(namespace="alice", page_size=2, sort_by="name")
    assert [r.name for r in by_namespace.runs] == ["a1", "a2"]
    assert by_namespace.total_size == 3
    rest = alice.list_runs(namespace="alice", page_size=2, sort_by="name",
                           page_token=by_namespace.next_page_token)
    assert [r.id for r in rest.runs] == [b1.id]
    failed(lambda: alice.list_runs(), 400, 3,
           "A run cannot have an empty namespace in multi-user mode")


def test_terminate_archive_and_delete_a_run(kfp_env: KfpTestEnv, kfp_home: Path,
                                            alice: kfp.Client,
                                            shared_pipeline: ApiPipeline) -> None:
    experiment = alice.create_experiment("lifecycle", namespace="alice")
    run = alice.run_pipeline(experiment.id, "doomed", pipeline_id=shared_pipeline.id)
    alice._run_api.terminate_run(run.id)
    assert alice.get_run(run.id).run.status == "Terminating"
    kfp_env.advance(5)
    assert alice.get_run(run.id).run.status == "Failed"  # CANCELED reads "Failed" in v1
    failed(lambda: alice._run_api.terminate_run(run.id), 400, 3)

    alice._run_api.archive_run(run.id)
    assert alice.get_run(run.id).run.storage_state == "STORAGESTATE_ARCHIVED"
    alice._run_api.unarchive_run(run.id)
    assert alice.get_run(run.id).run.storage_state != "STORAGESTATE_ARCHIVED"

    alice._run_api.delete_run(run.id)
    failed(lambda: alice.get_run(run.id), 404, 5, f"Run {run.id} not found")
    assert alice.list_runs(experiment_id=experiment.id).runs is None


def test_archive_and_delete_an_experiment(kfp_home: Path, alice: kfp.Client,
                                          shared_pipeline: ApiPipeline) -> None:
    experiment = alice.create_experiment("to-archive", namespace="alice")
    run = alice.run_pipeline(experiment.id, "r", pipeline_id=shared_pipeline.id)
    job = alice.create_recurring_run(experiment.id, "hourly", cron_expression="0 0 * * * *",
                                     pipeline_id=shared_pipeline.id)
    alice.archive_experiment(experiment.id)
    assert alice.get_experiment(experiment_id=experiment.id).storage_state == \
        "STORAGESTATE_ARCHIVED"
    assert alice.get_run(run.id).run.storage_state == "STORAGESTATE_ARCHIVED"
    assert alice.get_recurring_run(job.id).status == "Disabled"
    failed(lambda: alice._run_api.unarchive_run(run.id), 400, 9,
           f"Failed to unarchive run {run.id} as experiment {experiment.id} must be "
           "un-archived first")

    alice._experiment_api.unarchive_experiment(experiment.id)
    assert alice.get_experiment(experiment_id=experiment.id).storage_state == \
        "STORAGESTATE_AVAILABLE"
    assert alice.get_run(run.id).run.storage_state == "STORAGESTATE_ARCHIVED"

    alice.delete_experiment(experiment.id)
    failed(lambda: alice.get_experiment(experiment_id=experiment.id), 404, 5,
           f"Experiment {experiment.id} not found")


# -- recurring runs -------------------------------------------------------------------------------


def test_recurring_run_fires_on_the_emulator_clock(kfp_env: KfpTestEnv, kfp_home: Path,
                                                   alice: kfp.Client,
                                                   shared_pipeline: ApiPipeline) -> None:
    experiment = alice.create_experiment("scheduled", namespace="alice")
    job = alice.create_recurring_run(experiment.id, "every-minute", interval_second=60,
                                     pipeline_id=shared_pipeline.id, max_concurrency=2)
    assert job.enabled is True
    assert job.status == "Enabled"
    assert job.trigger.periodic_schedule.interval_second == "60"
    assert references(job)["EXPERIMENT"] == [experiment.id]
    assert references(job)["NAMESPACE"] == ["alice"]
    listed = alice.list_recurring_runs(experiment_id=experiment.id)
    assert [j.id for j in listed.jobs] == [job.id]
    assert alice.list_runs(experiment_id=experiment.id).runs is None

    kfp_env.advance(61)
    runs = alice.list_runs(experiment_id=experiment.id).runs
    assert len(runs) == 1
    assert references(runs[0])["JOB"] == [job.id]
    assert references(runs[0])["NAMESPACE"] == ["alice"]

    alice.disable_job(job.id)
    assert alice.get_recurring_run(job.id).status == "Disabled"
    kfp_env.advance(600)
    assert len(alice.list_runs(experiment_id=experiment.id).runs) == 1
    alice.delete_job(job.id)
    failed(lambda: alice.get_recurring_run(job.id), 404, 5, f"Job {job.id} not found")


def test_list_recurring_runs_ignores_the_user_namespace(kfp_home: Path, alice: kfp.Client,
                                                        shared_pipeline: ApiPipeline) -> None:
    """kfp 1.8's list_recurring_runs() sends no namespace, even after set_user_namespace."""
    alice.set_user_namespace("alice")
    experiment = alice.create_experiment("jobs")
    job = alice.create_recurring_run(experiment.id, "nightly", cron_expression="0 0 0 * * *",
                                     pipeline_id=shared_pipeline.id)
    assert [j.id for j in alice.list_recurring_runs(experiment_id=experiment.id).jobs] == \
        [job.id]
    failed(lambda: alice.list_recurring_runs(), 400, 3,
           "a recurring run cannot have an empty namespace in multi-user mode")

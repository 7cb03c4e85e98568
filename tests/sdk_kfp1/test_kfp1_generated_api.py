"""The kfp-server-api 1.8.5 generated client, called the way the KFP multi-user docs show it."""

from __future__ import annotations

from pathlib import Path

import kfp
from kfp_server_api import (
    ApiExperiment,
    ApiListRunsResponse,
    ApiPipeline,
    ApiResourceType,
    ApiRunDetail,
)

from emulator.testing import KfpTestEnv
from tests.sdk_kfp1.kfp1_support import (
    denied,
    experiment_body,
    failed,
    namespace_owner,
    reference_of,
    references,
    run_body,
    sa_user,
)


def test_create_experiment_with_a_namespace_owner_reference(kfp_home: Path,
                                                            alice: kfp.Client) -> None:
    created = alice._experiment_api.create_experiment(
        body=experiment_body("documented", "alice"))
    assert isinstance(created, ApiExperiment)
    assert created.name == "documented"
    owner = reference_of(created, ApiResourceType.NAMESPACE)
    assert (owner.key.id, owner.relationship) == ("alice", "OWNER")

    fetched = alice._experiment_api.get_experiment(id=created.id)
    assert (fetched.id, fetched.name) == (created.id, "documented")
    listed = alice._experiment_api.list_experiment(
        resource_reference_key_type=ApiResourceType.NAMESPACE,
        resource_reference_key_id="alice")
    assert [e.id for e in listed.experiments] == [created.id]
    failed(lambda: alice._experiment_api.create_experiment(
        body=experiment_body("documented", "alice")), 409, 6)


def test_create_run_detail_progresses_and_carries_references(
        kfp_env: KfpTestEnv, kfp_home: Path, alice: kfp.Client,
        shared_pipeline: ApiPipeline) -> None:
    config = kfp_env.emulator.config
    experiment = alice._experiment_api.create_experiment(body=experiment_body("e", "alice"))
    detail = alice._run_api.create_run(body=run_body("documented-run", shared_pipeline.id,
                                                     experiment.id))
    assert isinstance(detail, ApiRunDetail)
    run = detail.run
    assert run.name == "documented-run"
    assert run.status == "Pending"
    assert run.pipeline_spec.pipeline_id == shared_pipeline.id
    experiment_ref = reference_of(run, ApiResourceType.EXPERIMENT)
    assert (experiment_ref.key.id, experiment_ref.name, experiment_ref.relationship) == \
        (experiment.id, "e", "OWNER")
    namespace_ref = reference_of(run, ApiResourceType.NAMESPACE)
    assert (namespace_ref.key.id, namespace_ref.relationship) == ("alice", "OWNER")

    states = []
    for seconds in (config.run_pending_seconds, config.run_running_seconds):
        kfp_env.advance(seconds)
        fetched = alice._run_api.get_run(run_id=run.id)
        assert isinstance(fetched, ApiRunDetail)
        states.append(fetched.run.status)
    assert states == ["Running", "Succeeded"]
    assert fetched.run.finished_at > fetched.run.created_at


def test_list_runs_by_experiment_reference(kfp_home: Path, alice: kfp.Client,
                                           shared_pipeline: ApiPipeline) -> None:
    first = alice._experiment_api.create_experiment(body=experiment_body("first", "alice"))
    second = alice._experiment_api.create_experiment(body=experiment_body("second", "alice"))
    mine = [alice._run_api.create_run(body=run_body(f"r{i}", shared_pipeline.id, first.id)).run
            for i in range(3)]
    alice._run_api.create_run(body=run_body("other", shared_pipeline.id, second.id))

    listed = alice._run_api.list_runs(resource_reference_key_type=ApiResourceType.EXPERIMENT,
                                      resource_reference_key_id=first.id, sort_by="name desc")
    assert isinstance(listed, ApiListRunsResponse)
    assert [r.id for r in listed.runs] == [r.id for r in reversed(mine)]
    assert listed.total_size == 3
    assert all(references(r)["EXPERIMENT"] == [first.id] for r in listed.runs)
    everything = alice._run_api.list_runs(resource_reference_key_type=ApiResourceType.NAMESPACE,
                                          resource_reference_key_id="alice")
    assert everything.total_size == 4


def test_namespace_rules_of_the_v1_api(kfp_home: Path, alice: kfp.Client,
                                       shared_pipeline: ApiPipeline) -> None:
    experiment = alice._experiment_api.create_experiment(body=experiment_body("e", "alice"))
    failed(lambda: alice._experiment_api.list_experiment(), 400, 3,
           "An experiment cannot have an empty namespace in multi-user mode")
    failed(lambda: alice._experiment_api.create_experiment(
        body=ApiExperiment(name="no-namespace")), 400, 3,
        "An experiment cannot have an empty namespace in multi-user mode")
    failed(lambda: alice._run_api.list_runs(), 400, 3,
           "A run cannot have an empty namespace in multi-user mode")
    # A run needs its experiment, and a NAMESPACE reference must agree with it.
    no_experiment = run_body("orphan", shared_pipeline.id, experiment.id)
    no_experiment.resource_references = [namespace_owner("alice")]
    failed(lambda: alice._run_api.create_run(body=no_experiment), 400, 3,
           "Experiment id can not be empty in multi-user mode")
    failed(lambda: alice._run_api.create_run(
        body=run_body("mismatch", shared_pipeline.id, experiment.id, namespace_owner("bob"))),
        400, 3, f"Experiment {experiment.id} belongs to namespace 'alice' instead of 'bob'")
    failed(lambda: alice._run_api.create_run(
        body=run_body("ghost", shared_pipeline.id, "no-such-experiment")),
        404, 5, "Experiment no-such-experiment not found")
    matching = alice._run_api.create_run(
        body=run_body("matching", shared_pipeline.id, experiment.id, namespace_owner("alice")))
    assert references(matching.run)["NAMESPACE"] == ["alice"]


def test_generated_calls_into_another_namespace_are_denied(
        kfp_home: Path, alice: kfp.Client, bob: kfp.Client,
        shared_pipeline: ApiPipeline) -> None:
    bob_user = sa_user("bob")
    # Positive controls: the owner's identical calls succeed.
    experiment = alice._experiment_api.create_experiment(body=experiment_body("e", "alice"))
    run = alice._run_api.create_run(body=run_body("r", shared_pipeline.id, experiment.id)).run
    assert alice._experiment_api.list_experiment(
        resource_reference_key_type=ApiResourceType.NAMESPACE,
        resource_reference_key_id="alice").total_size == 1
    assert alice._run_api.list_runs(resource_reference_key_type=ApiResourceType.EXPERIMENT,
                                    resource_reference_key_id=experiment.id).total_size == 1

    denied(lambda: bob._experiment_api.create_experiment(
        body=experiment_body("intruder", "alice")), bob_user, "alice")
    denied(lambda: bob._experiment_api.get_experiment(id=experiment.id), bob_user, "alice")
    denied(lambda: bob._experiment_api.list_experiment(
        resource_reference_key_type=ApiResourceType.NAMESPACE,
        resource_reference_key_id="alice"), bob_user, "alice")
    denied(lambda: bob._run_api.create_run(
        body=run_body("intruder", shared_pipeline.id, experiment.id)), bob_user, "alice")
    # Claiming his own namespace next to alice's experiment does not help bob.
    failed(lambda: bob._run_api.create_run(
        body=run_body("intruder", shared_pipeline.id, experiment.id, namespace_owner("bob"))),
        400, 3, f"Experiment {experiment.id} belongs to namespace 'alice' instead of 'bob'")
    denied(lambda: bob._run_api.list_runs(
        resource_reference_key_type=ApiResourceType.EXPERIMENT,
        resource_reference_key_id=experiment.id), bob_user, "alice")
    denied(lambda: bob._run_api.get_run(run_id=run.id), bob_user, "alice")

    assert alice._experiment_api.list_experiment(
        resource_reference_key_type=ApiResourceType.NAMESPACE,
        resource_reference_key_id="alice").total_size == 1
    assert alice._run_api.list_runs(resource_reference_key_type=ApiResourceType.EXPERIMENT,
                                    resource_reference_key_id=experiment.id).total_size == 1

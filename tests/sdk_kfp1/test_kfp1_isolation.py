"""Another tenant's kfp 1.8 client is denied on every call into alice's namespace.

Each case first makes the owner's call succeed (on a spare object of the same kind, so
destructive calls leave the target intact), then makes bob's identical call on alice's main
object and requires exactly 403 PermissionDenied, with no change visible to the owner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kfp
import pytest
from kfp_server_api import ApiPipeline

from tests.sdk_kfp1.kfp1_support import denied, experiment_body, sa_user

HOURLY = "0 0 * * * *"


@dataclass(frozen=True)
class AliceWorld:
    """Two of each object in alice's namespace: ``main`` for bob, ``spare`` for alice."""

    pipeline_id: str
    experiment: dict[str, str]
    run: dict[str, str]
    job: dict[str, str]


def observe(client: kfp.Client, world: AliceWorld) -> dict[str, Any]:
    """Everything the owner can see in her namespace."""
    experiments = client.list_experiments(namespace="alice", page_size=100)
    runs = client.list_runs(namespace="alice", page_size=100)
    jobs = client.list_recurring_runs(experiment_id=world.experiment["main"], page_size=100)
    return {"experiments": experiments.to_dict(), "runs": runs.to_dict(),
            "jobs": jobs.to_dict()}


@pytest.fixture
def world(alice: kfp.Client, shared_pipeline: ApiPipeline) -> AliceWorld:
    pipeline_id = shared_pipeline.id
    main = alice.create_experiment("main", namespace="alice")
    spare = alice.create_experiment("spare", namespace="alice")
    runs = {slot: alice.run_pipeline(main.id, f"run-{slot}", pipeline_id=pipeline_id).id
            for slot in ("main", "spare")}
    jobs = {slot: alice.create_recurring_run(main.id, f"job-{slot}", cron_expression=HOURLY,
                                             pipeline_id=pipeline_id).id
            for slot in ("main", "spare")}
    return AliceWorld(pipeline_id, {"main": main.id, "spare": spare.id}, runs, jobs)


Call = Callable[[kfp.Client, AliceWorld, str], Any]

CALLS: dict[str, Call] = {
    # experiments
    "create_experiment": lambda c, w, s: c.create_experiment(f"new-{s}", namespace="alice"),
    "create_experiment_api": lambda c, w, s: c._experiment_api.create_experiment(
        body=experiment_body(f"api-{s}", "alice")),
    "get_experiment": lambda c, w, s: c.get_experiment(experiment_id=w.experiment[s]),
    "get_experiment_by_name": lambda c, w, s: c.get_experiment(experiment_name=s,
                                                               namespace="alice"),
    "list_experiments": lambda c, w, s: c.list_experiments(namespace="alice"),
    "archive_experiment": lambda c, w, s: c.archive_experiment(w.experiment[s]),
    "unarchive_experiment": lambda c, w, s: c._experiment_api.unarchive_experiment(
        w.experiment[s]),
    "delete_experiment": lambda c, w, s: c.delete_experiment(w.experiment[s]),
    # runs
    "run_pipeline": lambda c, w, s: c.run_pipeline(w.experiment[s], f"new-run-{s}",
                                                   pipeline_id=w.pipeline_id),
    "list_runs_by_experiment": lambda c, w, s: c.list_runs(experiment_id=w.experiment[s]),
    "list_runs_by_namespace": lambda c, w, s: c.list_runs(namespace="alice"),
    "get_run": lambda c, w, s: c.get_run(w.run[s]),
    "terminate_run": lambda c, w, s: c._run_api.terminate_run(w.run[s]),
    "archive_run": lambda c, w, s: c._run_api.archive_run(w.run[s]),
    "delete_run": lambda c, w, s: c._run_api.delete_run(w.run[s]),
    # recurring runs
    "create_recurring_run": lambda c, w, s: c.create_recurring_run(
        w.experiment[s], f"new-job-{s}", cron_expression=HOURLY, pipeline_id=w.pipeline_id),
    "list_recurring_runs": lambda c, w, s: c.list_recurring_runs(
        experiment_id=w.experiment[s]),
    "get_recurring_run": lambda c, w, s: c.get_recurring_run(w.job[s]),
    "disable_job": lambda c, w, s: c.disable_job(w.job[s]),
    "enable_job": lambda c, w, s: c._job_api.enable_job(w.job[s]),
    "delete_job": lambda c, w, s: c.delete_job(w.job[s]),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_other_tenant_is_denied(name: str, kfp_home: Path, alice: kfp.Client,
                                bob: kfp.Client, world: AliceWorld) -> None:
    call = CALLS[name]
    call(alice, world, "spare")  # positive control: the owner may do exactly this
    before = observe(alice, world)
    denied(lambda: call(bob, world, "main"), sa_user("bob"), "alice")
    assert observe(alice, world) == before, f"bob's denied {name} changed alice's namespace"


def test_bob_pointing_his_context_at_alice_is_denied(kfp_home: Path, alice: kfp.Client,
                                                     bob: kfp.Client, world: AliceWorld) -> None:
    alice.set_user_namespace("alice")
    assert {e.name for e in alice.list_experiments().experiments} == {"main", "spare"}
    assert alice.list_runs().total_size == 2
    bob.set_user_namespace("alice")
    denied(lambda: bob.list_experiments(), sa_user("bob"), "alice")
    denied(lambda: bob.list_runs(), sa_user("bob"), "alice")
    denied(lambda: bob.create_experiment("sneaky"), sa_user("bob"), "alice")


def test_bob_works_in_his_own_namespace_and_alice_cannot_look(
        kfp_home: Path, alice: kfp.Client, bob: kfp.Client, world: AliceWorld) -> None:
    mine = bob.create_experiment("bobs", namespace="bob")
    run = bob.run_pipeline(mine.id, "bobs-run", pipeline_id=world.pipeline_id)
    assert [r.id for r in bob.list_runs(namespace="bob").runs] == [run.id]
    assert alice.list_runs(namespace="alice").total_size == 2  # her own view is unaffected
    denied(lambda: alice.list_runs(namespace="bob"), sa_user("alice"), "bob")
    denied(lambda: alice.get_run(run.id), sa_user("alice"), "bob")
    denied(lambda: alice.run_pipeline(mine.id, "into-bob", pipeline_id=world.pipeline_id),
           sa_user("alice"), "bob")

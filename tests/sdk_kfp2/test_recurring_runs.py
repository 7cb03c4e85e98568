"""Recurring runs through the kfp 2.17.3 SDK: cron and interval triggers on the emulator clock."""

from __future__ import annotations

from typing import Any

import kfp
import pytest
from kfp_server_api.exceptions import ApiException

from emulator.testing import OWNER_NAMESPACE, KfpTestEnv
from tests.sdk_kfp2.helpers import (
    FUTURE_WARNING_FILTER,
    Caller,
    Workspace,
    assert_sdk_error,
    denied,
)

pytestmark = [pytest.mark.kfp2, FUTURE_WARNING_FILTER]

EVERY_MINUTE = "0 * * * * *"  # KFP cron has a leading seconds field


def scheduled_runs(client: kfp.Client, experiment_id: str, recurring_run_id: str) -> list[Any]:
    runs = client.list_runs(experiment_id=experiment_id, page_size=100).runs or []
    return [r for r in runs if r.recurring_run_id == recurring_run_id]


def create_interval(client: kfp.Client, workspace: Workspace, name: str,
                    seconds: int) -> Any:
    return client.create_recurring_run(workspace.experiment_id, name, interval_second=seconds,
                                       pipeline_id=workspace.pipeline_id,
                                       version_id=workspace.version_id)


def test_cron_recurring_run_fires_as_the_clock_advances(kfp_env: KfpTestEnv, owner: kfp.Client,
                                                       workspace: Workspace) -> None:
    recurring = owner.create_recurring_run(workspace.experiment_id, "every-minute",
                                           cron_expression=EVERY_MINUTE,
                                           pipeline_id=workspace.pipeline_id,
                                           version_id=workspace.version_id)
    assert (recurring.status, recurring.mode, recurring.namespace) == \
        ("ENABLED", "ENABLE", OWNER_NAMESPACE)
    assert recurring.trigger.cron_schedule.cron == EVERY_MINUTE
    assert scheduled_runs(owner, workspace.experiment_id, recurring.recurring_run_id) == []

    kfp_env.advance(180)  # exactly three minute boundaries lie in any 180 s window
    runs = scheduled_runs(owner, workspace.experiment_id, recurring.recurring_run_id)
    assert len(runs) == 3
    assert {r.pipeline_version_reference.pipeline_version_id for r in runs} == \
        {workspace.version_id}
    assert all(r.state == "SUCCEEDED" for r in runs[:2])


def test_interval_recurring_run_fires_every_interval(kfp_env: KfpTestEnv, owner: kfp.Client,
                                                    workspace: Workspace) -> None:
    recurring = create_interval(owner, workspace, "every-two-minutes", 120)
    assert recurring.trigger.periodic_schedule.interval_second == "120"

    kfp_env.advance(119)
    assert scheduled_runs(owner, workspace.experiment_id, recurring.recurring_run_id) == []
    kfp_env.advance(1)
    assert len(scheduled_runs(owner, workspace.experiment_id, recurring.recurring_run_id)) == 1
    kfp_env.advance(120)
    assert len(scheduled_runs(owner, workspace.experiment_id, recurring.recurring_run_id)) == 2


def test_list_recurring_runs_by_experiment_and_namespace(owner: kfp.Client,
                                                         workspace: Workspace) -> None:
    other = owner.create_experiment("other", namespace=OWNER_NAMESPACE)
    hourly = owner.create_recurring_run(workspace.experiment_id, "hourly",
                                        cron_expression="0 0 * * * *",
                                        pipeline_id=workspace.pipeline_id,
                                        version_id=workspace.version_id)
    daily = owner.create_recurring_run(other.experiment_id, "daily", interval_second=86400,
                                       pipeline_id=workspace.pipeline_id,
                                       version_id=workspace.version_id)

    by_experiment = owner.list_recurring_runs(experiment_id=workspace.experiment_id)
    assert [r.recurring_run_id for r in by_experiment.recurring_runs] == \
        [hourly.recurring_run_id]
    by_namespace = owner.list_recurring_runs(namespace=OWNER_NAMESPACE)
    assert {r.recurring_run_id for r in by_namespace.recurring_runs} == \
        {hourly.recurring_run_id, daily.recurring_run_id}
    with pytest.raises(ApiException) as info:
        owner.list_recurring_runs()  # the SDK sends neither experiment nor namespace
    assert_sdk_error(info.value, 400, 3,
                     "a recurring run cannot have an empty namespace in multi-user mode")


def test_disable_stops_and_enable_resumes(kfp_env: KfpTestEnv, owner: kfp.Client,
                                          workspace: Workspace) -> None:
    recurring = create_interval(owner, workspace, "pausable", 60)
    kfp_env.advance(60)
    assert len(scheduled_runs(owner, workspace.experiment_id, recurring.recurring_run_id)) == 1

    owner.disable_recurring_run(recurring.recurring_run_id)
    assert owner.get_recurring_run(recurring.recurring_run_id).status == "DISABLED"
    kfp_env.advance(300)
    assert len(scheduled_runs(owner, workspace.experiment_id, recurring.recurring_run_id)) == 1

    owner.enable_recurring_run(recurring.recurring_run_id)
    assert owner.get_recurring_run(recurring.recurring_run_id).status == "ENABLED"
    kfp_env.advance(60)
    assert len(scheduled_runs(owner, workspace.experiment_id, recurring.recurring_run_id)) > 1


def test_archiving_the_experiment_disables_its_recurring_runs(owner: kfp.Client,
                                                              workspace: Workspace) -> None:
    recurring = create_interval(owner, workspace, "cascade", 3600)
    owner.archive_experiment(workspace.experiment_id)

    assert owner.get_recurring_run(recurring.recurring_run_id).status == "DISABLED"
    owner.unarchive_experiment(workspace.experiment_id)
    assert owner.get_recurring_run(recurring.recurring_run_id).status == "DISABLED"


def test_delete_recurring_run_stops_it(kfp_env: KfpTestEnv, owner: kfp.Client,
                                       workspace: Workspace) -> None:
    recurring = create_interval(owner, workspace, "deleted", 60)
    owner.delete_recurring_run(recurring.recurring_run_id)

    with pytest.raises(ApiException) as info:
        owner.get_recurring_run(recurring.recurring_run_id)
    assert_sdk_error(info.value, 404, 5)
    kfp_env.advance(600)
    assert scheduled_runs(owner, workspace.experiment_id, recurring.recurring_run_id) == []


# -- bob, twice: with his default-editor token and as bob@example.com via context.json ------


def test_intruder_cannot_create_or_list_alice_recurring_runs(owner: kfp.Client,
                                                             intruder: Caller,
                                                             workspace: Workspace) -> None:
    create_interval(owner, workspace, "alice-schedule", 3600)
    assert owner.list_recurring_runs(experiment_id=workspace.experiment_id).total_size == 1

    with denied(intruder, "create", "jobs"):
        intruder.client.create_recurring_run(workspace.experiment_id, "bob-schedule",
                                             cron_expression=EVERY_MINUTE,
                                             pipeline_id=workspace.pipeline_id,
                                             version_id=workspace.version_id)
    with denied(intruder, "list", "jobs"):
        intruder.client.list_recurring_runs(experiment_id=workspace.experiment_id)
    with denied(intruder, "list", "jobs"):
        intruder.client.list_recurring_runs(namespace=OWNER_NAMESPACE)
    assert owner.list_recurring_runs(namespace=OWNER_NAMESPACE).total_size == 1


def test_intruder_cannot_get_toggle_or_delete_alice_recurring_run(
        kfp_env: KfpTestEnv, owner: kfp.Client, intruder: Caller,
        workspace: Workspace) -> None:
    control = create_interval(owner, workspace, "control", 3600)
    target = create_interval(owner, workspace, "target", 60)
    assert owner.get_recurring_run(control.recurring_run_id).display_name == "control"
    owner.disable_recurring_run(control.recurring_run_id)
    owner.enable_recurring_run(control.recurring_run_id)
    owner.delete_recurring_run(control.recurring_run_id)

    with denied(intruder, "get", "jobs"):
        intruder.client.get_recurring_run(target.recurring_run_id)
    with denied(intruder, "disable", "jobs"):
        intruder.client.disable_recurring_run(target.recurring_run_id)
    with denied(intruder, "delete", "jobs"):
        intruder.client.delete_recurring_run(target.recurring_run_id)
    owner.disable_recurring_run(target.recurring_run_id)
    with denied(intruder, "enable", "jobs"):
        intruder.client.enable_recurring_run(target.recurring_run_id)

    assert owner.get_recurring_run(target.recurring_run_id).status == "DISABLED"
    kfp_env.advance(300)  # still disabled: bob's enable did not take
    assert scheduled_runs(owner, workspace.experiment_id, target.recurring_run_id) == []

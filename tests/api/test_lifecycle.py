"""Run lifecycles, archive cascades and recurring-run triggers on the emulator clock.

Spec sections 4.7 (archive / unarchive / delete / terminate / retry) and 7 (states), plus the
ScheduledWorkflow controller's trigger rules (``periodic_schedule.go``, ``cron_schedule.go``,
robfig/cron v1 ``Parse``: a leading seconds field, day-of-week optional).  Time only moves when a
test advances the emulator clock; nothing sleeps.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any

import pytest
import requests

from emulator.testing import KfpTestEnv, assert_error
from tests.support.api import SPEC, V1, V2, ok

NS = "alice"
EPOCH = "1970-01-01T00:00:00Z"
TERMINAL = {"SUCCEEDED", "FAILED", "SKIPPED", "CANCELED"}



def ts(seconds: float) -> str:
    return datetime.fromtimestamp(int(seconds), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_of(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


class Scenario:
    """The owner's session plus the emulator's clock and outcome controls."""

    def __init__(self, env: KfpTestEnv) -> None:
        self.env = env
        self.owner = env.as_owner()
        self.control = requests.Session()

    def now(self) -> float:
        return float(ok(self.control.get(f"{self.env.url}/_emulator"))["now"])

    def advance(self, seconds: float) -> None:
        ok(self.control.post(f"{self.env.url}/_emulator/clock:advance",
                             json={"seconds": seconds}))

    def align(self, modulo: int = 1, offset: int = 0) -> int:
        """Advance to the next instant t with t % modulo == offset; return t."""
        current = self.now()
        target = math.floor(current / modulo) * modulo + offset
        while target < current:
            target += modulo
        self.advance(target - current)
        return int(target)

    def outcome(self, run_id: str, outcome: str) -> requests.Response:
        return self.control.post(f"{self.env.url}/_emulator/runs/{run_id}/outcome",
                                 json={"outcome": outcome})

    def experiment(self, name: str = "exp") -> dict[str, Any]:
        return ok(self.owner.post(f"{V2}/experiments", json={"display_name": name,
                                                              "namespace": NS}))

    def run(self, experiment_id: str, name: str = "run") -> dict[str, Any]:
        return ok(self.owner.post(f"{V2}/runs", json={
            "display_name": name, "experiment_id": experiment_id, "pipeline_spec": SPEC}))

    def get_run(self, run_id: str) -> dict[str, Any]:
        return ok(self.owner.get(f"{V2}/runs/{run_id}"))

    def state(self, run_id: str) -> str:
        return str(self.get_run(run_id)["state"])

    def v1_status(self, run_id: str) -> str:
        return str(ok(self.owner.get(f"{V1}/runs/{run_id}"))["run"]["status"])

    def recurring(self, experiment_id: str, trigger: dict[str, Any], **extra: Any
                  ) -> dict[str, Any]:
        return ok(self.owner.post(f"{V2}/recurringruns", json={
            "display_name": extra.pop("name", "rr"), "experiment_id": experiment_id,
            "pipeline_spec": SPEC, "trigger": trigger, **extra}))

    def runs_of(self, experiment_id: str, recurring_run_id: str | None = None
                ) -> list[dict[str, Any]]:
        listed = ok(self.owner.get(f"{V2}/runs", params={
            "experiment_id": experiment_id, "page_size": 200, "sort_by": "created_at"}))
        runs = list(listed.get("runs", []))
        if recurring_run_id is not None:
            runs = [r for r in runs if r.get("recurring_run_id") == recurring_run_id]
        return runs

    def scheduled(self, experiment_id: str, recurring_run_id: str | None = None) -> list[int]:
        return sorted(epoch_of(r["scheduled_at"])
                      for r in self.runs_of(experiment_id, recurring_run_id))


@pytest.fixture
def s(kfp_env: KfpTestEnv) -> Scenario:
    return Scenario(kfp_env)


def periodic(interval: int, start: float | None = None, end: float | None = None
             ) -> dict[str, Any]:
    schedule: dict[str, Any] = {"interval_second": str(interval)}
    if start is not None:
        schedule["start_time"] = ts(start)
    if end is not None:
        schedule["end_time"] = ts(end)
    return {"periodic_schedule": schedule}


def cron(expression: str, start: float | None = None, end: float | None = None
         ) -> dict[str, Any]:
    schedule: dict[str, Any] = {"cron": expression}
    if start is not None:
        schedule["start_time"] = ts(start)
    if end is not None:
        schedule["end_time"] = ts(end)
    return {"cron_schedule": schedule}


# ---------------------------------------------------------------------------------------------
# A single run


def test_run_goes_pending_running_succeeded_on_the_clock(s: Scenario) -> None:
    t0 = s.align()
    exp = s.experiment()
    run = s.run(exp["experiment_id"])
    assert run["state"] == "PENDING"
    assert run["finished_at"] == EPOCH
    assert run["created_at"] == ts(t0)
    rid = run["run_id"]
    steps = [(0.5, "PENDING"), (0.5, "RUNNING"), (4.9, "RUNNING"), (0.1, "SUCCEEDED"),
             (100, "SUCCEEDED")]
    for seconds, expected in steps:
        s.advance(seconds)
        assert s.state(rid) == expected, (seconds, expected)
    final = s.get_run(rid)
    assert final["finished_at"] == ts(t0 + 6)
    assert [(h["state"], h["update_time"]) for h in final["state_history"]] == [
        ("PENDING", ts(t0)), ("RUNNING", ts(t0 + 1)), ("SUCCEEDED", ts(t0 + 6))]
    assert "error" not in final
    # Nothing happens without the clock: a frozen emulator keeps a run PENDING forever.
    other = s.run(exp["experiment_id"], "other")
    for _ in range(3):
        assert s.state(other["run_id"]) == "PENDING"


def test_v1_status_strings_follow_the_lifecycle(s: Scenario) -> None:
    s.align()
    exp = s.experiment()
    done = s.run(exp["experiment_id"], "done")["run_id"]
    cancelled = s.run(exp["experiment_id"], "cancelled")["run_id"]
    assert s.v1_status(done) == "Pending"
    s.advance(1)
    assert s.v1_status(done) == "Running"
    ok(s.owner.post(f"{V1}/runs/{cancelled}/terminate"))
    assert s.v1_status(cancelled) == "Terminating"
    s.advance(5)
    assert s.v1_status(done) == "Succeeded"
    assert s.state(cancelled) == "CANCELED"
    assert s.v1_status(cancelled) == "Failed"  # CANCELED maps to v1 "Failed" (spec 7)


def test_outcome_control_makes_a_run_fail(s: Scenario) -> None:
    t0 = s.align()
    exp = s.experiment()
    rid = s.run(exp["experiment_id"])["run_id"]
    ok(s.outcome(rid, "FAILED"))
    s.advance(5.5)
    assert s.state(rid) == "RUNNING"
    s.advance(0.5)
    failed = s.get_run(rid)
    assert failed["state"] == "FAILED"
    assert failed["finished_at"] == ts(t0 + 6)
    assert failed["error"]["message"]
    assert s.v1_status(rid) == "Failed"
    # The control validates its input.
    assert s.outcome("00000000-0000-4000-8000-000000000000", "FAILED").status_code == 404
    assert s.outcome(rid, "RUNNING").status_code == 400
    assert s.outcome(rid, "NOT_A_STATE").status_code == 400


@pytest.mark.parametrize("wait", [0, 2], ids=["pending", "running"])
def test_terminate_cancels_an_active_run(s: Scenario, wait: float) -> None:
    s.align()
    exp = s.experiment()
    rid = s.run(exp["experiment_id"])["run_id"]
    s.advance(wait)
    before = s.state(rid)
    assert before == ("PENDING" if wait == 0 else "RUNNING")
    ok(s.owner.post(f"{V2}/runs/{rid}:terminate"))
    assert s.state(rid) == "CANCELING"
    s.advance(30)
    cancelled = s.get_run(rid)
    assert cancelled["state"] == "CANCELED"
    assert cancelled["finished_at"] != EPOCH
    assert [h["state"] for h in cancelled["state_history"]][-2:] == ["CANCELING", "CANCELED"]
    assert "SUCCEEDED" not in [h["state"] for h in cancelled["state_history"]]


def test_terminate_of_an_inactive_run_is_400(s: Scenario) -> None:
    s.align()
    exp = s.experiment()
    runs = {name: s.run(exp["experiment_id"], name)["run_id"]
            for name in ("succeeded", "failed", "canceled")}
    ok(s.outcome(runs["failed"], "FAILED"))
    ok(s.owner.post(f"{V2}/runs/{runs['canceled']}:terminate"))
    s.advance(10)
    runs.update({name: s.run(exp["experiment_id"], name)["run_id"]
                 for name in ("canceling", "active")})
    ok(s.owner.post(f"{V2}/runs/{runs['canceling']}:terminate"))
    ok(s.owner.post(f"{V2}/runs/{runs['active']}:terminate"))  # control: an active run
    expected = {"succeeded": "SUCCEEDED", "failed": "FAILED", "canceled": "CANCELED",
                "canceling": "CANCELING"}
    for name, state in expected.items():
        rid = runs[name]
        assert s.state(rid) == state
        detail = f"Failed to terminate a run {rid}. Row not found"
        body = assert_error(s.owner.post(f"{V2}/runs/{rid}:terminate"), 400, 3, detail)
        assert body["message"].startswith("Failed to terminate a run: "), body
        body = assert_error(s.owner.post(f"{V1}/runs/{rid}/terminate"), 400, 3, detail)
        assert body["message"].startswith("Failed to terminate a v1beta1 run: "), body
        assert s.state(rid) == state


def test_retry_is_only_for_terminal_runs(s: Scenario) -> None:
    s.align()
    exp = s.experiment()
    pending = s.run(exp["experiment_id"], "pending")["run_id"]
    running = s.run(exp["experiment_id"], "running")["run_id"]
    canceling = s.run(exp["experiment_id"], "canceling")["run_id"]
    failed = s.run(exp["experiment_id"], "failed")["run_id"]
    ok(s.outcome(failed, "FAILED"))
    s.advance(1)
    pending = s.run(exp["experiment_id"], "pending")["run_id"]
    ok(s.owner.post(f"{V2}/runs/{canceling}:terminate"))
    assert [s.state(r) for r in (pending, running, canceling)] == [
        "PENDING", "RUNNING", "CANCELING"]
    for rid in (pending, running, canceling):
        state = s.state(rid)
        detail = f"Cannot claim run {rid} for retry: not in a terminal state"
        body = assert_error(s.owner.post(f"{V2}/runs/{rid}:retry"), 409, 10, detail)
        assert body["message"].startswith("Failed to retry a run: "), body
        assert_error(s.owner.post(f"{V1}/runs/{rid}/retry"), 409, 10, detail)
        assert s.state(rid) == state
    s.advance(5)
    assert s.state(failed) == "FAILED"
    ok(s.owner.post(f"{V2}/runs/{failed}:retry"))  # control: a terminal run may be retried


@pytest.mark.parametrize("how", ["failed", "canceled"])
def test_retried_run_starts_again_from_pending(s: Scenario, how: str) -> None:
    s.align()
    exp = s.experiment()
    rid = s.run(exp["experiment_id"])["run_id"]
    if how == "failed":
        ok(s.outcome(rid, "FAILED"))
    else:
        ok(s.owner.post(f"{V2}/runs/{rid}:terminate"))
    s.advance(10)
    assert s.state(rid) == how.upper()
    ok(s.outcome(rid, "SUCCEEDED"))
    ok(s.owner.post(f"{V2}/runs/{rid}:retry"))
    retried = s.get_run(rid)
    assert retried["state"] == "PENDING"
    assert retried["finished_at"] == EPOCH
    s.advance(1)
    assert s.state(rid) == "RUNNING"
    s.advance(5)
    done = s.get_run(rid)
    assert done["state"] == "SUCCEEDED"
    assert [h["state"] for h in done["state_history"]][-3:] == ["PENDING", "RUNNING",
                                                               "SUCCEEDED"]
    # Retrying keeps the run's identity.
    assert done["run_id"] == rid and done["display_name"] == "run"


# ---------------------------------------------------------------------------------------------
# Archive, unarchive, delete


def test_archive_experiment_archives_runs_and_disables_recurring_runs(s: Scenario) -> None:
    s.align()
    exp, other = s.experiment("archived"), s.experiment("untouched")
    eid = exp["experiment_id"]
    finished = s.run(eid, "finished")["run_id"]
    s.advance(10)
    active = s.run(eid, "active")["run_id"]
    enabled = s.recurring(eid, periodic(60), name="enabled")["recurring_run_id"]
    disabled = s.recurring(eid, periodic(60), name="disabled", mode="DISABLE")[
        "recurring_run_id"]
    bystander = s.run(other["experiment_id"], "bystander")["run_id"]
    other_rr = s.recurring(other["experiment_id"], periodic(60), name="other")[
        "recurring_run_id"]

    ok(s.owner.post(f"{V2}/experiments/{eid}:archive"))
    assert ok(s.owner.get(f"{V2}/experiments/{eid}"))["storage_state"] == "ARCHIVED"
    for rid in (finished, active):
        assert s.get_run(rid)["storage_state"] == "ARCHIVED"
    for rr in (enabled, disabled):
        got = ok(s.owner.get(f"{V2}/recurringruns/{rr}"))
        assert (got["status"], got["mode"]) == ("DISABLED", "DISABLE")
    assert s.get_run(bystander)["storage_state"] == "AVAILABLE"
    assert ok(s.owner.get(f"{V2}/recurringruns/{other_rr}"))["status"] == "ENABLED"
    v1 = ok(s.owner.get(f"{V1}/runs/{active}"))["run"]
    assert v1["storage_state"] == "STORAGESTATE_ARCHIVED"

    # Archiving does not stop a run, but no recurring run of the experiment fires any more.
    s.advance(200)
    assert s.state(active) == "SUCCEEDED"
    assert s.scheduled(eid, enabled) == []
    assert len(s.scheduled(other["experiment_id"], other_rr)) == 3  # control: still firing


def test_unarchive_experiment_restores_only_the_experiment(s: Scenario) -> None:
    exp = s.experiment()
    eid = exp["experiment_id"]
    rid = s.run(eid)["run_id"]
    rr = s.recurring(eid, periodic(60))["recurring_run_id"]
    ok(s.owner.post(f"{V2}/experiments/{eid}:archive"))
    ok(s.owner.post(f"{V2}/experiments/{eid}:unarchive"))
    assert ok(s.owner.get(f"{V2}/experiments/{eid}"))["storage_state"] == "AVAILABLE"
    assert s.get_run(rid)["storage_state"] == "ARCHIVED"
    assert ok(s.owner.get(f"{V2}/recurringruns/{rr}"))["status"] == "DISABLED"
    s.advance(200)
    assert s.scheduled(eid, rr) == []


def test_unarchiving_a_run_of_an_archived_experiment_is_a_failed_precondition(
        s: Scenario) -> None:
    exp = s.experiment()
    eid = exp["experiment_id"]
    rid = s.run(eid)["run_id"]
    # Control: in an available experiment a run archives and unarchives freely (idempotently).
    for action in ("archive", "archive", "unarchive", "unarchive"):
        ok(s.owner.post(f"{V2}/runs/{rid}:{action}"))
    assert s.get_run(rid)["storage_state"] == "AVAILABLE"

    ok(s.owner.post(f"{V2}/experiments/{eid}:archive"))
    detail = f"Failed to unarchive run {rid} as experiment {eid} must be un-archived first"
    body = assert_error(s.owner.post(f"{V2}/runs/{rid}:unarchive"), 400, 9, detail)
    assert body["message"].startswith("Failed to unarchive a run: "), body
    body = assert_error(s.owner.post(f"{V1}/runs/{rid}:unarchive"), 400, 9, detail)
    assert body["message"].startswith("Failed to unarchive a v1beta1 run: "), body
    assert s.get_run(rid)["storage_state"] == "ARCHIVED"

    ok(s.owner.post(f"{V2}/experiments/{eid}:unarchive"))
    ok(s.owner.post(f"{V2}/runs/{rid}:unarchive"))
    assert s.get_run(rid)["storage_state"] == "AVAILABLE"


def test_runs_can_be_created_in_an_archived_experiment(s: Scenario) -> None:
    exp = s.experiment()
    ok(s.owner.post(f"{V2}/experiments/{exp['experiment_id']}:archive"))
    run = s.run(exp["experiment_id"])
    assert run["storage_state"] == "AVAILABLE"
    assert run["state"] == "PENDING"


def test_deleting_an_experiment_leaves_its_runs_and_recurring_runs(s: Scenario) -> None:
    s.align()
    exp = s.experiment()
    eid = exp["experiment_id"]
    runs = [s.run(eid, f"r{i}")["run_id"] for i in range(2)]
    rr = s.recurring(eid, periodic(3600))["recurring_run_id"]
    ok(s.owner.delete(f"{V2}/experiments/{eid}"))
    assert_error(s.owner.get(f"{V2}/experiments/{eid}"), 404, 5, f"Experiment {eid} not found")
    for rid in runs:
        got = s.get_run(rid)
        assert got["experiment_id"] == eid  # dangling
    listed = ok(s.owner.get(f"{V2}/runs", params={"namespace": NS}))
    assert sorted(r["run_id"] for r in listed["runs"]) == sorted(runs)
    assert ok(s.owner.get(f"{V2}/recurringruns/{rr}"))["experiment_id"] == eid
    # Runs of the deleted experiment still progress and can still be terminated, deleted.
    s.advance(10)
    assert s.state(runs[0]) == "SUCCEEDED"
    ok(s.owner.delete(f"{V2}/runs/{runs[1]}"))
    assert_error(s.owner.get(f"{V2}/runs/{runs[1]}"), 404, 5)
    # Listing by the deleted experiment is a 404 for the experiment.
    assert_error(s.owner.get(f"{V2}/runs", params={"experiment_id": eid}), 404, 5,
                 f"Experiment {eid} not found")


# ---------------------------------------------------------------------------------------------
# Recurring runs


def test_periodic_trigger_fires_on_each_interval(s: Scenario) -> None:
    t0 = s.align()
    exp = s.experiment()
    eid = exp["experiment_id"]
    rr = s.recurring(eid, periodic(60))
    assert (rr["status"], rr["mode"]) == ("ENABLED", "ENABLE")
    assert rr["created_at"] == ts(t0)
    rid = rr["recurring_run_id"]
    s.advance(59)
    assert s.scheduled(eid, rid) == []
    s.advance(1)
    assert s.scheduled(eid, rid) == [t0 + 60]
    s.advance(120)
    assert s.scheduled(eid, rid) == [t0 + 60, t0 + 120, t0 + 180]
    s.advance(6)
    runs = s.runs_of(eid, rid)
    assert {r["state"] for r in runs} == {"SUCCEEDED"}
    assert {r["experiment_id"] for r in runs} == {eid}
    # The scheduled runs live in the namespace of the recurring run.
    in_namespace = ok(s.owner.get(f"{V2}/runs", params={"namespace": NS}))
    assert {r["run_id"] for r in runs} <= {r["run_id"] for r in in_namespace["runs"]}
    assert_denied_listing(s, eid)


def assert_denied_listing(s: Scenario, experiment_id: str) -> None:
    """The scheduled runs are as private as hand-made ones."""
    response = s.env.as_stranger().get(f"{V2}/runs", params={"experiment_id": experiment_id})
    assert response.status_code == 403, response.text


def test_cron_trigger_with_a_seconds_field(s: Scenario) -> None:
    t0 = s.align(60, 30)  # half past a minute
    exp = s.experiment()
    eid = exp["experiment_id"]
    every_minute = s.recurring(eid, cron("0 * * * * *"), name="minutely")["recurring_run_id"]
    every_20s = s.recurring(eid, cron("*/20 * * * * *"), name="20s")["recurring_run_id"]
    s.advance(29)
    assert s.scheduled(eid, every_minute) == []
    assert s.scheduled(eid, every_20s) == [t0 + 10]
    s.advance(1)
    assert s.scheduled(eid, every_minute) == [t0 + 30]
    s.advance(150)
    assert s.scheduled(eid, every_minute) == [t0 + 30, t0 + 90, t0 + 150]
    assert s.scheduled(eid, every_20s) == list(range(t0 + 10, t0 + 181, 20))


def test_five_field_cron_starts_with_seconds(s: Scenario) -> None:
    """robfig/cron v1 ``Parse`` (used by KFP) reads 5 fields as sec min hour dom month."""
    t0 = s.align(60)
    exp = s.experiment()
    eid = exp["experiment_id"]
    rid = s.recurring(eid, cron("*/30 * * * *"))["recurring_run_id"]
    s.advance(90)
    assert s.scheduled(eid, rid) == [t0 + 30, t0 + 60, t0 + 90]


def test_invalid_cron_is_rejected(s: Scenario) -> None:
    exp = s.experiment()
    response = s.owner.post(f"{V2}/recurringruns", json={
        "display_name": "bad", "experiment_id": exp["experiment_id"], "pipeline_spec": SPEC,
        "trigger": cron("1 * *")})
    body = assert_error(response, 400, 3)
    assert body["details"][0]["message"].startswith(
        "Schedule cron is not a supported format(https://godoc.org/github.com/robfig/cron). "
        "Error: "), body
    assert s.scheduled(exp["experiment_id"]) == []


def test_periodic_window_honours_start_and_end(s: Scenario) -> None:
    t0 = s.align()
    exp = s.experiment()
    eid = exp["experiment_id"]
    rid = s.recurring(eid, periodic(10, start=t0 + 100, end=t0 + 140))["recurring_run_id"]
    s.advance(109)
    assert s.scheduled(eid, rid) == []
    s.advance(300)
    # The controller counts from the start time: the first run is one interval after it.
    assert s.scheduled(eid, rid) == [t0 + 110, t0 + 120, t0 + 130, t0 + 140]


def test_cron_window_honours_start_and_end(s: Scenario) -> None:
    t0 = s.align(60)
    exp = s.experiment()
    eid = exp["experiment_id"]
    rid = s.recurring(eid, cron("*/10 * * * * *", start=t0 + 100, end=t0 + 140))[
        "recurring_run_id"]
    s.advance(300)
    # The first match strictly after the start time, the last at or before the end time.
    assert s.scheduled(eid, rid) == [t0 + 110, t0 + 120, t0 + 130, t0 + 140]


def test_past_start_time_is_caught_up_unless_no_catchup(s: Scenario) -> None:
    t0 = s.align()
    exp = s.experiment()
    eid = exp["experiment_id"]
    catchup = s.recurring(eid, periodic(10, start=t0 - 35), name="catchup",
                          max_concurrency="10")["recurring_run_id"]
    skip = s.recurring(eid, periodic(10, start=t0 - 35), name="skip", max_concurrency="10",
                       no_catchup=True)["recurring_run_id"]
    s.advance(0)
    assert s.scheduled(eid, catchup) == [t0 - 25, t0 - 15, t0 - 5]
    assert s.scheduled(eid, skip) == [t0]
    s.advance(10)
    assert s.scheduled(eid, catchup) == [t0 - 25, t0 - 15, t0 - 5, t0 + 5]
    assert s.scheduled(eid, skip) == [t0, t0 + 10]


def test_resumed_recurring_run_catches_up_unless_no_catchup(s: Scenario) -> None:
    """The SDK's documented case: pause, resume, and backfill each missed interval or not."""
    t0 = s.align()
    exp = s.experiment()
    eid = exp["experiment_id"]
    ids = {}
    for name, no_catchup in (("catchup", False), ("skip", True)):
        ids[name] = s.recurring(eid, periodic(60), name=name, max_concurrency="10",
                                no_catchup=no_catchup)["recurring_run_id"]
    s.advance(61)
    for rid in ids.values():
        assert s.scheduled(eid, rid) == [t0 + 60]
        ok(s.owner.post(f"{V2}/recurringruns/{rid}:disable"))
        assert ok(s.owner.get(f"{V2}/recurringruns/{rid}"))["status"] == "DISABLED"
    s.advance(300)  # now t0 + 361
    for rid in ids.values():
        assert s.scheduled(eid, rid) == [t0 + 60]
        ok(s.owner.post(f"{V2}/recurringruns/{rid}:enable"))
    s.advance(0)
    assert s.scheduled(eid, ids["catchup"]) == [t0 + 60, t0 + 120, t0 + 180, t0 + 240,
                                                t0 + 300, t0 + 360]
    # Without catch-up a periodic schedule runs once, now, and counts on from there.
    assert s.scheduled(eid, ids["skip"]) == [t0 + 60, t0 + 361]
    s.advance(60)
    assert s.scheduled(eid, ids["skip"]) == [t0 + 60, t0 + 361, t0 + 421]
    assert s.scheduled(eid, ids["catchup"])[-1] == t0 + 420


def test_cron_without_catchup_runs_only_the_latest_missed_slot(s: Scenario) -> None:
    t0 = s.align(60)
    exp = s.experiment()
    eid = exp["experiment_id"]
    rid = s.recurring(eid, cron("0 * * * * *"), max_concurrency="10", no_catchup=True)[
        "recurring_run_id"]
    ok(s.owner.post(f"{V2}/recurringruns/{rid}:disable"))
    s.advance(330)
    ok(s.owner.post(f"{V2}/recurringruns/{rid}:enable"))
    s.advance(0)
    assert s.scheduled(eid, rid) == [t0 + 300]
    s.advance(60)
    assert s.scheduled(eid, rid) == [t0 + 300, t0 + 360]


@pytest.mark.parametrize("limit", [1, 3])
def test_max_concurrency_is_respected(s: Scenario, limit: int) -> None:
    t0 = s.align()
    exp = s.experiment()
    eid = exp["experiment_id"]
    # A run lasts 6 s (1 s pending + 5 s running); a slot comes every second.
    rid = s.recurring(eid, periodic(1), max_concurrency=str(limit))["recurring_run_id"]
    peak = 0
    for _ in range(40):
        s.advance(1)
        runs = s.runs_of(eid, rid)
        active = sum(1 for r in runs if r["state"] not in TERMINAL)
        assert active <= limit, runs
        peak = max(peak, active)
    assert peak == limit
    runs = s.runs_of(eid, rid)
    # Catch-up keeps the schedule: every slot gets a run, in order, only later than planned.
    scheduled = sorted(epoch_of(r["scheduled_at"]) for r in runs)
    assert scheduled == list(range(t0 + 1, t0 + len(runs) + 1))
    assert len(runs) < 40  # 40 slots passed; the limit held the backlog back
    assert any(epoch_of(r["created_at"]) > epoch_of(r["scheduled_at"]) for r in runs)


def test_disabled_recurring_run_creates_nothing(s: Scenario) -> None:
    t0 = s.align()
    exp = s.experiment()
    eid = exp["experiment_id"]
    rr = s.recurring(eid, periodic(60), mode="DISABLE")
    assert (rr["status"], rr["mode"]) == ("DISABLED", "DISABLE")
    control = s.recurring(eid, periodic(60), name="control")["recurring_run_id"]
    s.advance(600)
    assert s.scheduled(eid, rr["recurring_run_id"]) == []
    assert len(s.scheduled(eid, control)) == 10
    # Enabled at last, it starts with the first missed slot (catch-up, one at a time).
    ok(s.owner.post(f"{V2}/recurringruns/{rr['recurring_run_id']}:enable"))
    s.advance(0)
    assert s.scheduled(eid, rr["recurring_run_id"]) == [t0 + 60]


def test_deleted_recurring_run_stops_firing(s: Scenario) -> None:
    s.align()
    exp = s.experiment()
    eid = exp["experiment_id"]
    rid = s.recurring(eid, periodic(60))["recurring_run_id"]
    s.advance(60)
    assert len(s.scheduled(eid, rid)) == 1
    ok(s.owner.delete(f"{V2}/recurringruns/{rid}"))
    s.advance(600)
    assert len(s.scheduled(eid, rid)) == 1


def v1_job(s: Scenario, experiment_id: str, trigger: dict[str, Any], enabled: bool = True,
           **extra: Any) -> dict[str, Any]:
    return ok(s.owner.post(f"{V1}/jobs", json={
        "name": extra.pop("name", "job"), "enabled": enabled,
        "resource_references": [{"key": {"type": "EXPERIMENT", "id": experiment_id},
                                 "relationship": "OWNER"}],
        "pipeline_spec": {"pipeline_manifest": json.dumps(SPEC)},
        "trigger": trigger, **extra}))


def test_v1_jobs_trigger_runs_the_same_way(s: Scenario) -> None:
    t0 = s.align(60)
    exp = s.experiment()
    eid = exp["experiment_id"]
    job = v1_job(s, eid, cron("0 * * * * *"))
    assert (job["status"], job["mode"], job["enabled"]) == ("Enabled", "ENABLED", True)
    idle = v1_job(s, eid, periodic(60), enabled=False, name="idle")
    assert (idle["status"], idle["mode"]) == ("Disabled", "DISABLED")
    s.advance(120)
    assert s.scheduled(eid, job["id"]) == [t0 + 60, t0 + 120]
    assert s.scheduled(eid, idle["id"]) == []
    listed = ok(s.owner.get(f"{V1}/runs", params={
        "resource_reference_key.type": "EXPERIMENT", "resource_reference_key.id": eid}))
    for run in listed["runs"]:
        jobs = [r["key"]["id"] for r in run["resource_references"] if r["key"]["type"] == "JOB"]
        assert jobs == [job["id"]]
    ok(s.owner.post(f"{V1}/jobs/{job['id']}/disable"))
    assert ok(s.owner.get(f"{V1}/jobs/{job['id']}"))["status"] == "Disabled"
    s.advance(120)
    assert s.scheduled(eid, job["id"]) == [t0 + 60, t0 + 120]
    ok(s.owner.post(f"{V1}/jobs/{idle['id']}/enable"))
    s.advance(0)
    assert s.scheduled(eid, idle["id"]) == [t0 + 60]
    window = v1_job(s, eid, periodic(10, start=t0 + 300, end=t0 + 320), name="window",
                    max_concurrency="5")
    s.advance(200)
    assert s.scheduled(eid, window["id"]) == [t0 + 310, t0 + 320]
    ok(s.owner.delete(f"{V1}/jobs/{job['id']}"))
    assert_error(s.owner.get(f"{V1}/jobs/{job['id']}"), 404, 5)


# ---------------------------------------------------------------------------------------------
# Export, reset, import


def test_state_export_reset_import_round_trip(s: Scenario) -> None:
    t0 = s.align()
    exp = s.experiment()
    eid = exp["experiment_id"]
    succeeded = s.run(eid, "succeeded")["run_id"]
    failing = s.run(eid, "failing")["run_id"]
    ok(s.outcome(failing, "FAILED"))
    s.advance(10)
    running = s.run(eid, "running")["run_id"]
    s.advance(2)
    pending = s.run(eid, "pending")["run_id"]
    rr = s.recurring(eid, periodic(60))["recurring_run_id"]
    archived = s.experiment("archived")
    ok(s.owner.post(f"{V2}/experiments/{archived['experiment_id']}:archive"))
    pipeline = ok(s.owner.post(f"{V2}/pipelines", json={"name": "p", "namespace": NS}))
    with_custom_rbac = requests.post(f"{s.env.url}/_emulator/profiles/{NS}/contributors",
                                     json={"email": "dora@example.com", "role": "view"})
    ok(with_custom_rbac)

    before = {rid: s.get_run(rid) for rid in (succeeded, failing, running, pending)}
    assert [before[r]["state"] for r in (succeeded, failing, running, pending)] == [
        "SUCCEEDED", "FAILED", "RUNNING", "PENDING"]
    snapshot = ok(s.control.get(f"{s.env.url}/_emulator/state"))
    json.dumps(snapshot)  # plain JSON

    ok(s.control.post(f"{s.env.url}/_emulator/reset"))
    assert_error(s.owner.get(f"{V2}/experiments/{eid}"), 404, 5)
    assert_error(s.owner.get(f"{V2}/runs/{running}"), 404, 5)
    assert s.env.as_user("dora@example.com").get(
        f"{V2}/experiments", params={"namespace": NS}).status_code == 403

    ok(s.control.put(f"{s.env.url}/_emulator/state", json=snapshot))
    for rid, run in before.items():
        assert s.get_run(rid) == run
    assert ok(s.owner.get(f"{V2}/experiments/{eid}"))["display_name"] == "exp"
    assert ok(s.owner.get(f"{V2}/experiments/{archived['experiment_id']}"))[
        "storage_state"] == "ARCHIVED"
    assert ok(s.owner.get(f"{V2}/pipelines/{pipeline['pipeline_id']}"))["name"] == "p"
    assert ok(s.owner.get(f"{V2}/recurringruns/{rr}"))["status"] == "ENABLED"
    # RBAC came back too: the viewer added before the export can read again.
    ok(s.env.as_user("dora@example.com").get(f"{V2}/experiments", params={"namespace": NS}))

    # Time goes on: active runs progress and the recurring run fires on its schedule.
    s.advance(6)
    assert s.state(running) == "SUCCEEDED"
    assert s.state(pending) == "SUCCEEDED"
    assert s.state(failing) == "FAILED"
    created = epoch_of(ok(s.owner.get(f"{V2}/recurringruns/{rr}"))["created_at"])
    assert created == t0 + 12
    s.advance(60)
    assert s.scheduled(eid, rr) == [t0 + 72]


def test_importing_garbage_is_rejected_and_changes_nothing(s: Scenario) -> None:
    exp = s.experiment()
    for payload in ({}, {"format": 999}, {"format": 1, "cluster": {}}):
        response = s.control.put(f"{s.env.url}/_emulator/state", json=payload)
        assert response.status_code == 400, response.text
    ok(s.owner.get(f"{V2}/experiments/{exp['experiment_id']}"))

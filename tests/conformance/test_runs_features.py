"""The runs, recurring-runs and namespace-input features: green against the emulator in both
full modes, not supported on a standalone one, failing against emulators whose run or recurring
run authorization is broken, and their Then steps refuse wrong answers."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.changes import recurring_change, run_change
from emulator.kfp import recurring as recurring_module
from emulator.kfp import runs as runs_module
from emulator.kfp.state import KfpState
from tests.support.feature_runs import failed, outcomes

# Every scenario passing in both full modes is test_feature_runs.py's (the whole suite).
OURS = ("runs.feature", "recurring_runs.feature", "namespace_input.feature")


def test_a_standalone_target_supports_none_of_them(pytester: pytest.Pytester) -> None:
    found = outcomes(pytester, OURS, "--kfp-mode", "standalone-inside")
    assert found and set(found.values()) == {"not supported"}, found


# -- one operation without authorization (the emulator's fault switch) ---------------------------

UNGUARDED = [
    # (operation, a scenario that must fail, what every failing scenario of it is about)
    ("RunService_GetRun",
     "test_actor_may_not_read_alices_runs[bob-is denied]", "read_alices_runs"),
    ("RunService_ListRuns",
     "decides_where_what_are_listed[runs-", "[runs-"),
    ("RunService_CreateRun",
     "test_actor_may_not_start_a_run_in_bobs_experiment[alice]", "may_not_start_a_run"),
    ("RunService_CreateRunV1",
     "test_bob_may_not_start_a_v1beta1_run_in_alices_experiment", "v1beta1_run"),
    ("RunService_TerminateRun",
     "[bob's service account-terminate-r1-is denied]", "-terminate-"),
    ("RunService_RetryRun",
     "test_actor_may_not_retry_alices_finished_run[victor-is denied]", "may_not_retry"),
    ("RunService_UnarchiveRun", "[rita-unarchive-old-is denied]", "-unarchive-"),
    ("RecurringRunService_DisableRecurringRun",
     "[bob-disable-daily-is denied]", "-disable-"),
    ("RecurringRunService_CreateRecurringRun",
     "may_not_schedule_a_recurring_run_in_alices_experiment[anonymous-is unauthenticated]",
     "may_not_schedule_a_recurring_run"),
]


def test_unguarded_operations_fail_their_scenarios(pytester: pytest.Pytester) -> None:
    """One run with several operations unguarded at once (``--kfp-unguard`` repeats): each
    fails the scenarios about it, and nothing else fails."""
    unguard = [arg for operation, *_ in UNGUARDED for arg in ("--kfp-unguard", operation)]
    found = outcomes(pytester, OURS, "--kfp-mode", "full-inside", *unguard)
    broken = failed(found)
    for operation, must_fail, _ in UNGUARDED:
        assert any(must_fail in node for node in broken), (operation, broken)
    assert all(any(about in node for *_, about in UNGUARDED) for node in broken), broken
    assert "pass" in found.values()


# -- other faults: the scope of a list, the namespace of a create -------------------------------


def test_a_list_scoped_by_its_namespace_parameter_fails(pytester: pytest.Pytester,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that authorizes a run or recurring run list in the ``namespace`` parameter when
    ``experiment_id`` is given too (spec 3.3: the experiment's namespace decides)."""
    original = runs_module.list_namespace

    def parameter_first(state: KfpState, experiment_id: str, namespace: str) -> str:
        return namespace or original(state, experiment_id, namespace)

    monkeypatch.setattr(runs_module, "list_namespace", parameter_first)
    monkeypatch.setattr(recurring_module, "list_namespace", parameter_first)
    found = outcomes(pytester, ("namespace_input.feature",), "--kfp-mode", "full-inside")
    broken = failed(found)
    assert len(broken) == 2 and all("decides_where_what_are_listed" in n for n in broken), broken


def test_a_create_that_ignores_the_namespace_reference_fails(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that does not compare a v1 NAMESPACE reference (or a v2 recurring run's
    namespace) with the experiment's, so bob's reference to his own namespace gets him to
    the authorization of alice's namespace instead of the 400."""
    original = runs_module.RunService.experiment_for_create

    def unchecked(self: runs_module.RunService, experiment_id: str, namespace: str) -> Any:
        return original(self, experiment_id, "")

    monkeypatch.setattr(runs_module.RunService, "experiment_for_create", unchecked)
    found = outcomes(pytester, ("runs.feature", "recurring_runs.feature"),
                     "--kfp-mode", "full-inside")
    broken = failed(found)
    assert any("namespace_reference_must_name" in node for node in broken), broken
    assert any("whatever_namespace_he_names" in node for node in broken), broken
    assert any("namespace_must_be_its_experiments_namespace" in node for node in broken), broken


# -- the Then steps refuse wrong answers --------------------------------------------------------

CHECKS = """\
@core @runs @requires-multiuser
Feature: The run steps' own checks
  Background:
    Given alice created an experiment "plans" in alice
    And alice created a run "r1" in the experiment "plans"
    And alice created a disabled recurring run "paused" in the experiment "plans"

  Scenario: A run the Givens did not make is seen
    When alice creates a run "extra" in the experiment "plans"
    Then no run was created in alice

  Scenario: A recurring run the Givens did not make is seen
    When alice creates a recurring run "extra" in the experiment "plans"
    Then no recurring run was created in alice

  Scenario: A terminated run is not unchanged
    When alice terminates the run "r1"
    Then the run "r1" is unchanged

  Scenario: A retried run is not unchanged
    Given the run "r1" has finished
    When alice retries the run "r1"
    Then the run "r1" is unchanged

  Scenario: An archived run is not unchanged
    When alice archives the run "r1"
    Then the run "r1" is unchanged

  Scenario: An enabled recurring run is not unchanged
    When alice enables the recurring run "paused"
    Then the recurring run "paused" is unchanged

  Scenario: A list with a run too many
    When alice lists runs in alice
    Then the listed runs are exactly nothing

  Scenario: A run is not in bob's namespace
    Then the run "r1" belongs to bob

  Scenario: A recurring run is not in bob's namespace
    Then the recurring run "paused" belongs to bob

  Scenario: A refusal about another namespace
    When bob lists runs in alice
    Then the refusal names the namespace of bob

  Scenario: A pending run is not started again
    When alice gets the run "r1"
    Then the run "r1" started again

  Scenario: A pending run is not being canceled
    Then the run "r1" is being canceled
"""


def test_the_then_steps_fail_on_wrong_answers(pytester: pytest.Pytester) -> None:
    checks = pytester.path / "checks.feature"
    checks.write_text(CHECKS)
    found = outcomes(pytester, (str(checks),), "--kfp-mode", "full-inside")
    assert len(found) == CHECKS.count("Scenario:")
    assert set(found.values()) == {"fail"}, found


def view(state: str, history: list[str], **fields: Any) -> dict[str, Any]:
    return {"run_id": "r", "storage_state": "AVAILABLE", "state": state,
            "state_history": [{"state": s} for s in history], **fields}


@pytest.mark.parametrize(("before", "now", "changed"), [
    (view("PENDING", ["PENDING"]), view("RUNNING", ["PENDING", "RUNNING"]), False),
    (view("PENDING", ["PENDING"]),
     view("SUCCEEDED", ["PENDING", "RUNNING", "SUCCEEDED"]), False),
    (view("CANCELING", ["PENDING", "CANCELING"]),
     view("CANCELED", ["PENDING", "CANCELING", "CANCELED"]), False),
    (view("PENDING", ["PENDING"]), view("CANCELING", ["PENDING", "CANCELING"]), True),
    (view("RUNNING", ["PENDING", "RUNNING"]),
     view("CANCELED", ["PENDING", "RUNNING", "CANCELING", "CANCELED"]), True),
    (view("SUCCEEDED", ["PENDING", "SUCCEEDED"]),
     view("PENDING", ["PENDING", "SUCCEEDED", "PENDING"]), True),
    (view("FAILED", ["FAILED"]), view("FAILED", ["FAILED", "PENDING", "RUNNING", "FAILED"]),
     True),
    (view("PENDING", ["PENDING"]), view("PENDING", ["PENDING"], storage_state="ARCHIVED"),
     True),
])
def test_a_run_change_is_what_only_a_request_does(before: dict[str, Any], now: dict[str, Any],
                                                  changed: bool) -> None:
    assert (run_change(before, now) is not None) == changed


def test_a_recurring_run_change_counts_its_status() -> None:
    before = {"recurring_run_id": "j", "mode": "DISABLE", "status": "DISABLED"}
    assert recurring_change(before, dict(before)) is None
    assert recurring_change(before, {**before, "status": "ENABLED"}) is not None
    assert recurring_change(before, {**before, "mode": "ENABLE"}) is not None

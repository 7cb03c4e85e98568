"""The outcome model: which exception, in which step, ends a scenario how."""

from __future__ import annotations

import pytest

from conformance.outcomes import NotSupported, Outcome, classify, combine

FEATURE = """\
Feature: outcomes
  Scenario: all good
    Given the scene is set
    Then it holds

  Scenario: the product is wrong
    Given the scene is set
    Then it does not hold

  Scenario: the scene cannot be set
    Given the scene cannot be set
    Then it holds

  Scenario: the harness breaks in a Then
    Given the scene is set
    Then the harness breaks

  Scenario: the target lacks a feature
    Given the target lacks a feature

  @limitations
  Scenario: a limitation still there
    Given the scene is set
    Then it holds

  @limitations
  Scenario: a limitation lifted
    Given the scene is set
    Then it does not hold
"""

STEPS = """\
from pytest_bdd import given, scenarios, then

from conformance.outcomes import NotSupported


@given("the scene is set")
def _(world):
    assert world.cast.namespace("alice") == "alice"


@given("the scene cannot be set")
def _(world):
    raise AssertionError("the owner could not create the experiment")


@given("the target lacks a feature")
def _(world):
    raise NotSupported("no data plane")


@then("it holds")
def _(world):
    assert True


@then("it does not hold")
def _(world):
    assert False, "isolation violated"


@then("the harness breaks")
def _(world):
    raise ConnectionError("connection refused")


scenarios("outcomes.feature")
"""


def test_each_way_a_scenario_ends(pytester: pytest.Pytester) -> None:
    pytester.makefile(".feature", outcomes=FEATURE)
    pytester.makepyfile(test_outcome_scenarios=STEPS)
    recorder = pytester.inline_run("-p", "no:cacheprovider")
    found = {report.nodeid.split("::")[-1]: report.kfp_outcome
             for report in recorder.getreports("pytest_runtest_logreport")
             if hasattr(report, "kfp_outcome")}
    assert found == {
        "test_all_good": "pass",
        "test_the_product_is_wrong": "fail",
        "test_the_scene_cannot_be_set": "error",
        "test_the_harness_breaks_in_a_then": "error",
        "test_the_target_lacks_a_feature": "not supported",
        "test_a_limitation_still_there": "limitation present",
        "test_a_limitation_lifted": "limitation lifted",
    }
    passed, skipped, failed = recorder.listoutcomes()
    assert (len(passed), len(skipped), len(failed)) == (3, 1, 3)  # lifted is no failure


def test_a_session_without_its_fixtures_opens_no_target(pytester: pytest.Pytester,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # A cluster target without a target file fails as soon as anything opens it.
    monkeypatch.setenv("KFP_ISOLATION_TARGET", "cluster")
    pytester.makepyfile("def test_plain():\n    assert 1 + 1 == 2\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "kfp-isolation:" not in result.stdout.str()


def test_phases_combine() -> None:
    assert classify(phase="call", exception=None, step_type=None,
                    limitation=False) is Outcome.PASS
    assert classify(phase="setup", exception=AssertionError(), step_type="then",
                    limitation=False) is Outcome.ERROR
    assert classify(phase="call", exception=NotSupported("x"), step_type="given",
                    limitation=True) is Outcome.NOT_SUPPORTED
    assert combine(Outcome.PASS, Outcome.FAIL) is Outcome.FAIL
    assert combine(Outcome.LIMITATION_PRESENT, Outcome.PASS) is Outcome.LIMITATION_PRESENT
    assert combine(Outcome.PASS, Outcome.ERROR) is Outcome.ERROR
    assert combine(Outcome.FAIL, Outcome.ERROR) is Outcome.FAIL

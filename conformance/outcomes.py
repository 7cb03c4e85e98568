"""How a scenario ends: exactly one of seven outcomes (design: docs/design/conformance-suite.md).

* ``pass`` — every step held;
* ``fail`` — a ``Then`` assertion did not hold: the target violated a guarantee;
* ``error`` — anything else went wrong (a ``Given`` that did not set the scene, a ``When`` that
  could not be sent, the harness, the connection, provisioning): never a pass, never a fail;
* ``skipped`` — deselected or skipped on purpose;
* ``not supported`` — the target lacks a feature the scenario needs (:class:`NotSupported`);
* ``limitation present`` / ``limitation lifted`` — a scenario tagged ``@limitations`` describes a
  documented limitation: its ``Then`` steps holding means the limitation is present, a ``Then``
  assertion failing means the target lifted it.  Neither fails the run.
"""

from __future__ import annotations

from enum import Enum

import pytest

# The exit code of a certification run (certify, certify --in-cluster): pass, a guarantee was
# violated, or the harness/environment/configuration failed (never counted as pass or fail).
EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


class Outcome(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"
    NOT_SUPPORTED = "not supported"
    LIMITATION_PRESENT = "limitation present"
    LIMITATION_LIFTED = "limitation lifted"

    @property
    def fails_run(self) -> bool:
        return self in (Outcome.FAIL, Outcome.ERROR)


class NotSupported(pytest.skip.Exception):  # type: ignore[name-defined]
    """The target lacks what the scenario needs; pytest shows it as skipped."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"not supported: {reason}", allow_module_level=False)


class HarnessError(RuntimeError):
    """The suite could not set the scene (always an ``error``, even inside a ``Then``)."""


def classify(*, phase: str, exception: BaseException | None, step_type: str | None,
             limitation: bool) -> Outcome:
    """The outcome of one test phase.  ``phase`` is pytest's ``setup``/``call``/``teardown``;
    ``step_type`` the type (``given``/``when``/``then``) of the step that raised, if any."""
    if exception is None:
        return Outcome.LIMITATION_PRESENT if limitation else Outcome.PASS
    if isinstance(exception, NotSupported):
        return Outcome.NOT_SUPPORTED
    if isinstance(exception, pytest.skip.Exception):
        return Outcome.SKIPPED
    if phase == "call" and step_type == "then" and isinstance(exception, AssertionError):
        return Outcome.LIMITATION_LIFTED if limitation else Outcome.FAIL
    return Outcome.ERROR


def combine(earlier: Outcome | None, later: Outcome) -> Outcome:
    """A scenario's outcome from its phases' (setup, call, teardown, in order): a passing later
    phase changes nothing, an error in teardown spoils anything but a product failure."""
    if earlier is None or earlier is Outcome.PASS:
        return later
    if later is Outcome.ERROR and earlier is not Outcome.FAIL:
        return later
    return earlier

"""What one certification run found: the data every report is written from.

The pytest plugin fills a :class:`RunResult` while the scenarios run; the writers in
:mod:`conformance.report` turn it into ``report.yaml``, ``report.html``, ``junit.xml`` and
cucumber JSON.  Secret headers are dropped where exchanges are recorded
(:mod:`conformance.world`) and passwords where the target is described
(:meth:`conformance.target.Target.redacted`); bodies and messages may still quote a secret, so
every writer (and certify's terminal output) passes them through
:func:`conformance.report.redaction.scrub` on the way out.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from conformance.catalog import FEATURES, profiles_of
from conformance.outcomes import Outcome
from conformance.world import Exchange

REPORT_API_VERSION = "kfp-isolation/v1"
REPORT_KIND = "ConformanceReport"


@dataclass(frozen=True)
class StepResult:
    """One Gherkin step as it ran."""

    keyword: str  # Given | When | Then | And | But, as written
    text: str
    status: str  # passed | failed | skipped (not reached)
    duration: float = 0.0
    error: str = ""


@dataclass
class ScenarioResult:
    """One scenario (one example row of an outline) and how it ended."""

    id: str  # pytest's node id: unique within the run
    feature: str  # the feature's name as written after ``Feature:``
    feature_file: str  # the .feature file's name (all features live in one folder)
    name: str  # the scenario's name with the example's values filled in
    line: int
    tags: list[str]
    outcome: Outcome
    message: str = ""  # why it failed, errored or was skipped (first lines)
    duration: float = 0.0
    steps: list[StepResult] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def profiles(self) -> list[str]:
        return profiles_of(self.tags)

    @property
    def named_features(self) -> list[str]:
        return [tag for tag in self.tags if tag in FEATURES]


@dataclass(frozen=True)
class Operation:
    """One operation of a swagger file, as the coverage matrix lists it."""

    api: str  # v1beta1 | v2beta1
    operation_id: str
    method: str
    path: str
    covered: bool  # whether the matrix tests it
    note: str = ""  # why it is not tested, when it is not


@dataclass(frozen=True)
class Cell:
    """One (operation, identity) cell of the coverage matrix."""

    api: str
    operation_id: str
    identity: str
    expected: str  # allowed | denied | unauthenticated
    outcome: Outcome
    scenario: str  # the ScenarioResult id


@dataclass
class Coverage:
    operations: list[Operation] = field(default_factory=list)
    identities: list[str] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)


@dataclass
class RunResult:
    """Everything a report says."""

    tool_version: str
    started_at: str  # RFC 3339, UTC
    duration: float
    target: dict[str, Any]  # Target.redacted(): kind, name, mode, endpoints, users (no secrets)
    kfp_version: str  # what the API server's healthz says ("" if it would not say)
    mode: str
    scenarios: list[ScenarioResult] = field(default_factory=list)
    coverage: Coverage = field(default_factory=Coverage)
    configuration: dict[str, Any] = field(default_factory=dict)  # redacted settings of the run
    aborted: str = ""  # why the run stopped before its scenarios ("" when it did not)

    def counts(self, scenarios: list[ScenarioResult] | None = None) -> dict[str, int]:
        """Scenarios per outcome, every outcome present (zero when none)."""
        found = Counter(s.outcome for s in (self.scenarios if scenarios is None else scenarios))
        return {outcome.value: found[outcome] for outcome in Outcome}

    @property
    def verdict(self) -> Outcome:
        """The run's result: ``fail`` if any scenario failed, else ``error`` if any errored,
        else ``pass``."""
        outcomes = {s.outcome for s in self.scenarios}
        if Outcome.FAIL in outcomes:
            return Outcome.FAIL
        if Outcome.ERROR in outcomes or not self.scenarios:
            return Outcome.ERROR
        return Outcome.PASS

    def profile_result(self, profile: str) -> str:
        """``success`` (every scenario passed or reported its limitation), ``failure`` (any
        failed), else ``partial`` (some errored, were skipped or are not supported);
        ``not run`` when the run selected none of its scenarios."""
        outcomes = {s.outcome for s in self.scenarios if profile in s.profiles}
        if not outcomes:
            return "not run"
        if Outcome.FAIL in outcomes:
            return "failure"
        done = {Outcome.PASS, Outcome.LIMITATION_PRESENT, Outcome.LIMITATION_LIFTED}
        return "success" if outcomes <= done else "partial"

    def summary_line(self) -> str:
        counts = ", ".join(f"{n} {o}" for o, n in self.counts().items() if n)
        what = f"aborted: {self.aborted}" if self.aborted else counts or "no scenarios"
        return (f"kfp-isolation {self.tool_version}: {self.verdict.value.upper()} — "
                f"{self.target.get('name', '?')} ({self.mode or '?'}): {what}")

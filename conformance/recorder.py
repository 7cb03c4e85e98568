"""Records what the scenarios did while pytest runs them, for the reports.

A pytest plugin object (registered by :mod:`conformance.pytest_plugin`): pytest-bdd's hooks give
the feature, the rendered scenario and each step; the plugin's outcome classification gives how
the scenario ended; the world gives its redacted HTTP exchanges.  :meth:`Recorder.run_result`
assembles the :class:`~conformance.results.RunResult` every report is written from.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from conformance import matrix
from conformance.catalog import markers
from conformance.outcomes import Outcome
from conformance.results import (
    Cell,
    Coverage,
    Operation,
    RunResult,
    ScenarioResult,
    StepResult,
)
from conformance.world import Exchange

MESSAGE_LINES = 12


@dataclass
class _Scene:
    """One scenario while it runs."""

    feature: str = ""
    feature_file: str = ""
    feature_path: str = ""  # the .feature file itself (a repro bundle reduces it)
    name: str = ""
    line: int = 0
    steps: list[StepResult] = field(default_factory=list)
    pending: list[tuple[str, str]] = field(default_factory=list)  # (keyword, text) not yet run
    step_started: float = 0.0
    duration: float = 0.0
    message: str = ""
    exchanges: list[Exchange] = field(default_factory=list)
    example: dict[str, str] = field(default_factory=dict)
    template: str = ""  # the scenario's name before the example filled it in


@dataclass
class TargetInfo:
    """What the run certified (set once the target is opened)."""

    description: dict[str, Any]
    mode: str
    kfp_version: str


class Recorder:
    def __init__(self) -> None:
        self.started_at = datetime.now(timezone.utc)
        self._clock = time.monotonic()
        self.target: TargetInfo | None = None
        self.configuration: dict[str, Any] = {}
        self._scenes: dict[str, _Scene] = {}
        self._tags: dict[str, list[str]] = {}
        self._order: list[str] = []
        self.outcomes: dict[str, Outcome] = {}
        self.aborted = ""

    # -- pytest-bdd hooks ----------------------------------------------------------------------

    def pytest_bdd_before_scenario(self, request: pytest.FixtureRequest, feature: Any,
                                   scenario: Any) -> None:
        scene = self._scene(request.node)
        scene.feature = feature.name
        scene.feature_file = Path(feature.filename).name
        scene.feature_path = str(feature.filename)
        scene.name = scenario.name
        scene.line = scenario.line_number
        scene.pending = [(step.keyword, step.name) for step in scenario.steps]
        callspec = getattr(request.node, "callspec", None)
        example = callspec.params.get("_pytest_bdd_example") if callspec else None
        scene.example = {str(k): str(v) for k, v in (example or {}).items()}
        # The outline's name before the example filled it in (the matrix's outlines end in
        # " as <identity>"; rendered steps keep no link to their template).
        identity = scene.example.get("identity", "")
        scene.template = (scenario.name.removesuffix(identity) + "<identity>"
                          if identity and scenario.name.endswith(f" as {identity}")
                          else scenario.name)

    def pytest_bdd_before_step(self, request: pytest.FixtureRequest, step: Any) -> None:
        self._scene(request.node).step_started = time.monotonic()

    def pytest_bdd_after_step(self, request: pytest.FixtureRequest, step: Any) -> None:
        self._finish_step(request.node, "passed", "")

    def pytest_bdd_step_error(self, request: pytest.FixtureRequest, step: Any,
                              exception: Exception) -> None:
        self._finish_step(request.node, "failed", _first_lines(str(exception) or
                                                               type(exception).__name__))

    def _finish_step(self, item: pytest.Item, status: str, error: str) -> None:
        scene = self._scene(item)
        keyword, text = scene.pending.pop(0) if scene.pending else ("", "?")
        scene.steps.append(StepResult(keyword, text, status,
                                      time.monotonic() - scene.step_started, error))

    # -- pytest hooks --------------------------------------------------------------------------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid not in self._scenes:
            return
        scene = self._scenes[report.nodeid]
        scene.duration += report.duration
        lifted = getattr(report, "kfp_lifted", "")
        if lifted:  # the plugin turned the Then that no longer holds into a pass: say which
            scene.message = _first_lines(f"limitation lifted: {lifted}")
        elif report.failed or (report.skipped and not scene.message):
            scene.message = _message(report)

    # -- what the plugin tells it --------------------------------------------------------------

    def note_item(self, item: pytest.Item) -> None:
        """Remember an item of the suite (called at setup, before any pytest-bdd hook)."""
        self._scene(item)
        self._tags[item.nodeid] = sorted({m.name for m in item.iter_markers()} & set(markers()))

    def feature_of(self, nodeid: str) -> str:
        """The feature file a scenario comes from (as the progress lines name it)."""
        scene = self._scenes.get(nodeid)
        return scene.feature_file if scene else ""

    def note_exchanges(self, item: pytest.Item, exchanges: list[Exchange]) -> None:
        self._scene(item).exchanges = list(exchanges)

    def _scene(self, item: pytest.Item) -> _Scene:
        if item.nodeid not in self._scenes:
            self._scenes[item.nodeid] = _Scene(name=item.name)
            self._order.append(item.nodeid)
        return self._scenes[item.nodeid]

    # -- the result ----------------------------------------------------------------------------

    def scenario_results(self) -> list[ScenarioResult]:
        return [found for found in map(self.result_of, self._order) if found is not None]

    def result_of(self, nodeid: str) -> ScenarioResult | None:
        """One scenario as far as it got (None: not a scenario of the suite)."""
        if nodeid not in self.outcomes:
            return None
        scene = self._scenes[nodeid]
        steps = scene.steps + [StepResult(k, t, "skipped") for k, t in scene.pending]
        return ScenarioResult(
            id=nodeid, feature=scene.feature or "?", feature_file=scene.feature_file,
            name=scene.name, line=scene.line, tags=self._tags.get(nodeid, []),
            outcome=self.outcomes[nodeid], message=scene.message,
            duration=scene.duration, steps=steps, exchanges=scene.exchanges)

    def source_of(self, nodeid: str) -> tuple[str, int, dict[str, str]] | None:
        """Where a scenario is written: feature file, the scenario's line, its example row."""
        scene = self._scenes.get(nodeid)
        if scene is None or not scene.feature_path:
            return None
        return scene.feature_path, scene.line, dict(scene.example)

    def coverage(self) -> Coverage:
        """The matrix as the report shows it: every operation, every identity kind."""
        operations = [Operation(p.api, p.operation_id, p.method, p.path, True)
                      for p in matrix.PROBES]
        operations += [Operation(u.api, u.operation_id, u.method, u.path, False, u.note)
                       for u in matrix.NOT_PROBED]
        cells = []
        for nodeid in self._order:
            scene = self._scenes[nodeid]
            if nodeid not in self.outcomes or "identity" not in scene.example:
                continue
            probe = matrix.probe_of_outline(scene.template)
            if probe is None:
                continue
            cells.append(Cell(probe.api, probe.operation_id, scene.example["identity"],
                              scene.example.get("expected", ""), self.outcomes[nodeid], nodeid))
        return Coverage(operations, [i.kind for i in matrix.IDENTITIES], cells)

    def run_result(self, tool_version: str) -> RunResult:
        target = self.target or TargetInfo({}, "", "")
        return RunResult(
            tool_version=tool_version,
            started_at=self.started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            duration=time.monotonic() - self._clock,
            target=target.description, kfp_version=target.kfp_version, mode=target.mode,
            scenarios=self.scenario_results(), coverage=self.coverage(),
            configuration=self.configuration, aborted=self.aborted)


def _first_lines(text: str) -> str:
    return "\n".join(text.strip().splitlines()[:MESSAGE_LINES])


def _message(report: pytest.TestReport) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return _first_lines(str(report.longrepr[2]).removeprefix("Skipped: "))
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return _first_lines(str(crash.message))
    return _first_lines(str(report.longrepr or ""))

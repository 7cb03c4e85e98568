"""Cucumber JSON: the run in the format Gherkin tools (cucumber-html-reporter, Jenkins, Allure,
Xray) read.

Features are grouped by file; a scenario's steps carry ``passed``, ``failed``, ``skipped`` or
``undefined``.  The seven outcomes map onto that: ``pass`` and the limitations have every step
passed (a lifted limitation is news, not a failure), ``fail``/``error`` keep the failing step
failed, ``skipped``/``not supported`` have every step skipped.  An error outside any step (a
fixture, the teardown) becomes a failed ``before``/``after`` hook, so no failure is lost.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from conformance.outcomes import Outcome
from conformance.report.document import is_limitation, limitation_result
from conformance.report.redaction import scrub
from conformance.results import RunResult, ScenarioResult, StepResult

STEP_STATUSES = frozenset({"passed", "failed", "skipped", "undefined"})
PASSING = frozenset({Outcome.PASS, Outcome.LIMITATION_PRESENT, Outcome.LIMITATION_LIFTED})


def slug(text: str) -> str:
    """Cucumber's ids: lower case, runs of anything else than letters/digits as one dash."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "unnamed"


def _nanoseconds(seconds: float) -> int:
    return max(round(seconds * 1e9), 0)


def _tags(names: list[str]) -> list[dict[str, str]]:
    return [{"name": f"@{name}"} for name in names]


def _step_status(scenario: ScenarioResult, step: StepResult) -> str:
    if scenario.outcome in PASSING:
        return "passed"
    if scenario.outcome in (Outcome.SKIPPED, Outcome.NOT_SUPPORTED):
        return "skipped"
    return step.status if step.status in STEP_STATUSES else "undefined"


def _step(scenario: ScenarioResult, step: StepResult, status: str) -> dict[str, Any]:
    result: dict[str, Any] = {"status": status, "duration": _nanoseconds(step.duration)}
    if status == "failed":
        result["error_message"] = scrub(step.error or scenario.message)
    return {"keyword": f"{step.keyword.strip()} ", "name": scrub(step.text),
            "result": result}


def _hook(scenario: ScenarioResult) -> dict[str, Any]:
    return {"match": {"location": scenario.id},
            "result": {"status": "failed", "duration": 0,
                       "error_message": scrub(scenario.message) or scenario.outcome.value}}


def _element(scenario: ScenarioResult, element_id: str) -> dict[str, Any]:
    steps = [_step(scenario, step, _step_status(scenario, step)) for step in scenario.steps]
    element: dict[str, Any] = {
        "type": "scenario", "keyword": "Scenario", "id": element_id,
        "name": scrub(scenario.name), "line": scenario.line, "description": "",
        "tags": _tags(scenario.tags), "steps": steps,
    }
    if is_limitation(scenario):
        element["description"] = f"limitation {limitation_result(scenario)}"
    elif scenario.outcome in (Outcome.SKIPPED, Outcome.NOT_SUPPORTED) and scenario.message:
        element["description"] = f"{scenario.outcome.value}: {scrub(scenario.message)}"
    if scenario.outcome in (Outcome.FAIL, Outcome.ERROR) and not any(
            step["result"]["status"] == "failed" for step in steps):
        # Nothing in a step failed: the fixture before or the teardown after did.
        ran = any(step["result"]["status"] == "passed" for step in steps)
        element["after" if ran else "before"] = [_hook(scenario)]
    return element


def to_cucumber(run: RunResult) -> list[dict[str, Any]]:
    """The run as a cucumber JSON document (a list of features)."""
    files: dict[str, list[ScenarioResult]] = {}
    for scenario in run.scenarios:
        files.setdefault(scenario.feature_file, []).append(scenario)
    features = []
    for uri, scenarios in files.items():
        name = scenarios[0].feature
        feature_id = slug(name)
        # Tags on the Feature line are the ones every scenario of it inherits.
        common = [t for t in scenarios[0].tags if all(t in s.tags for s in scenarios)]
        seen: dict[str, int] = {}
        elements = []
        for scenario in scenarios:
            element_id = f"{feature_id};{slug(scenario.name)}"
            seen[element_id] = seen.get(element_id, 0) + 1
            if seen[element_id] > 1:
                element_id += f";{seen[element_id]}"
            elements.append(_element(scenario, element_id))
        features.append({"uri": uri, "id": feature_id, "keyword": "Feature", "name": name,
                         "line": 1, "description": "", "tags": _tags(common),
                         "elements": elements})
    return features


def write_cucumber(run: RunResult, path: Path) -> Path:
    path.write_text(json.dumps(to_cucumber(run), indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return path

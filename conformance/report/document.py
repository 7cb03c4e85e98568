"""``report.yaml``: the versioned, machine-readable conformance report.

The document is what an operator archives or a CI job reads: the verdict, one result per
profile (as the Gateway API conformance reports do), which named features the target supports,
the documented limitations, every failure with the HTTP exchanges behind it and the coverage
matrix.  Its shape is fixed by ``report.schema.json`` (:mod:`conformance.report.schema`).
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any

import yaml

from conformance.catalog import FEATURES, LIMITATION_TAG, PROFILES, bugs_of
from conformance.outcomes import Outcome
from conformance.report.redaction import scrub, scrub_all
from conformance.results import (
    REPORT_API_VERSION,
    REPORT_KIND,
    Coverage,
    RunResult,
    ScenarioResult,
    StepResult,
)
from conformance.vulnerabilities import BugFinding, findings
from conformance.world import Exchange
from emulator.bugs import BUGS

TOOL_NAME = "kfp-isolation"
# Outcomes that show the target has a feature: the scenario ran to a verdict on it.
RAN = frozenset({Outcome.PASS, Outcome.FAIL, Outcome.LIMITATION_PRESENT,
                 Outcome.LIMITATION_LIFTED})
NOT_RUN = frozenset({Outcome.SKIPPED, Outcome.NOT_SUPPORTED})
FAILED = frozenset({Outcome.FAIL, Outcome.ERROR})
# What a limitation scenario's outcome says about the limitation.
LIMITATION_RESULTS = {
    Outcome.LIMITATION_PRESENT: "present",
    Outcome.LIMITATION_LIFTED: "lifted",
    Outcome.NOT_SUPPORTED: "not supported",
    Outcome.SKIPPED: "skipped",
    Outcome.ERROR: "error",
    # A limitation scenario never ends pass/fail (outcomes.classify); should one, say so.
    Outcome.PASS: "present",
    Outcome.FAIL: "lifted",
}


def is_limitation(scenario: ScenarioResult) -> bool:
    return LIMITATION_TAG in scenario.tags or scenario.outcome in (
        Outcome.LIMITATION_PRESENT, Outcome.LIMITATION_LIFTED)


def limitation_result(scenario: ScenarioResult) -> str:
    return LIMITATION_RESULTS[scenario.outcome]


def feature_of(scenario: ScenarioResult) -> str:
    """The scenario's named feature (catalog tag), else the feature's written name."""
    named = scenario.named_features
    return named[0] if named else scenario.feature


def reason(scenario: ScenarioResult) -> str:
    """Why a scenario did not run or did not pass, scrubbed (may be empty)."""
    return scrub(scenario.message)


def step_dict(step: StepResult) -> dict[str, Any]:
    entry: dict[str, Any] = {"keyword": step.keyword, "text": scrub(step.text),
                             "status": step.status, "duration_seconds": round(step.duration, 6)}
    if step.error:
        entry["error"] = scrub(step.error)
    return entry


def exchange_dict(exchange: Exchange) -> dict[str, Any]:
    """One exchange as the reports show it: every string scrubbed."""
    return {
        "actor": scrub(exchange.actor),
        "door": scrub(exchange.door),
        "method": scrub(exchange.method),
        "url": scrub(exchange.url),
        "status": int(exchange.status),
        "request_headers": {str(name): scrub(str(value))
                            for name, value in exchange.request_headers.items()},
        "request_body": scrub(exchange.request_body),
        "response_body": scrub(exchange.response_body),
    }


def scenario_ref(scenario: ScenarioResult) -> dict[str, Any]:
    return {"id": scenario.id, "name": scrub(scenario.name), "feature": feature_of(scenario),
            "file": scenario.feature_file, "line": scenario.line,
            "bugs": bugs_of(scenario.tags)}


def _bug(finding: BugFinding) -> dict[str, Any]:
    bug = BUGS[finding.bug_id]
    return {"id": bug.id, "title": bug.title, "verdict": finding.verdict.value,
            "links": list(bug.links), "fixed": bug.fixed,
            "scenarios": len(finding.scenarios), "shared_with": list(finding.shared_with),
            "evidence": [{"id": s.id, "outcome": s.outcome.value, "message": reason(s)}
                         for s in finding.evidence]}


def _plain(value: Any) -> Any:
    """``value`` with only YAML/JSON types (the target and configuration are free-form)."""
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _profile(run: RunResult, name: str, description: str) -> dict[str, Any]:
    members = [s for s in run.scenarios if name in s.profiles]
    return {
        "name": name,
        "description": description,
        "result": run.profile_result(name),
        "statistics": run.counts(members),
        "failed": [s.id for s in members if s.outcome in FAILED],
        "skipped": [{"id": s.id, "outcome": s.outcome.value, "reason": reason(s)}
                    for s in members if s.outcome in NOT_RUN],
    }


def _features(run: RunResult) -> dict[str, list[dict[str, Any]]]:
    supported, unsupported, untested = [], [], []
    for name, description in FEATURES.items():
        members = [s for s in run.scenarios if name in s.named_features]
        outcomes = {s.outcome for s in members}
        entry: dict[str, Any] = {"name": name, "description": description,
                                 "scenarios": len(members)}
        if outcomes & RAN:
            supported.append(entry)
        elif outcomes == {Outcome.NOT_SUPPORTED}:
            entry["reasons"] = sorted({reason(s) for s in members})
            unsupported.append(entry)
        else:
            entry["reason"] = ("no scenario" if not members else
                               "no scenario ran to a verdict: "
                               + ", ".join(sorted(o.value for o in outcomes)))
            untested.append(entry)
    return {"supported": supported, "unsupported": unsupported, "untested": untested}


def _failure(scenario: ScenarioResult) -> dict[str, Any]:
    return {**scenario_ref(scenario), "outcome": scenario.outcome.value,
            "message": reason(scenario), "steps": [step_dict(s) for s in scenario.steps],
            "exchanges": [exchange_dict(e) for e in scenario.exchanges]}


def _coverage(coverage: Coverage) -> dict[str, Any]:
    return {
        "operations": [{"api": op.api, "operation_id": op.operation_id, "method": op.method,
                        "path": op.path, "covered": op.covered, "note": op.note}
                       for op in coverage.operations],
        "identities": list(coverage.identities),
        "cells": [{"api": c.api, "operation_id": c.operation_id, "identity": c.identity,
                   "expected": c.expected, "outcome": c.outcome.value, "scenario": c.scenario}
                  for c in coverage.cells],
    }


def to_document(run: RunResult) -> dict[str, Any]:
    """The report as plain data (what ``report.yaml`` holds)."""
    return {
        "apiVersion": REPORT_API_VERSION,
        "kind": REPORT_KIND,
        "tool": {"name": TOOL_NAME, "version": run.tool_version},
        "date": run.started_at,
        "duration_seconds": round(run.duration, 3),
        "target": scrub_all(_plain(run.target)),
        "kfp": {"version": run.kfp_version, "mode": run.mode},
        "summary": {"line": scrub(run.summary_line()), "verdict": run.verdict.value,
                    "counts": run.counts(),
                    **({"aborted": scrub(run.aborted)} if run.aborted else {})},
        "profiles": [_profile(run, name, text) for name, text in PROFILES.items()],
        "features": _features(run),
        "limitations": [{**scenario_ref(s), "result": limitation_result(s),
                         "message": reason(s)}
                        for s in run.scenarios if is_limitation(s)],
        "failures": [_failure(s) for s in run.scenarios if s.outcome in FAILED],
        "skipped": [{**scenario_ref(s), "outcome": s.outcome.value, "reason": reason(s)}
                    for s in run.scenarios if s.outcome in NOT_RUN],
        "bugs": [_bug(finding) for finding in findings(run.scenarios)],
        "coverage": _coverage(run.coverage),
        "configuration": scrub_all(_plain(run.configuration)),
    }


def write_document(run: RunResult, path: Path) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        yaml.safe_dump(to_document(run), handle, sort_keys=False, allow_unicode=True)
    return path

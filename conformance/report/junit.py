"""``junit.xml``: the run as CI systems read test results.

One ``<testsuite>`` per feature, one ``<testcase>`` per scenario.  JUnit knows only passed,
failure, error and skipped, so: ``fail`` is a ``<failure>``, ``error`` an ``<error>``, ``skipped``
and ``not supported`` are ``<skipped>``, and a limitation (present or lifted) passes, with a
``<system-out>`` line saying which, because a documented limitation never fails the run.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

from conformance.outcomes import Outcome
from conformance.report.document import TOOL_NAME, exchange_dict, is_limitation, limitation_result
from conformance.report.redaction import scrub
from conformance.results import RunResult, ScenarioResult

COUNTED = ("tests", "failures", "errors", "skipped")
# Characters XML 1.0 cannot hold at all (a response body may carry them): dropped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str) -> str:
    """A string from the run, scrubbed and fit for XML."""
    return _NOT_XML.sub("", scrub(value))


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _details(scenario: ScenarioResult) -> str:
    """The body of a failure: the message, the steps as they ran, the exchanges."""
    lines = [scenario.message, "", "Steps:"]
    for step in scenario.steps:
        lines.append(f"  [{step.status}] {step.keyword} {step.text}")
        if step.error:
            lines.extend(f"      {line}" for line in step.error.splitlines())
    if scenario.exchanges:
        lines += ["", "Exchanges:"]
        for exchange in map(exchange_dict, scenario.exchanges):
            lines.append(f"  {exchange['actor']} ({exchange['door']}): {exchange['method']} "
                         f"{exchange['url']} -> {exchange['status']}")
            if exchange["request_body"]:
                lines.append(f"    request: {exchange['request_body']}")
            if exchange["response_body"]:
                lines.append(f"    response: {exchange['response_body']}")
    return _text("\n".join(lines))


def _testcase(parent: ET.Element, scenario: ScenarioResult) -> str:
    """Add the scenario's testcase; answer which JUnit count it adds to besides tests."""
    case = ET.SubElement(parent, "testcase", classname=_text(scenario.feature),
                         name=_text(scenario.name), time=_seconds(scenario.duration),
                         file=scenario.feature_file, line=str(scenario.line))
    message = _first_line(_text(scenario.message))
    if scenario.outcome is Outcome.FAIL:
        ET.SubElement(case, "failure", message=message, type="AssertionError").text = \
            _details(scenario)
        return "failures"
    if scenario.outcome is Outcome.ERROR:
        ET.SubElement(case, "error", message=message, type="error").text = _details(scenario)
        return "errors"
    if scenario.outcome in (Outcome.SKIPPED, Outcome.NOT_SUPPORTED):
        reason = f"{scenario.outcome.value}: {message}" if message else scenario.outcome.value
        ET.SubElement(case, "skipped", message=reason)
        return "skipped"
    if is_limitation(scenario):
        text = f"limitation {limitation_result(scenario)}"
        if scenario.message:
            text += f": {_text(scenario.message)}"
        ET.SubElement(case, "system-out").text = text
    return "passed"


def to_junit(run: RunResult) -> ET.Element:
    """The ``<testsuites>`` element of the run."""
    root = ET.Element("testsuites", name=TOOL_NAME, time=_seconds(run.duration))
    properties = {"kfp-isolation.version": run.tool_version, "kfp.version": run.kfp_version,
                  "kfp.mode": run.mode, "target": str(run.target.get("name", ""))}
    totals: Counter[str] = Counter()
    features: dict[str, list[ScenarioResult]] = {}
    for scenario in run.scenarios:
        features.setdefault(scenario.feature, []).append(scenario)
    for feature, scenarios in features.items():
        suite = ET.SubElement(root, "testsuite", name=_text(feature), timestamp=run.started_at,
                              file=scenarios[0].feature_file,
                              time=_seconds(sum(s.duration for s in scenarios)))
        props = ET.SubElement(suite, "properties")
        for name, value in properties.items():
            ET.SubElement(props, "property", name=name, value=_text(value))
        counts: Counter[str] = Counter({"tests": len(scenarios)})
        counts.update(_testcase(suite, scenario) for scenario in scenarios)
        for name in COUNTED:
            suite.set(name, str(counts[name]))
        totals.update({name: counts[name] for name in COUNTED})
    for name in COUNTED:
        root.set(name, str(totals[name]))
    return root


def write_junit(run: RunResult, path: Path) -> Path:
    tree = ET.ElementTree(to_junit(run))
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path

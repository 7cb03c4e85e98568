"""The reports of a certification run, all written from one :class:`RunResult`.

``report.yaml`` (versioned, with a JSON Schema) for machines and archives, ``report.html`` for
people, ``junit.xml`` and ``cucumber.json`` for CI and Gherkin tooling.  Every string that came
from the wire passes :func:`conformance.report.redaction.scrub` on its way into a file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from conformance.report.cucumber import to_cucumber, write_cucumber
from conformance.report.document import to_document, write_document
from conformance.report.html import to_html, write_html
from conformance.report.junit import to_junit, write_junit
from conformance.report.redaction import scrub
from conformance.report.schema import schema, validate_document, validate_report
from conformance.results import RunResult

# What each report is called: key -> file name in the output directory.
REPORT_FILES = {
    "yaml": "report.yaml",
    "html": "report.html",
    "junit": "junit.xml",
    "cucumber": "cucumber.json",
}
_WRITERS: dict[str, Callable[[RunResult, Path], Path]] = {
    "yaml": write_document,
    "html": write_html,
    "junit": write_junit,
    "cucumber": write_cucumber,
}

__all__ = [
    "REPORT_FILES", "schema", "scrub", "to_cucumber", "to_document", "to_html", "to_junit",
    "validate_document", "validate_report", "write_reports",
]


def write_reports(run: RunResult, directory: Path) -> dict[str, Path]:
    """Write the four reports into ``directory`` (made if missing); their paths by key of
    :data:`REPORT_FILES`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return {key: _WRITERS[key](run, directory / name) for key, name in REPORT_FILES.items()}

"""The JSON Schema of ``report.yaml`` and the check a consumer (or CI) runs on a report.

The schema ships as package data, so a report can be checked wherever the tool is installed;
:func:`validate_report` answers with sentences, never an exception, because its caller wants to
say everything that is wrong with a file at once.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from conformance.results import REPORT_API_VERSION

SCHEMA_FILE = "report.schema.json"


@cache
def schema() -> dict[str, Any]:
    """The report's JSON Schema (draft 2020-12)."""
    text = resources.files("conformance.report").joinpath(SCHEMA_FILE).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _where(error: jsonschema.ValidationError) -> str:
    return "/".join(str(part) for part in error.absolute_path) or "(document)"


def validate_document(document: Any) -> list[str]:
    """What is wrong with an already loaded report; empty when it is valid."""
    if not isinstance(document, dict):
        return [f"the report is not a mapping but {type(document).__name__}"]
    version = document.get("apiVersion")
    if version != REPORT_API_VERSION:
        # Another version has another schema: checking the rest against this one would only
        # add noise.
        return [f"apiVersion: {version!r} is not {REPORT_API_VERSION!r}, the version this tool "
                f"reads"]
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(document),
                    key=lambda e: [str(part) for part in e.absolute_path])
    return [f"{_where(error)}: {error.message}" for error in errors]


def validate_report(path: Path) -> list[str]:
    """What is wrong with the report file at ``path`` (YAML or JSON); empty when it is valid."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [f"{path}: cannot read the report: {exc}"]
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return [f"{path}: not valid YAML: {exc}"]
    return validate_document(document)

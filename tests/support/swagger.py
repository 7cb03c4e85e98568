"""Validate emulator responses against the official KFP swagger (OpenAPI 2.0) files.

The swagger files are read (never copied) from the directory named by ``KFP_ISOLATION_SPECS``,
defaulting to ``<project>/../shared/specs``. Definitions are translated into a strict JSON
Schema (draft 4, the dialect swagger 2.0 builds on):

* objects with declared ``properties`` reject unknown fields (``additionalProperties: false``)
  unless the definition itself says otherwise, so a misspelt field fails;
* ``$ref`` siblings are dropped (draft 4 ignores them anyway);
* ``format: int64`` / ``uint64`` must be a decimal *string* (protojson renders 64-bit integers as
  strings); ``int32`` must be a JSON integer; ``double``/``float`` may also be the protojson
  strings ``NaN``/``Infinity``/``-Infinity``;
* ``format: date-time`` is checked as RFC 3339, ``format: byte`` as base64;
* enums are the enum value names, as protojson renders them.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator, FormatChecker

VERSIONS = ("v1beta1", "v2beta1")
_PROJECT = Path(__file__).resolve().parents[2]
_DEFAULT_SPECS = _PROJECT.parent / "shared" / "specs"
_INT64 = r"^-?[0-9]+$"
_UINT64 = r"^[0-9]+$"
_BASE64 = r"^[A-Za-z0-9+/_-]*={0,2}$"
_FLOAT_WORDS = ["NaN", "Infinity", "-Infinity"]
_IGNORED_KEYS = {"description", "title", "readOnly", "default", "example", "x-nullable"}
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")

# Our own checker, so date-time is enforced even where jsonschema's optional format
# dependencies (rfc3339-validator) are not installed.
_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    datetime.strptime(value[:19].upper(), "%Y-%m-%dT%H:%M:%S")  # real calendar date and time
    return True


def specs_dir() -> Path:
    return Path(os.environ.get("KFP_ISOLATION_SPECS") or _DEFAULT_SPECS)


def _normalize_version(version: str) -> str:
    text = version.strip().lower()
    if text in ("v1", "1"):
        return "v1beta1"
    if text in ("v2", "2"):
        return "v2beta1"
    if text not in VERSIONS:
        pytest.fail(f"unknown KFP API version {version!r}; use one of {VERSIONS}",
                    pytrace=False)
    return text


@cache
def _load(version: str) -> dict[str, Any]:
    path = specs_dir() / f"{version}.kfp_api_single_file.swagger.json"
    if not path.is_file():
        pytest.fail(
            f"swagger file {path} not found. Point KFP_ISOLATION_SPECS at the directory holding "
            f"{{v1beta1,v2beta1}}.kfp_api_single_file.swagger.json (default: {_DEFAULT_SPECS}).",
            pytrace=False)
    try:
        spec = json.loads(path.read_text())
    except ValueError as exc:
        pytest.fail(f"swagger file {path} is not valid JSON: {exc}", pytrace=False)
    if spec.get("swagger") != "2.0" or "definitions" not in spec:
        pytest.fail(f"{path} is not a swagger 2.0 document with definitions", pytrace=False)
    return spec


def load_spec(version: str) -> dict[str, Any]:
    """The parsed swagger document for ``v1beta1``/``v2beta1`` (``v1``/``v2`` also accepted).

    The returned dict is shared: do not mutate it.
    """
    return _load(_normalize_version(version))


def _strict(node: Any) -> Any:
    """Translate one swagger schema node into a strict draft-4 JSON Schema node."""
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return {"$ref": node["$ref"]}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _IGNORED_KEYS or key.startswith("x-"):
            continue
        if key == "properties":
            out[key] = {name: _strict(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "allOf", "anyOf", "oneOf", "not"):
            out[key] = _strict(value)
        else:
            out[key] = value
    kind = node.get("type")
    fmt = node.get("format")
    if kind == "object" and "properties" in node and "additionalProperties" not in node:
        out["additionalProperties"] = False
    if kind == "string" and fmt in ("int64", "uint64"):
        out["pattern"] = _UINT64 if fmt == "uint64" else _INT64
        out.pop("format")
    elif kind == "string" and fmt == "byte":
        out["pattern"] = _BASE64
        out.pop("format")
    elif kind == "integer" and fmt in ("int64", "uint64"):
        # Some generators declare 64-bit integers as "integer"; protojson still emits a string.
        out = {"type": "string", "pattern": _UINT64 if fmt == "uint64" else _INT64}
    elif kind == "number":
        out.pop("type")
        out.pop("format", None)
        out["anyOf"] = [{"type": "number"}, {"type": "string", "enum": _FLOAT_WORDS}]
    return out


@cache
def _definitions(version: str) -> dict[str, Any]:
    spec = _load(version)
    return {name: _strict(body) for name, body in spec["definitions"].items()}


@cache
def _validator(version: str, definition: str) -> Draft4Validator:
    defs = _definitions(version)
    name = definition.removeprefix("#/definitions/")
    if name not in defs:
        pytest.fail(f"{version} swagger has no definition {definition!r}", pytrace=False)
    schema = {"definitions": defs, "$ref": f"#/definitions/{name}"}
    return Draft4Validator(schema, format_checker=_FORMATS)


def _schema_validator(version: str, schema: dict[str, Any]) -> Draft4Validator:
    root = {"definitions": _definitions(version), **_strict(schema)}
    return Draft4Validator(root, format_checker=_FORMATS)


def _errors(validator: Draft4Validator, body: Any) -> list[str]:
    found = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    return [f"at /{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in found]


def validation_errors(version: str, definition: str, body: Any) -> list[str]:
    """All violations of ``body`` against a swagger definition (empty list when valid)."""
    return _errors(_validator(_normalize_version(version), definition), body)


def assert_valid(version: str, definition: str, body: Any) -> None:
    """Assert ``body`` conforms (strictly) to swagger ``definition`` of API ``version``."""
    problems = validation_errors(version, definition, body)
    assert not problems, (f"{version} {definition} schema violations:\n  "
                          + "\n  ".join(problems[:20]) + f"\nbody: {json.dumps(body)[:2000]}")


def assert_status_body(body: Any, version: str = "v2beta1") -> None:
    """Assert ``body`` is a googleRpcStatus error body ({code, message, details})."""
    assert isinstance(body, dict), f"error body is not a JSON object: {body!r}"
    assert_valid(version, "googleRpcStatus", body)
    assert isinstance(body.get("code"), int) and body["code"] != 0, \
        f"error body carries no non-zero gRPC code: {body}"


def find_operation(version: str, method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The swagger path template and operation object matching a concrete request path.

    ``path`` may be a template (``/apis/v2beta1/runs/{run_id}``) or a concrete path; literal
    segments win over parameters, as in grpc-gateway.
    """
    spec = load_spec(version)
    concrete = path.split("?", 1)[0]
    candidates: list[tuple[int, str]] = []
    for template, ops in spec["paths"].items():
        if method.lower() not in ops:
            continue
        if template == concrete:
            return template, ops[method.lower()]
        score = _match(template, concrete)
        if score is not None:
            candidates.append((score, template))
    if not candidates:
        pytest.fail(f"{method.upper()} {path} is not an operation of the {version} swagger",
                    pytrace=False)
    template = max(candidates)[1]
    return template, spec["paths"][template][method.lower()]


def _match(template: str, path: str) -> int | None:
    """Number of literal characters matched, or None when ``path`` doesn't fit ``template``."""
    literal = 0
    pattern = ""
    for piece in re.split(r"(\{[^}]+\})", template):
        if piece.startswith("{"):
            pattern += r"[^/]+?"
        else:
            literal += len(piece)
            pattern += re.escape(piece)
    return literal if re.fullmatch(pattern, path) else None


def response_schema(version: str, method: str, path: str, status: int) -> dict[str, Any]:
    """The swagger response schema for a status (``200`` or the ``default`` error schema)."""
    _, op = find_operation(version, method, path)
    responses = op["responses"]
    entry = responses.get(str(status)) or responses.get("default")
    assert entry is not None, f"{method} {path} documents no response for {status}"
    return entry.get("schema", {})


def assert_response(version: str, method: str, path: str, status: int, body: Any) -> None:
    """Validate a response body against the operation's documented schema for ``status``.

    Error responses are held to ``googleRpcStatus`` (the only error shape the real server
    emits, even where the v1 file still names the legacy ``apiStatus``).
    """
    version = _normalize_version(version)
    if status != 200:
        assert_status_body(body, version)
        return
    schema = response_schema(version, method, path, status)
    problems = _errors(_schema_validator(version, schema), body)
    assert not problems, (f"{method.upper()} {path} -> 200 violates its swagger schema:\n  "
                          + "\n  ".join(problems[:20]) + f"\nbody: {json.dumps(body)[:2000]}")

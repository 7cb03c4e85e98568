"""Fuzz the emulator with schemathesis against both official KFP swagger files.

Every operation of ``v1beta1`` and ``v2beta1`` is exercised by schemathesis (positive and negative
data, a few examples per operation, derandomized) against a live multi-user
:class:`~emulator.serving.EmulatorServer` with the standard cast. Each generated case is sent
twice: as ``alice@example.com`` (the ``kubeflow-userid`` header) and anonymously.

Oracles, checked on every response:

* the server never crashes: no transport error, and nothing is logged at ERROR level by the
  emulator (``kfp_isolation.emulator`` logs "unhandled error" before answering 500) or by uvicorn
  (``uvicorn.error``: exceptions raised while sending a response);
* the only 5xx is the real server's documented 500 (spec sections 4.1 and 5.3, and run creation
  with a missing or broken pipeline spec): exactly ``{"code": 13, "message": ...,
  "details": [{"@type": google.rpc.Status, "code": 13, "message": "Internal Server Error"}]}``
  with one of the documented internal causes;
* every JSON body conforms to the operation's documented response schema (schemathesis's
  ``response_schema_conformance``). Both files document ``200`` plus a ``default`` response
  (``googleRpcStatus``), so error bodies are validated too; with ``default`` present every status
  is documented, which is why ``status_code_conformance`` is not run (it could never fail).

To reach past "not found", generated IDs, namespaces and names are sometimes swapped for those of
objects seeded before each operation's test (alice's and bob's experiments, pipelines, versions,
runs and recurring runs), so the fuzzer also hits the authorized and denied paths.

The swagger files are read from ``$KFP_ISOLATION_SPECS`` (default ``<project>/../shared/specs``)
and only adapted in memory: schemathesis 4.32 cannot format path templates whose parameter names
contain a dot (``{pipeline.pipeline_id}``), so those parameters are renamed; the URL sent is the
same.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import response_schema_conformance

from emulator.core import Emulator
from emulator.serving import EmulatorServer
from emulator.testing import (
    OWNER,
    OWNER_NAMESPACE,
    STRANGER,
    STRANGER_NAMESPACE,
    KfpTestEnv,
    standard_profiles,
)

pytestmark = pytest.mark.fuzz

# Examples per operation in the fuzzing phase (each case is sent twice); raise it for a deeper,
# slower hunt: KFP_ISOLATION_FUZZ_EXAMPLES=200 pytest tests/fuzz
MAX_EXAMPLES = int(os.environ.get("KFP_ISOLATION_FUZZ_EXAMPLES") or 8)
PROJECT = Path(__file__).resolve().parents[2]
USERID_HEADER = "kubeflow-userid"
IDENTITIES: tuple[tuple[str, dict[str, str]], ...] = (
    ("alice", {USERID_HEADER: OWNER}),
    ("anonymous", {}),
)
WATCHED_LOGGERS = ("kfp_isolation.emulator", "uvicorn.error")

STATUS_TYPE = "type.googleapis.com/google.rpc.Status"
# Internal causes the real server turns into 500 "Internal Server Error" (spec 4.1, 5.3, and run
# or recurring-run creation whose pipeline spec is missing, unparsable or unresolvable).
DOCUMENTED_500_CAUSES = (
    "Experiment must have a non-empty name",
    "Experiment.Name length cannot exceed",
    "Experiment.Namespace length cannot exceed",
    "Run name cannot be empty",
    "Recurring run's name cannot be empty",
    "Job name cannot be empty",
    "due to error fetching manifest",
)

PIPELINE_SPEC = {
    "pipelineInfo": {"name": "fuzz-seed"},
    "root": {"dag": {"tasks": {}}},
    "schemaVersion": "2.1.0",
    "sdkVersion": "kfp-2.17.3",
}


# -- schemas ---------------------------------------------------------------------------------


def specs_dir() -> Path:
    return Path(os.environ.get("KFP_ISOLATION_SPECS") or PROJECT.parent / "shared" / "specs")


def _undotted(name: str) -> str:
    return name.replace(".", "_")


def fuzzable_copy(raw: dict[str, Any]) -> dict[str, Any]:
    """An in-memory copy of a swagger document with dotted path parameter names renamed."""
    spec = copy.deepcopy(raw)
    paths: dict[str, Any] = {}
    for template, operations in spec["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path":
                    parameter["name"] = _undotted(parameter["name"])
        renamed = re.sub(r"{([^}]+)}", lambda m: "{" + _undotted(m.group(1)) + "}", template)
        paths[renamed] = operations
    spec["paths"] = paths
    return spec


def load_schema(version: str) -> schemathesis.BaseSchema:
    path = specs_dir() / f"{version}.kfp_api_single_file.swagger.json"
    if not path.is_file():
        pytest.fail(f"swagger file {path} not found; set KFP_ISOLATION_SPECS to the directory "
                    "holding the official {v1beta1,v2beta1}.kfp_api_single_file.swagger.json",
                    pytrace=False)
    config = schemathesis.Config()
    config.projects.default.generation.update(max_examples=MAX_EXAMPLES, deterministic=True,
                                              database="none")
    schema = schemathesis.openapi.from_dict(fuzzable_copy(json.loads(path.read_text())),
                                            config=config)
    _install_hooks(schema)
    return schema


# -- seeded objects and the hooks that reuse their IDs ----------------------------------------


# Which seeded objects a parameter or body field names, by its (undotted) key.
KEY_KINDS = {
    "experiment_id": "experiment",
    "run_id": "run",
    "recurring_run_id": "recurring",
    "job_id": "recurring",
    "pipeline_id": "pipeline",
    "pipelineid": "pipeline",
    "pipeline_pipeline_id": "pipeline",
    "pipeline_version_pipeline_id": "pipeline",
    "pipeline_version_id": "version",
    "version_id": "version",
    "pipeline_version_pipeline_version_id": "version",
    "namespace": "namespace",
    "name": "name",
}
# v1's bare ``{id}`` takes its kind from the collection in the path.
PATH_KINDS = (("/experiments", "experiment"), ("/runs", "run"), ("/jobs", "recurring"),
              ("/pipeline_versions", "version"), ("/pipelines", "pipeline"))
KNOWN: dict[str, list[str]] = {}  # kind -> seeded values, read by the hooks at draw time


def _kind(key: str, path: str) -> str:
    key = _undotted(key)
    if key in KEY_KINDS:
        return KEY_KINDS[key]
    if key == "id" or key.endswith("_id"):
        return next((kind for prefix, kind in PATH_KINDS if prefix in path), "any_id")
    return ""


@st.composite
def _reuse_known(draw: st.DrawFn, value: Any, path: str) -> Any:
    """``value`` with ID/name/namespace strings (at any depth) mostly replaced by seeded ones."""
    if isinstance(value, list):
        return [draw(_reuse_known(item, path)) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        pool = KNOWN.get(_kind(str(key), path), [])
        if pool and isinstance(item, str) and draw(st.integers(0, 3)) > 0:
            out[key] = draw(st.sampled_from(pool))
        else:
            out[key] = draw(_reuse_known(item, path))
    return out


def _install_hooks(schema: schemathesis.BaseSchema) -> None:
    def path_of(context: schemathesis.HookContext) -> str:
        return context.operation.path if context.operation is not None else ""

    @schema.hook("flatmap_path_parameters")
    def _path(context: schemathesis.HookContext, values: dict[str, Any]) -> Any:
        return _reuse_known(values, path_of(context))

    @schema.hook("flatmap_query")
    def _query(context: schemathesis.HookContext, values: dict[str, Any]) -> Any:
        return _reuse_known(values, path_of(context))

    @schema.hook("flatmap_body")
    def _body(context: schemathesis.HookContext, body: Any) -> Any:
        return _reuse_known(body, path_of(context))


def _ok(response: requests.Response, what: str) -> dict[str, Any]:
    assert response.status_code == 200, f"seeding {what}: {response.status_code} {response.text}"
    body: dict[str, Any] = response.json()
    return body


def seed(env: KfpTestEnv, owner: str, namespace: str) -> None:
    """One tenant's objects, created through the API as their owner."""
    session = env.as_user(owner)
    api = "/apis/v2beta1"
    experiment = _ok(session.post(f"{api}/experiments", json={
        "display_name": f"{namespace}-exp", "namespace": namespace}), "experiment")
    upload = session.post(f"{api}/pipelines/upload",
                          params={"name": f"{namespace}-pipe", "namespace": namespace},
                          files={"uploadfile": ("pipeline.yaml", json.dumps(PIPELINE_SPEC))})
    pipeline = _ok(upload, "pipeline")
    versions = _ok(session.get(f"{api}/pipelines/{pipeline['pipeline_id']}/versions"),
                   "versions")
    version_id = versions["pipeline_versions"][0]["pipeline_version_id"]
    reference = {"pipeline_id": pipeline["pipeline_id"], "pipeline_version_id": version_id}
    run = _ok(session.post(f"{api}/runs", json={
        "display_name": f"{namespace}-run", "experiment_id": experiment["experiment_id"],
        "pipeline_version_reference": reference}), "run")
    recurring = _ok(session.post(f"{api}/recurringruns", json={
        "display_name": f"{namespace}-rr", "experiment_id": experiment["experiment_id"],
        "pipeline_version_reference": reference, "mode": "ENABLE",
        "trigger": {"periodic_schedule": {"interval_second": "3600"}}}), "recurring run")
    seeded = {"experiment": experiment["experiment_id"], "pipeline": pipeline["pipeline_id"],
              "version": version_id, "run": run["run_id"],
              "recurring": recurring["recurring_run_id"], "name": pipeline["name"],
              "namespace": namespace}
    for kind, value in seeded.items():
        KNOWN.setdefault(kind, []).append(value)
        if kind not in ("name", "namespace"):
            KNOWN.setdefault("any_id", []).append(value)


# -- the server and the crash oracle ----------------------------------------------------------


class ErrorLog(logging.Handler):
    """Collects ERROR records of the emulator's and uvicorn's loggers."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(self.format(record))


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[EmulatorServer]:
    server = EmulatorServer(Emulator(profiles=standard_profiles())).start()
    yield server
    server.stop()


@dataclass
class FuzzTarget:
    url: str
    errors: ErrorLog
    session: requests.Session


@pytest.fixture
def fuzz_target(fuzz_server: EmulatorServer) -> Iterator[FuzzTarget]:
    """A freshly reset and seeded emulator, with its error log watched."""
    fuzz_server.emulator.reset()
    env = KfpTestEnv(fuzz_server.emulator, fuzz_server)
    KNOWN.clear()
    seed(env, OWNER, OWNER_NAMESPACE)
    seed(env, STRANGER, STRANGER_NAMESPACE)
    errors = ErrorLog()
    # uvicorn re-applies its logging config whenever a server is built: attach per test.
    loggers = [logging.getLogger(name) for name in WATCHED_LOGGERS]
    for logger in loggers:
        logger.addHandler(errors)
    with requests.Session() as session:
        yield FuzzTarget(fuzz_server.url, errors, session)
    for logger in loggers:
        logger.removeHandler(errors)


# -- oracles ----------------------------------------------------------------------------------


def assert_documented_server_error(case: schemathesis.Case,
                                   response: schemathesis.Response) -> None:
    """A 5xx is allowed only as the real server's documented 500 Internal Server Error, or as
    grpc-gateway's 501 for a method the path does not serve (spec 5.1)."""
    if response.status_code < 500:
        return
    method = str(response.request.method).upper()
    request = f"{method} {response.request.url}"
    served = {m.upper() for m in case.operation.schema.raw_schema["paths"][case.operation.path]}
    if method not in served:
        assert (response.status_code, response.json()) == (
            501, {"code": 12, "message": "Method Not Allowed"}), \
            f"unexpected answer to an unserved method {request}: {response.text[:500]}"
        return
    assert response.status_code == 500, \
        f"undocumented {response.status_code} for {request}: {response.text[:500]}"
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"code", "message", "details"}, \
        f"500 body is not a google.rpc.Status for {request}: {body}"
    assert body["code"] == 13, f"500 without gRPC code 13 for {request}: {body}"
    assert body["details"] == [
        {"@type": STATUS_TYPE, "code": 13, "message": "Internal Server Error"}], \
        f"500 details differ from the real server's for {request}: {body}"
    message = body["message"]
    assert isinstance(message, str) and "InternalServerError: Internal Server Error: " in message
    assert any(cause in message for cause in DOCUMENTED_500_CAUSES), \
        f"500 for an undocumented cause on {request}: {message}"


def exercise(case: schemathesis.Case, target: FuzzTarget) -> None:
    for identity, headers in IDENTITIES:
        logged = len(target.errors.records)
        try:
            response = case.call(base_url=target.url, session=target.session, headers=headers)
        except requests.RequestException as exc:
            pytest.fail(f"[{identity}] transport error (server crash?) on "
                        f"{case.method} {case.formatted_path}: {exc!r}")
        new_errors = target.errors.records[logged:]
        assert not new_errors, f"[{identity}] the server logged errors:\n" + "\n".join(new_errors)
        assert_documented_server_error(case, response)
        case.validate_response(response, checks=[response_schema_conformance],
                               headers=headers)


# -- the tests: one per operation and API version ----------------------------------------------

V1 = load_schema("v1beta1")
V2 = load_schema("v2beta1")
FUZZ_SETTINGS = settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None,
                         deadline=None, suppress_health_check=list(HealthCheck))


@V1.parametrize()
@FUZZ_SETTINGS
def test_v1beta1(case: schemathesis.Case, fuzz_target: FuzzTarget) -> None:
    exercise(case, fuzz_target)


@V2.parametrize()
@FUZZ_SETTINGS
def test_v2beta1(case: schemathesis.Case, fuzz_target: FuzzTarget) -> None:
    exercise(case, fuzz_target)

"""The report writers: one hand-made run with every outcome, written four ways.

The run carries secrets that redaction upstream should have removed (a JWT in a body, a bearer
token in a message, a session cookie in a header, a login form's password), to prove the
writers' own scrubbing keeps them out of every file.
"""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from conformance.catalog import FEATURES, PROFILES
from conformance.outcomes import Outcome
from conformance.report import (
    REPORT_FILES,
    schema,
    to_cucumber,
    to_document,
    validate_document,
    validate_report,
    write_reports,
)
from conformance.report.redaction import REDACTED, scrub
from conformance.results import (
    REPORT_API_VERSION,
    Cell,
    Coverage,
    Operation,
    RunResult,
    ScenarioResult,
    StepResult,
)
from conformance.world import Exchange

JWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJlLXNlY3JldA"
BEARER = "sk-fake-bearer-4f1e9c"
COOKIE = "Q29va2llU2VjcmV0VmFsdWU"
PASSWORD = "hunter2-not-a-real-one"
SECRETS = (JWT, BEARER, COOKIE, PASSWORD, "c2lnbmF0dXJlLXNlY3JldA")

G, W, T = "Given", "When", "Then"


def step(keyword: str, text: str, status: str = "passed", error: str = "") -> StepResult:
    return StepResult(keyword, text, status, 0.01, error)


def scenario(name: str, outcome: Outcome, tags: list[str], *, feature: str = "Experiments",
             file: str = "experiments.feature", steps: list[StepResult] | None = None,
             message: str = "", exchanges: list[Exchange] | None = None,
             line: int = 10) -> ScenarioResult:
    return ScenarioResult(
        id=f"features/test_features.py::{name.replace(' ', '_')}", feature=feature,
        feature_file=file, name=name, line=line, tags=tags, outcome=outcome, message=message,
        duration=0.25, steps=steps or [], exchanges=exchanges or [])


LEAKY = Exchange(
    actor="bob", door="gateway", method="GET",
    url="https://kf.example/pipeline/apis/v2beta1/experiments/e1",
    request_headers={"Cookie": f"oauth2_proxy_kubeflow={COOKIE}", "Accept": "*/*"},
    request_body=f"login=bob%40example.com&password={PASSWORD}",
    status=200,
    response_body=json.dumps({"display_name": "plans", "note": f"token {JWT}"}),
)
DENIED = Exchange("bob", "direct", "DELETE", "http://kfp/apis/v2beta1/experiments/e1",
                  {"kubeflow-userid": "bob@example.com"}, "", 403,
                  '{"code": 7, "message": "bob@example.com cannot delete"}\x00\x1b[0m')

SCENARIOS = [
    scenario("owner reads her experiment", Outcome.PASS, ["experiments", "core"],
             steps=[step(G, 'alice created an experiment "plans" in alice'),
                    step(W, 'alice gets the experiment "plans"'),
                    step(T, "the request succeeds")],
             exchanges=[DENIED]),
    scenario("stranger cannot read the experiment", Outcome.FAIL, ["experiments", "core"],
             line=20,
             steps=[step(G, 'alice created an experiment "plans" in alice'),
                    step(W, 'bob gets the experiment "plans"'),
                    step(T, "the request is denied", "failed",
                         f"expected 403, got 200 (Authorization: Bearer {BEARER})"),
                    step(T, 'the experiment "plans" is unchanged', "skipped")],
             message=f"expected 403 PermissionDenied naming bob, got 200; sent Bearer {BEARER}",
             exchanges=[LEAKY]),
    scenario("contributor edits a run", Outcome.ERROR, ["runs", "core", "roles"],
             feature="Runs", file="runs.feature",
             steps=[step(G, 'carol created a run "r1" in alice', "failed",
                         "HarnessError: the owner could not create the run"),
                    step(T, "the request succeeds", "skipped")],
             message="HarnessError: the owner could not create the run"),
    scenario("cleanup breaks", Outcome.ERROR, ["runs", "roles"], feature="Runs",
             file="runs.feature", line=30, exchanges=[DENIED],
             steps=[step(G, 'alice created a run "r2" in alice'),
                    step(T, "the request succeeds")],
             message="teardown: cleanup could not delete run r2"),
    scenario("lists are filtered", Outcome.SKIPPED, ["lists", "core"], feature="Lists",
             file="lists.feature",
             steps=[step(W, "alice lists experiments in alice", "skipped")],
             message="deselected by -k"),
    scenario("forged headers are ignored", Outcome.NOT_SUPPORTED,
             ["identity", "trust-boundary", "requires-gateway"], feature="Identity",
             file="identity.feature",
             message="not supported: needs the ingress gateway with its login proxy"),
    scenario("pipelines are shared", Outcome.LIMITATION_PRESENT,
             ["shared-pipelines", "limitations"], feature="Shared pipelines",
             file="shared-pipelines.feature",
             steps=[step(G, 'alice uploaded a pipeline "p"'), step(T, "bob can read it")]),
    scenario("metadata is shared", Outcome.LIMITATION_LIFTED,
             ["shared-metadata", "limitations"], feature="Shared metadata",
             file="shared-metadata.feature",
             steps=[step(G, "alice ran a pipeline"),
                    step(T, "bob sees its executions", "failed", "bob saw nothing")],
             message="bob saw nothing"),
]

COVERAGE = Coverage(
    operations=[
        Operation("v1beta1", "ExperimentService_ListExperiment", "GET", "/apis/v1beta1/experiments",
                  True),
        Operation("v2beta1", "ExperimentService_DeleteExperiment", "DELETE",
                  "/apis/v2beta1/experiments/{experiment_id}", True),
        Operation("v2beta1", "RunService_ReportRunMetrics", "POST",
                  "/apis/v2beta1/runs/{run_id}:reportMetrics", False,
                  "called by the persistence agent, not by users"),
    ],
    identities=["owner", "stranger", "anonymous"],
    cells=[
        Cell("v2beta1", "ExperimentService_ListExperiment", "owner", "allowed", Outcome.PASS,
             "m1"),
        Cell("v2beta1", "ExperimentService_ListExperiment", "anonymous", "unauthenticated",
             Outcome.FAIL, "m2"),
        Cell("v2beta1", "ExperimentService_DeleteExperiment", "stranger", "denied", Outcome.PASS,
             "m3"),
    ],
)


def make_run(scenarios: list[ScenarioResult] | None = None) -> RunResult:
    return RunResult(
        tool_version="0.1.0", started_at="2025-01-02T03:04:05Z", duration=12.5,
        target={"kind": "KfpTarget", "name": "staging <cluster>", "mode": "full-outside",
                "kfp": {"gateway": "https://kf.example/pipeline"},
                "users": [{"email": "alice@example.com", "password": REDACTED}]},
        kfp_version="2.5.0", mode="full-outside",
        scenarios=list(SCENARIOS if scenarios is None else scenarios), coverage=COVERAGE,
        configuration={"features": "features", "markers": "not slow",
                       "proxy": f"Bearer {BEARER}"})


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_reports(make_run(), tmp_path_factory.mktemp("reports"))


@pytest.fixture(scope="module")
def document(written: dict[str, Path]) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(written["yaml"].read_text())
    return loaded


# --- scrub ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, kept", [
    (f"Authorization: Bearer {BEARER}", "Authorization: Bearer <redacted>"),
    (f'{{"authorization": "bearer {BEARER}"}}', '{"authorization": "bearer <redacted>"}'),
    (f"id_token={JWT}&x=1", "id_token=<redacted>&x=1"),
    (f"Cookie: oauth2_proxy_kubeflow={COOKIE}; other=1",
     "Cookie: oauth2_proxy_kubeflow=<redacted>; other=1"),
    (f"oauth2_proxy_kubeflow_0={COOKIE}", "oauth2_proxy_kubeflow_0=<redacted>"),
    (f"login=alice%40example.com&password={PASSWORD}&x=1",
     "login=alice%40example.com&password=<redacted>&x=1"),
    (f'{{"password": "{PASSWORD}"}}', '{"password": "<redacted>"}'),
    (f"(sent Bearer {BEARER})", "(sent Bearer <redacted>)"),
    ("no secret in here: 403 PermissionDenied", "no secret in here: 403 PermissionDenied"),
    ("eyJ alone is not a token", "eyJ alone is not a token"),
])
def test_scrub_replaces_secrets(text: str, kept: str) -> None:
    assert scrub(text) == kept
    assert scrub(scrub(text)) == kept  # idempotent


# --- the files -----------------------------------------------------------------------------

def test_write_reports_writes_the_four_files(written: dict[str, Path]) -> None:
    assert set(written) == set(REPORT_FILES)
    for key, path in written.items():
        assert path.name == REPORT_FILES[key]
        assert path.stat().st_size > 0


@pytest.mark.parametrize("key", list(REPORT_FILES))
def test_no_secret_in_any_report(written: dict[str, Path], key: str) -> None:
    text = written[key].read_text(encoding="utf-8")
    for secret in SECRETS:
        assert secret not in text, f"{secret} leaked into {REPORT_FILES[key]}"
    assert REDACTED in text or "&lt;redacted&gt;" in text


# --- report.yaml and its schema ------------------------------------------------------------

def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())


def test_report_yaml_validates(written: dict[str, Path], document: dict[str, Any]) -> None:
    assert validate_report(written["yaml"]) == []
    assert document["apiVersion"] == REPORT_API_VERSION
    assert document["kind"] == "ConformanceReport"
    assert document["summary"]["verdict"] == "fail"
    assert document["summary"]["line"] == make_run().summary_line()
    assert document["summary"]["counts"] == {
        "pass": 1, "fail": 1, "error": 2, "skipped": 1, "not supported": 1,
        "limitation present": 1, "limitation lifted": 1}


def test_profiles_results(document: dict[str, Any]) -> None:
    profiles = {p["name"]: p for p in document["profiles"]}
    assert list(profiles) == list(PROFILES)
    assert profiles["core"]["result"] == "failure"  # one failed
    assert profiles["roles"]["result"] == "partial"  # errors only
    assert profiles["trust-boundary"]["result"] == "partial"  # not supported only
    assert profiles["limitations"]["result"] == "success"  # present and lifted
    assert profiles["standalone"]["result"] == "not run"  # nothing ran
    core = profiles["core"]
    assert core["statistics"]["pass"] == 1 and core["statistics"]["fail"] == 1
    # The contributor's scenario is tagged core and roles: it counts under roles only.
    assert core["failed"] == [SCENARIOS[1].id]
    assert SCENARIOS[2].id in profiles["roles"]["failed"]
    assert core["skipped"] == [{"id": SCENARIOS[4].id, "outcome": "skipped",
                                "reason": "deselected by -k"}]
    assert profiles["trust-boundary"]["skipped"][0]["outcome"] == "not supported"


def test_a_profile_succeeds_when_all_pass() -> None:
    run = make_run([SCENARIOS[0], SCENARIOS[6]])
    assert {p["name"]: p["result"] for p in to_document(run)["profiles"]}["core"] == "success"
    assert to_document(run)["summary"]["verdict"] == "pass"


def test_features_limitations_failures_skipped(document: dict[str, Any]) -> None:
    features = document["features"]
    supported = {f["name"] for f in features["supported"]}
    assert supported == {"experiments", "shared-pipelines", "shared-metadata"}
    assert [(f["name"], f["reasons"]) for f in features["unsupported"]] == [
        ("identity", ["not supported: needs the ingress gateway with its login proxy"])]
    untested = {f["name"] for f in features["untested"]}
    assert untested == set(FEATURES) - supported - {"identity"}
    assert {(item["feature"], item["result"]) for item in document["limitations"]} == {
        ("shared-pipelines", "present"), ("shared-metadata", "lifted")}
    failures = {f["name"]: f for f in document["failures"]}
    assert set(failures) == {"stranger cannot read the experiment", "contributor edits a run",
                             "cleanup breaks"}
    failure = failures["stranger cannot read the experiment"]
    assert failure["outcome"] == "fail" and failure["feature"] == "experiments"
    assert [s["status"] for s in failure["steps"]] == ["passed", "passed", "failed", "skipped"]
    cookie = failure["exchanges"][0]["request_headers"]["Cookie"]
    assert cookie == "oauth2_proxy_kubeflow=<redacted>"
    assert {s["outcome"] for s in document["skipped"]} == {"skipped", "not supported"}
    coverage = document["coverage"]
    assert [op["covered"] for op in coverage["operations"]] == [True, True, False]
    assert coverage["cells"][1] == {"api": "v2beta1",
                                    "operation_id": "ExperimentService_ListExperiment",
                                    "identity": "anonymous", "expected": "unauthenticated",
                                    "outcome": "fail", "scenario": "m2"}
    assert document["configuration"]["proxy"] == "Bearer <redacted>"


def _broken(document: dict[str, Any], change: Any) -> list[str]:
    broken = copy.deepcopy(document)
    change(broken)
    return validate_document(broken)


def test_broken_documents_are_reported(document: dict[str, Any], tmp_path: Path) -> None:
    errors = _broken(document, lambda d: d.pop("summary"))
    assert errors and any("'summary' is a required property" in e for e in errors)
    errors = _broken(document, lambda d: d["profiles"][0].update(result="great"))
    assert errors == [f"profiles/0/result: 'great' is not one of "
                      f"{['success', 'partial', 'failure', 'not run']}"]
    errors = _broken(document, lambda d: d["summary"]["counts"].update({"lifted": 1}))
    assert errors and errors[0].startswith("summary/counts:")
    errors = _broken(document, lambda d: d["coverage"]["cells"][0].update(outcome="passed"))
    assert errors and errors[0].startswith("coverage/cells/0/outcome:")
    errors = _broken(document, lambda d: d.update(apiVersion="kfp-isolation/v0"))
    assert len(errors) == 1 and "apiVersion" in errors[0] and REPORT_API_VERSION in errors[0]

    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: [unclosed\n")
    errors = validate_report(bad)
    assert len(errors) == 1 and errors[0].startswith(f"{bad}: not valid YAML:")
    bad.write_text("- a list\n- not a mapping\n")
    assert validate_report(bad) == ["the report is not a mapping but list"]
    broken = copy.deepcopy(document)
    broken["apiVersion"] = "v2"
    bad.write_text(yaml.safe_dump(broken))
    assert len(validate_report(bad)) == 1
    errors = validate_report(tmp_path / "missing.yaml")
    assert len(errors) == 1 and "cannot read the report" in errors[0]


# --- junit.xml -----------------------------------------------------------------------------

def test_junit_counts(written: dict[str, Path]) -> None:
    root = ET.parse(written["junit"]).getroot()
    assert root.tag == "testsuites"
    assert {k: root.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "8", "failures": "1", "errors": "2", "skipped": "2"}
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert list(suites) == ["Experiments", "Runs", "Lists", "Identity", "Shared pipelines",
                            "Shared metadata"]
    for suite in suites.values():
        cases = suite.findall("testcase")
        assert suite.get("tests") == str(len(cases))
        for tag, count in (("failure", "failures"), ("error", "errors"),
                           ("skipped", "skipped")):
            assert suite.get(count) == str(sum(c.find(tag) is not None for c in cases))
    failed = suites["Experiments"].findall("testcase")[1]
    assert failed.get("classname") == "Experiments"
    assert failed.get("name") == "stranger cannot read the experiment"
    assert failed.get("time") == "0.250"
    failure = failed.find("failure")
    assert failure is not None
    assert failure.get("message", "").startswith("expected 403 PermissionDenied naming bob")
    assert "GET https://kf.example/pipeline/apis/v2beta1/experiments/e1 -> 200" in (
        failure.text or "")
    skipped = suites["Identity"].find("testcase/skipped")
    assert skipped is not None and skipped.get("message", "").startswith("not supported")
    lifted = suites["Shared metadata"].find("testcase")
    assert lifted is not None and lifted.find("failure") is None
    assert (lifted.findtext("system-out") or "").startswith("limitation lifted")
    present = suites["Shared pipelines"].find("testcase")
    assert present is not None and len(present) == 1
    assert (present.findtext("system-out") or "").startswith("limitation present")


# --- cucumber.json -------------------------------------------------------------------------

def test_cucumber_structure_and_statuses(written: dict[str, Path]) -> None:
    features = json.loads(written["cucumber"].read_text())
    assert [f["uri"] for f in features] == [
        "experiments.feature", "runs.feature", "lists.feature", "identity.feature",
        "shared-pipelines.feature", "shared-metadata.feature"]
    for feature in features:
        assert feature["keyword"] == "Feature" and feature["line"] >= 1
        assert {"id", "name", "tags", "elements"} <= set(feature)
        for element in feature["elements"]:
            assert element["type"] == "scenario" and element["keyword"] == "Scenario"
            assert element["id"].startswith(feature["id"] + ";")
            assert all(tag["name"].startswith("@") for tag in element["tags"])
            for s in element["steps"]:
                assert s["keyword"].endswith(" ") and s["keyword"].strip() in (G, W, T)
                assert s["result"]["status"] in ("passed", "failed", "skipped", "undefined")
                assert isinstance(s["result"]["duration"], int)
    by_name = {e["name"]: e for f in features for e in f["elements"]}
    experiments = features[0]
    assert experiments["tags"] == [{"name": "@experiments"}, {"name": "@core"}]

    def statuses(name: str) -> list[str]:
        return [s["result"]["status"] for s in by_name[name]["steps"]]

    assert statuses("owner reads her experiment") == ["passed"] * 3
    assert by_name["owner reads her experiment"]["steps"][0]["result"]["duration"] == 10_000_000
    assert statuses("stranger cannot read the experiment") == [
        "passed", "passed", "failed", "skipped"]
    failed = by_name["stranger cannot read the experiment"]["steps"][2]["result"]
    assert failed["error_message"] == "expected 403, got 200 (Authorization: Bearer <redacted>)"
    assert statuses("contributor edits a run") == ["failed", "skipped"]
    # An error outside the steps (teardown) is a failed after hook.
    assert statuses("cleanup breaks") == ["passed", "passed"]
    assert by_name["cleanup breaks"]["after"][0]["result"]["status"] == "failed"
    assert statuses("lists are filtered") == ["skipped"]
    assert statuses("pipelines are shared") == ["passed", "passed"]
    assert statuses("metadata is shared") == ["passed", "passed"]  # a lifted limitation passes
    assert by_name["metadata is shared"]["description"] == "limitation lifted"
    assert to_cucumber(make_run([])) == []


# --- report.html ---------------------------------------------------------------------------

def test_html_shows_summary_matrix_failure_and_no_secret(written: dict[str, Path]) -> None:
    page = written["html"].read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "<link" not in page and "src=" not in page
    from html import escape
    assert escape(make_run().summary_line()) in page
    assert 'class="banner verdict-fail"' in page
    assert "staging &lt;cluster&gt;" in page and "<cluster>" not in page
    assert "full-outside" in page and "2.5.0" in page
    # Matrix: operations as rows with their outcome per identity, untested cells as a dash.
    assert '<span class="o o-fail">fail</span> <span class="expected">unauthenticated</span>' \
        in page
    assert '<span class="untested">—</span>' in page
    assert "RunService_ReportRunMetrics" in page
    assert "called by the persistence agent, not by users" in page
    # Failures come first, with their exchange; then limitations, skipped, all scenarios.
    failures = page.index("<h2>Failures (3)</h2>")
    assert failures < page.index("<h2>Limitations</h2>") < page.index(
        "<h2>Not supported and skipped</h2>") < page.index("<h2>All scenarios</h2>")
    exchange = page.index("https://kf.example/pipeline/apis/v2beta1/experiments/e1", failures)
    assert exchange < page.index("<h2>Limitations</h2>")
    assert "password=&lt;redacted&gt;" in page
    assert "not supported: needs the ingress gateway with its login proxy" in page
    assert page.count("<details><summary>") >= 6
    for secret in SECRETS:
        assert secret not in page


def test_secret_keys_and_url_credentials_are_redacted_whatever_their_values() -> None:
    from conformance.report.redaction import scrub_all

    target = {"kfp": {"gateway": "https://ops:hunter2@kubeflow.example.com/pipeline"},
              "dex": {"password": "hunter2", "password_env": "DEX_PASSWORD"},
              "registry_token": "abc123", "name": "prod"}
    cleaned = scrub_all(target)
    assert "hunter2" not in str(cleaned) and "abc123" not in str(cleaned)
    assert cleaned["kfp"]["gateway"] == "https://<redacted>@kubeflow.example.com/pipeline"
    assert cleaned["dex"]["password_env"] == "DEX_PASSWORD"  # names a variable, not a secret
    assert cleaned["name"] == "prod"

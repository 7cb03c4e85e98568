"""The web UI's server side over HTTP, through the gateway (no browser needed): the page shell
for every UI path, its files with a strict Content-Security-Policy, and the emulator's decisions
view."""

from __future__ import annotations

import re

import requests

from emulator.testing import OWNER, STRANGER
from emulator.webui.decisions import MAX_LIMIT, NOTE
from tests.browser.conftest import WebEnv

DECISIONS = "/pipeline/_emulator/decisions"
MARKUP_SINKS = re.compile(r"\.(innerHTML|outerHTML)\s*\+?=|insertAdjacentHTML|document\.write|"
                          r"\beval\(|new Function\(")


def test_every_ui_path_is_the_page_with_a_strict_policy(web: WebEnv) -> None:
    alice = web.api(OWNER)
    shell = alice.get(f"{web.url}/pipeline/").text
    for path in ("/pipeline/", "/pipeline/runs/details/x", "/pipeline/experiments/details/y"):
        response = alice.get(web.url + path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert '<script src="/pipeline/_emulator/webui/app.js" defer></script>' in response.text
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe" not in policy
    for name in ("app.js", "mlmd.js"):  # no way for a string to become markup
        script = alice.get(f"{web.url}/pipeline/_emulator/webui/{name}")
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("text/javascript")
        assert not MARKUP_SINKS.search(script.text), name
    assert alice.get(f"{web.url}/pipeline/_emulator/webui/nothing.js").status_code == 404
    for name in ("..%2Fapp.py", "%2E%2E/__init__.py", "..%2F..%2Fwebui%2Fapp.py"):
        # Dot segments are removed before routing: at most the page shell, never a file.
        response = alice.get(f"{web.url}/pipeline/_emulator/webui/{name}")
        assert "from __future__" not in response.text, name
        assert response.status_code == 404 or response.text == shell, name


def test_the_bundled_demo_pipeline_is_accepted_by_the_api(web: WebEnv) -> None:
    spec = web.api(OWNER).get(f"{web.url}/pipeline/_emulator/webui/demo-pipeline.json").json()
    assert spec["pipelineInfo"]["name"] == "isolation-demo"
    experiment = web.create_experiment(OWNER, "demo", "alice")
    run = web.ok(OWNER, "POST", "/runs", json={
        "display_name": "demo", "experiment_id": experiment["experiment_id"],
        "pipeline_spec": spec})
    assert web.finish(OWNER, run["run_id"]) == "SUCCEEDED"


def test_the_decisions_view_shows_who_was_refused_what_and_why(web: WebEnv) -> None:
    alice = web.api(OWNER)
    start = alice.get(web.url + DECISIONS).json()["latest"]
    # Positive control first: alice may list in her namespace; then bob is refused there.
    assert web.call(OWNER, "GET", "/experiments", params={"namespace": "alice"}).ok
    refused = web.call(STRANGER, "GET", "/experiments", params={"namespace": "alice"})
    assert refused.status_code == 403

    everything = alice.get(web.url + DECISIONS, params={"since": start}).json()
    assert everything["note"] == NOTE and "not part of Kubeflow Pipelines" in NOTE
    rows = [(d["user"], d["namespace"], d["resource"], d["verb"], d["allowed"])
            for d in everything["decisions"]]
    experiments = "experiments"
    assert (OWNER, "alice", experiments, "list", True) in rows
    assert (STRANGER, "alice", experiments, "list", False) in rows
    assert rows.index((STRANGER, "alice", experiments, "list", False)) < \
        rows.index((OWNER, "alice", experiments, "list", True))  # newest first

    only_refused = alice.get(web.url + DECISIONS,
                             params={"since": start, "refused": "true"}).json()["decisions"]
    assert only_refused and all(not d["allowed"] for d in only_refused)
    bob = next(d for d in only_refused if d["user"] == STRANGER)
    assert (bob["namespace"], bob["group"]) == ("alice", "pipelines.kubeflow.org")
    assert bob["reason"] == web.emulator.decisions(bob["seq"] - 1)[0].reason
    latest = everything["latest"]
    assert alice.get(web.url + DECISIONS, params={"since": latest}).json()["decisions"] == []


def test_bad_decision_queries_are_400_with_the_reason(web: WebEnv) -> None:
    alice = web.api(OWNER)
    assert alice.get(web.url + DECISIONS, params={"limit": 1}).status_code == 200  # control
    for params, message in (({"since": "x"}, "since must be an integer, got 'x'"),
                            ({"since": "-1"}, "since must be at least 0, got -1"),
                            ({"limit": "0"}, f"limit must be between 1 and {MAX_LIMIT}, got 0"),
                            ({"refused": "maybe"}, "refused must be true or false, got 'maybe'")):
        response = alice.get(web.url + DECISIONS, params=params)
        assert (response.status_code, response.json()) == (400, {"error": message}), params


def test_the_ui_is_behind_the_login(web: WebEnv) -> None:
    assert web.api(OWNER).get(web.url + DECISIONS).status_code == 200  # control
    anonymous = requests.get(web.url + DECISIONS, headers={"Accept": "application/json"})
    assert (anonymous.status_code, anonymous.text) == (401, "{}")
    page = requests.get(f"{web.url}/pipeline/")
    assert page.status_code == 403 and 'id="sign-in"' in page.text

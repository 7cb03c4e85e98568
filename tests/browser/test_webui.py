"""The web UI in a real browser: people sign in through the gateway's login flow, see only the
namespace they chose, create there, read a run's tasks and artifacts, and see refusals verbatim.
What the UI did is checked through the API, as each namespace's owner sees it."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from conformance.ui_driver import UiDriver, UiError
from emulator.core import DEFAULT_PASSWORD
from emulator.testing import CONTRIBUTOR, OWNER, STRANGER
from tests.browser.conftest import V2, WebEnv

ALICE, BOB, CAROL = OWNER, STRANGER, CONTRIBUTOR


def seed(web: WebEnv) -> None:
    """One experiment with one run in each namespace, made by its owner through the API."""
    for email, namespace in ((ALICE, "alice"), (BOB, "bob")):
        experiment = web.create_experiment(email, f"{namespace}-plans", namespace)
        web.create_run(email, f"{namespace}-run", experiment["experiment_id"])


def test_each_person_sees_only_the_namespace_they_chose(web: WebEnv, ui: UiDriver) -> None:
    seed(web)
    ui.sign_in(ALICE, DEFAULT_PASSWORD)
    assert ui.signed_in_user() == ALICE
    assert ui.namespaces() == ["alice"]
    ui.choose_namespace("alice")
    assert (ui.experiments(), ui.runs(), ui.last_error()) == (["alice-plans"], ["alice-run"],
                                                              None)

    ui.sign_in(BOB, DEFAULT_PASSWORD)  # the same page shows bob his own namespace
    assert ui.namespaces() == ["bob"]
    ui.choose_namespace("bob")
    assert (ui.experiments(), ui.runs(), ui.last_error()) == (["bob-plans"], ["bob-run"], None)

    ui.sign_in(CAROL, DEFAULT_PASSWORD)  # a contributor of alice's namespace
    assert ui.namespaces() == ["alice"]
    assert ui.page.inner_text("[data-testid=namespace] option[value=alice]") == \
        "alice (contributor)"
    ui.choose_namespace("alice")
    assert (ui.experiments(), ui.runs()) == (["alice-plans"], ["alice-run"])


def test_the_choice_is_remembered_across_reloads(web: WebEnv, ui: UiDriver) -> None:
    seed(web)
    ui.sign_in(CAROL, DEFAULT_PASSWORD)
    ui.choose_namespace("alice")
    assert parse_qs(urlsplit(ui.page.url).query)["namespace"] == ["alice"]
    ui.page.goto(f"{web.url}/pipeline/")  # no namespace in the address: localStorage has it
    ui.reload()
    assert ui.current_namespace() == "alice"
    assert ui.experiments() == ["alice-plans"]


def test_what_alice_creates_in_the_ui_lands_in_alice_only(web: WebEnv, ui: UiDriver) -> None:
    seed(web)
    ui.sign_in(ALICE, DEFAULT_PASSWORD)
    ui.choose_namespace("alice")
    ui.create_experiment("from-the-ui")
    ui.create_run("ui-run", "from-the-ui")
    assert sorted(ui.experiments()) == ["alice-plans", "from-the-ui"]
    assert sorted(ui.runs()) == ["alice-run", "ui-run"]

    assert web.names(ALICE, "experiments", "alice") == ["alice-plans", "from-the-ui"]
    assert web.names(ALICE, "runs", "alice") == ["alice-run", "ui-run"]
    experiments = web.ok(ALICE, "GET", "/experiments", params={"namespace": "alice"})
    made = {e["display_name"]: e for e in experiments["experiments"]}["from-the-ui"]
    assert made["namespace"] == "alice"
    runs = web.ok(ALICE, "GET", "/runs", params={"namespace": "alice"})["runs"]
    assert {r["display_name"]: r for r in runs}["ui-run"]["experiment_id"] == \
        made["experiment_id"]
    # Nothing landed in bob's namespace, and bob's page does not show it.
    assert web.names(BOB, "experiments", "bob") == ["bob-plans"]
    assert web.names(BOB, "runs", "bob") == ["bob-run"]
    ui.sign_in(BOB, DEFAULT_PASSWORD)
    ui.choose_namespace("bob")
    assert (ui.experiments(), ui.runs()) == (["bob-plans"], ["bob-run"])


def test_bob_cannot_pick_alice_and_forcing_it_shows_the_api_refusal_verbatim(
        web: WebEnv, ui: UiDriver) -> None:
    seed(web)
    ui.sign_in(BOB, DEFAULT_PASSWORD)
    ui.choose_namespace("bob")  # positive control: his own namespace loads without an error
    assert (ui.experiments(), ui.last_error()) == (["bob-plans"], None)
    with pytest.raises(UiError, match="does not offer 'alice'"):
        ui.choose_namespace("alice")

    ui.force_namespace("alice")
    assert ui.current_namespace() == "alice"
    assert (ui.experiments(), ui.runs()) == ([], [])
    assert "is not one of yours" in ui.page.inner_text("[data-testid=notice]")
    # The API's own answer to the same call, byte for byte, is on the page.
    expected = web.call(BOB, "GET", "/experiments", params={
        "namespace": "alice", "page_size": 100, "sort_by": "created_at desc",
        "filter": json.dumps({"predicates": [{"key": "storage_state", "operation": "NOT_EQUALS",
                                              "string_value": "ARCHIVED"}]},
                             separators=(",", ":"))})
    assert expected.status_code == 403
    shown = ui.errors()
    experiments_error = next(e for e in shown if f"{V2}/experiments?" in e)
    assert "403 Forbidden" in experiments_error
    assert expected.text in experiments_error
    assert "PermissionDenied: User 'bob@example.com' is not authorized" in experiments_error
    assert len(shown) == 3  # experiments, runs and recurring runs: each refusal shown

    # The emulator's decisions panel names the refusal, with the authorizer's reason.
    refusals = ui.decisions(refused_only=True)
    mine = [d for d in refusals if d["user"] == BOB and d["namespace"] == "alice"]
    assert {d["resource"] for d in mine} >= {"experiments.pipelines.kubeflow.org",
                                            "runs.pipelines.kubeflow.org"}
    assert all(d["allowed"] == "no" and "no binding" in d["reason"] for d in mine)
    assert "not part of KFP" in ui.page.inner_text("[data-testid=decisions-panel]")
    # Positive control: with allowed decisions included, bob's own namespace shows as allowed.
    everything = ui.decisions(refused_only=False)
    assert any(d["user"] == BOB and d["namespace"] == "bob" and d["allowed"] == "yes"
               for d in everything)


def test_run_details_show_tasks_and_readable_artifacts(web: WebEnv, ui: UiDriver) -> None:
    ui.sign_in(ALICE, DEFAULT_PASSWORD)
    ui.choose_namespace("alice")
    ui.create_experiment("details")
    ui.create_run("to-inspect", "details")
    run_id = web.ok(ALICE, "GET", "/runs", params={"namespace": "alice"})["runs"][0]["run_id"]
    assert web.finish(ALICE, run_id) == "SUCCEEDED"

    page = ui.open_run("to-inspect")
    assert (page["id"], page["state"]) == (run_id, "SUCCEEDED")
    api_tasks = web.ok(ALICE, "GET", f"/runs/{run_id}")["run_details"]["task_details"]
    assert {t["display_name"] for t in api_tasks} >= {"make-dataset", "summarize"}
    shown = {t["name"]: t for t in page["tasks"]}
    assert set(shown) == {t["display_name"] for t in api_tasks}
    assert shown["make-dataset"]["state"] == "SUCCEEDED"
    assert shown["make-dataset"]["pod"], page["tasks"]

    outputs = {(a["task"], a["output"]): a for a in page["artifacts"]}
    dataset = outputs[("make-dataset", "dataset")]
    assert dataset["uri"].startswith("minio://mlpipeline/private-artifacts/alice/"), dataset
    key = dataset["uri"].removeprefix("minio://mlpipeline/")
    stored = web.emulator.object_store.get_object("mlpipeline", key)
    assert stored is not None
    status, body = ui.get(dataset["link"])
    assert (status, body.encode()) == (200, stored.data)
    assert ("summarize", "metrics") in outputs

    logs = shown["make-dataset"]["logs"]
    status, text = ui.get(logs)
    assert status == 200, text

    # The same links are refused to bob: the UI server checks the namespace they name.
    ui.sign_in(BOB, DEFAULT_PASSWORD)
    status, text = ui.get(dataset["link"])
    assert status == 403, text
    status, text = ui.get(logs)
    assert status == 403, text


def test_server_strings_are_shown_as_text_never_as_markup(web: WebEnv, ui: UiDriver) -> None:
    hostile = '<img src=x onerror="window.__pwned=1">& <b>bold</b>'
    web.create_experiment(ALICE, hostile, "alice")
    ui.sign_in(ALICE, DEFAULT_PASSWORD)
    ui.choose_namespace("alice")
    assert ui.experiments() == [hostile]
    assert ui.page.locator("[data-testid=experiments] img").count() == 0
    assert ui.page.locator("[data-testid=experiments] b").count() == 0
    assert ui.page.evaluate("window.__pwned === undefined")

"""The UI's namespace guarantees: in a real browser (a UI driver), and as the calls a UI makes.

The browser steps sign people in through the deployment's own login page and read only what the
page shows; what they create is then checked through the API, as each tenant's owner sees it.
The API steps send exactly what the KFP UI sends for its namespace picker and its lists.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from pytest_bdd import parsers, then, when

from conformance.outcomes import HarnessError
from conformance.ui_driver import UiDriver
from conformance.world import EXPERIMENTS, World
from steps import oracles
from steps.generic import ACTOR, NAME, NAMES, TENANT, names_in
from steps.runs import RUNS

TENANTS_LIST = r"(?P<tenants>\w+(?:, \w+)*)"
ENV_INFO = "/api/workgroup/env-info"
# What the KFP UI's lists send: ten per page, newest first, archived ones left out.
_ACTIVE = quote(json.dumps({"predicates": [{"key": "storage_state", "operation": "NOT_EQUALS",
                                            "string_value": "ARCHIVED"}]}))
UI_LIST_QUERY = f"page_size=10&sort_by=created_at%20desc&filter={_ACTIVE}"


def _driver(world: World, request: pytest.FixtureRequest) -> UiDriver:
    driver = world.notes.get("ui driver")
    if isinstance(driver, UiDriver):
        return driver
    target = world.connection.target
    made = UiDriver(target.gateway)
    request.addfinalizer(made.close)
    world.notes["ui driver"] = made
    return made


def _tenants(world: World, text: str) -> list[str]:
    return sorted(world.cast.namespace(t.strip()) for t in text.split(","))


# -- in the browser -----------------------------------------------------------------------------

@when(parsers.re(ACTOR + f" signs in to the UI and chooses {TENANT}"))
def signs_in(world: World, request: pytest.FixtureRequest, actor: str, tenant: str) -> None:
    driver = _driver(world, request)
    email = world.cast.identity(actor)
    driver.sign_in(email, world.connection.password(email))
    driver.choose_namespace(world.cast.namespace(tenant))
    world.notes["ui user"] = actor


@then(parsers.re(f"the UI offers exactly the namespaces {TENANTS_LIST}"))
def ui_offers(world: World, request: pytest.FixtureRequest, tenants: str) -> None:
    offered = sorted(_driver(world, request).namespaces())
    assert offered == _tenants(world, tenants), f"the UI offers {offered}"


@then(parsers.re(f"the UI lists exactly the experiments {NAMES}"))
def ui_lists(world: World, request: pytest.FixtureRequest, names: str) -> None:
    driver = _driver(world, request)
    shown = sorted(driver.experiments())
    error = driver.last_error()
    assert error is None, f"the UI shows an error: {error}"
    assert shown == sorted(names_in(names)), f"the UI lists {shown}"


def _find(world: World, tenant: str, path: str, items: str, name: str) -> list[dict[str, Any]]:
    """What ``tenant``'s owner finds by that display name in the tenant's namespace."""
    owner = world.cast.owner(tenant)
    response = world.session(owner).get(
        f"{path}?namespace={world.cast.namespace(tenant)}&page_size=200")
    world.record(owner, world.mode_door, response)
    data = oracles.succeeded(response)
    return [item for item in data.get(items) or []
            if isinstance(item, dict) and item.get("display_name") == name]


def _remember_made(world: World, kind: str, name: str, tenant: str) -> None:
    """Hand what the UI made to the world (its cleanup deletes it), if it landed in the
    tenant's namespace at all; the Then steps judge where it landed."""
    path, items, key = {"experiment": (EXPERIMENTS, "experiments", "experiment_id"),
                        "run": (RUNS, "runs", "run_id")}[kind]
    found = _find(world, tenant, path, items, name)
    if found:
        world.remember(kind, name, str(found[0][key]), tenant, given=False)


@when(parsers.re(ACTOR + f" creates the experiment {NAME} in the UI"))
def creates_in_ui(world: World, request: pytest.FixtureRequest, actor: str, name: str) -> None:
    driver = _driver(world, request)
    driver.create_experiment(name)
    error = driver.last_error()
    if error:
        raise HarnessError(f"the UI could not create the experiment {name!r}: {error}")
    _remember_made(world, "experiment", name, world.cast.owner(actor))


@when(parsers.re(ACTOR + f" starts the run {NAME} of the demo pipeline in the experiment "
                 r'"(?P<experiment>[^"]+)" in the UI'))
def starts_in_ui(world: World, request: pytest.FixtureRequest, actor: str, name: str,
                 experiment: str) -> None:
    driver = _driver(world, request)
    driver.create_run(name, experiment)
    error = driver.last_error()
    if error:
        raise HarnessError(f"the UI could not start the run {name!r}: {error}")
    _remember_made(world, "run", name, world.cast.owner(actor))


@then(parsers.re(f"the (?P<kind>experiment|run) {NAME} exists in {TENANT} only"))
def exists_only_in(world: World, kind: str, name: str, tenant: str) -> None:
    path, items = {"experiment": (EXPERIMENTS, "experiments"), "run": (RUNS, "runs")}[kind]
    here = _find(world, tenant, path, items, name)
    assert len(here) == 1, f"expected one {kind} {name!r} in {tenant}, found {len(here)}"
    for other in (t for t in ("alice", "bob") if t != tenant):
        there = _find(world, other, path, items, name)
        assert not there, f"the {kind} {name!r} also landed in {other}"


# -- the calls a UI makes -----------------------------------------------------------------------

@when(parsers.re(ACTOR + r" asks the dashboard which namespaces (?:he|she|they) may use"))
def asks_dashboard(world: World, actor: str) -> None:
    """The central dashboard's env-info, which fills every Kubeflow UI's namespace picker."""
    session = world.session(actor, "gateway")
    world.actor, world.door = actor, "gateway"
    world.response = session.get(world.connection.target.gateway.rstrip("/") + ENV_INFO)
    world.record(actor, "gateway", world.response)


@then(parsers.re(f"the namespaces offered are exactly {TENANTS_LIST}"))
def namespaces_offered(world: World, tenants: str) -> None:
    data = oracles.succeeded(world.last())
    rows = data.get("namespaces") if isinstance(data, dict) else None
    assert isinstance(rows, list), f"env-info names no namespaces: {data}"
    offered = sorted(str(row.get("namespace")) for row in rows if isinstance(row, dict))
    assert offered == _tenants(world, tenants), f"the dashboard offers {offered}"


@when(parsers.re(ACTOR + r" makes the UI's (?P<what>experiment|run) list call for " + TENANT))
def ui_list_call(world: World, actor: str, what: str, tenant: str) -> None:
    path = EXPERIMENTS if what == "experiment" else RUNS
    world.send(actor, "GET", f"{path}?{UI_LIST_QUERY}&namespace={world.cast.namespace(tenant)}",
               door="gateway")


# -- the UI server's own answers ----------------------------------------------------------------

@when(parsers.re(ACTOR + r" sends GET (?P<path>\S+) through the gateway with the Referer "
                 r"(?P<referer>\S+)"))
def sends_with_referer(world: World, actor: str, path: str, referer: str) -> None:
    """A browser's request from a page the UI served at ``referer`` (a path below the UI's
    base URL, like ``path``): the old proxy middleware forwarded any request whose Referer
    named a ``/_proxy/`` URL to that URL's origin (ISO-017)."""
    base = world.session(actor, "gateway").base_url
    world.send(actor, "GET", path, door="gateway",
               headers={"Referer": base + world.resolve(referer)})


@then("the UI server serves its web page")
def serves_web_page(world: World) -> None:
    """What the UI server answers for a path of the UI itself: the web UI's HTML page (never
    what an API server or another in-cluster service answers)."""
    response = world.last()
    assert response.status_code == 200, \
        f"expected the UI's web page, got {response.status_code}: {response.text[:300]!r}"
    kind = response.headers.get("content-type", "")
    assert kind.startswith("text/html"), \
        f"expected the UI's web page (text/html), got {kind!r}: {response.text[:300]!r}"
    assert "<html" in response.text.lower(), \
        f"expected the UI's web page, got {response.text[:300]!r}"

"""List steps: experiments listed through either API version, with the options that could leak.

A list's scope is the namespace the request names; ``filter``, ``sort_by`` and ``page_token``
only shape what that scope holds (spec sections 4.9 and 6).  These steps send each option as
the API takes it (v2beta1 ``namespace=``, v1beta1 ``resource_reference_key``), keep the page
token an actor got, and check what came back by id and namespace as well as by name.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from pytest_bdd import parsers, then, when

from conformance.outcomes import HarnessError
from conformance.world import World
from steps import oracles
from steps.generic import ACTOR, NAMES, TENANT, names_in

API = r"(?P<api>v1beta1|v2beta1)"
# The filter operations of the API (spec section 6) a scenario may name.
OPERATIONS = r"(?P<op>EQUALS|NOT_EQUALS|IN|IS_SUBSTRING)"
PATHS = {"v2beta1": "/apis/v2beta1/experiments", "v1beta1": "/apis/v1beta1/experiments"}
PAGE_SIZE = 100  # more than any scenario makes: one page holds the whole scope
NAMESPACE_REF = "NAMESPACE"
TOKEN_NOTE = "page token of {actor}"
API_NOTE = "list api"


def _scope(world: World, api: str, tenant: str) -> dict[str, str]:
    namespace = world.cast.namespace(tenant)
    if api == "v1beta1":
        return {"resource_reference_key.type": NAMESPACE_REF,
                "resource_reference_key.id": namespace}
    return {"namespace": namespace}


def _list(world: World, actor: str, tenant: str, api: str, **options: Any) -> None:
    """Send one list request; placeholders in option values are filled before encoding."""
    query = {**_scope(world, api, tenant), "page_size": PAGE_SIZE, **options}
    world.notes[API_NOTE] = api
    world.send(actor, "GET", f"{PATHS[api]}?{urlencode(query)}")


def _filter(world: World, api: str, key: str, op: str, values: list[str]) -> str:
    """The JSON filter as each API version spells it (v1 ``op``, v2 ``operation``)."""
    resolved = [world.resolve(v) for v in values]
    predicate: dict[str, Any] = {"key": key, "op" if api == "v1beta1" else "operation": op}
    if op == "IN":
        predicate["string_values"] = {"values": resolved}
    else:
        if len(resolved) != 1:
            raise HarnessError(f"the operation {op} takes one value, the step gave {resolved}")
        predicate["string_value"] = resolved[0]
    return json.dumps({"predicates": [predicate]})


def listed(world: World) -> list[dict[str, Any]]:
    """The experiments of the last (successful) list answer."""
    data = oracles.succeeded(world.last())
    items = data.get("experiments") or []
    assert isinstance(items, list), f"experiments is not a list: {data}"
    return [item for item in items if isinstance(item, dict)]


def _name(item: dict[str, Any]) -> str:
    return str(item.get("display_name", item.get("name", "")))


def _id(item: dict[str, Any]) -> str:
    return str(item.get("experiment_id", item.get("id", "")))


def _namespace(item: dict[str, Any]) -> str:
    """v2beta1 has ``namespace``; v1beta1 names it in a NAMESPACE resource reference."""
    if "namespace" in item:
        return str(item["namespace"])
    for reference in item.get("resource_references") or []:
        key = reference.get("key") or {}
        if key.get("type") == NAMESPACE_REF:
            return str(key.get("id", ""))
    return ""


@when(parsers.re(ACTOR + f" lists experiments in {TENANT} with {API}"))
def lists_with_api(world: World, actor: str, tenant: str, api: str) -> None:
    _list(world, actor, tenant, api)


@when(parsers.re(ACTOR + f" lists experiments in {TENANT} with {API} where "
                 rf"(?P<key>\w+) {OPERATIONS} {NAMES}"))
def lists_filtered(world: World, actor: str, tenant: str, api: str, key: str, op: str,
                   names: str) -> None:
    _list(world, actor, tenant, api, filter=_filter(world, api, key, op, names_in(names)))


@when(parsers.re(ACTOR + f' lists experiments in {TENANT} with {API} sorted by "(?P<sort>[^"]+)"'))
def lists_sorted(world: World, actor: str, tenant: str, api: str, sort: str) -> None:
    _list(world, actor, tenant, api, sort_by=sort)


@when(parsers.re(ACTOR + f" lists experiments in {TENANT} with {API}, (?P<size>\\d+) per page, "
                 'sorted by "(?P<sort>[^"]+)"'))
def lists_a_page(world: World, actor: str, tenant: str, api: str, size: str,
                 sort: str) -> None:
    _list(world, actor, tenant, api, page_size=int(size), sort_by=sort)
    if world.last().status_code == 200:
        world.notes[TOKEN_NOTE.format(actor=actor)] = str(
            world.last().json().get("next_page_token") or "")


@when(parsers.re(ACTOR + f" lists experiments in {TENANT} with {API}, (?P<size>\\d+) per page, "
                 r"from the page token (?P<holder>\w+) got"))
def lists_from_token(world: World, actor: str, tenant: str, api: str, size: str,
                     holder: str) -> None:
    token = world.notes.get(TOKEN_NOTE.format(actor=holder))
    if not token:
        raise HarnessError(f"{holder} got no page token earlier in this scenario")
    _list(world, actor, tenant, api, page_size=int(size), page_token=token)


@then("the list continues on a next page")
def has_next_page(world: World) -> None:
    data = oracles.succeeded(world.last())
    assert data.get("next_page_token"), f"expected a next_page_token, got {data}"


@then(parsers.re(f"the listed experiments are exactly {NAMES}"))
def listed_exactly(world: World, names: str) -> None:
    found = sorted(_name(item) for item in listed(world))
    assert found == sorted(names_in(names)), f"expected exactly {names}, listed {found}"


@then("the listed experiments are none")
def listed_none(world: World) -> None:
    found = [_name(item) for item in listed(world)]
    assert not found, f"expected no experiment, listed {found}"


@then(parsers.re(f"the listed experiments are, in order, {NAMES}"))
def listed_in_order(world: World, names: str) -> None:
    found = [_name(item) for item in listed(world)]
    assert found == names_in(names), f"expected {names} in this order, listed {found}"


@then(parsers.re(f"the list shows nothing of {TENANT}'s"))
def nothing_of(world: World, tenant: str) -> None:
    """No row of ``tenant``: neither an object this scenario made there (by id) nor any row
    in its namespace (the same namespace name and prefix the cast gave it)."""
    namespace = world.cast.namespace(tenant)
    theirs = {named.id for named in world.objects.values() if named.tenant == tenant}
    leaked = [item for item in listed(world)
              if _id(item) in theirs or _namespace(item) == namespace]
    assert not leaked, f"the list shows {tenant}'s experiments: {leaked}"

"""Generic request and expectation steps: any actor, any path, the precise outcome."""

from __future__ import annotations

import re

from pytest_bdd import parsers, then, when

from conformance.targets import USERID_HEADER
from conformance.world import World
from steps import oracles

ACTOR = r"(?P<actor>anonymous|an admin|\w+'s service account|\w+)"
NAME = r'"(?P<name>[^"]+)"'
TENANT = r"(?P<tenant>\w+)"
# A list of names as written: "a", "b" (or nothing).
NAMES = r'(?P<names>nothing|"[^"]*"(?:, "[^"]*")*)'
_QUOTED = re.compile(r'"([^"]*)"')


def names_in(text: str) -> list[str]:
    """The names of a :data:`NAMES` match, in the order written (none for ``nothing``)."""
    return _QUOTED.findall(text)
METHOD = r"(?P<method>GET|POST|PUT|PATCH|DELETE)"


@when(parsers.re(ACTOR + " sends " + METHOD + r" (?P<path>\S+)"
                 r"(?: through the (?P<door>gateway|direct endpoint))?"
                 r"(?:, claiming to be (?P<claimed>\w+))?"))
def send(world: World, actor: str, method: str, path: str, door: str | None,
         claimed: str | None) -> None:
    headers = {USERID_HEADER: world.cast.identity(claimed)} if claimed else None
    world.send(actor, method, path, door="direct" if door == "direct endpoint" else door,
               headers=headers)


@then("the request succeeds")
def request_succeeds(world: World) -> None:
    oracles.succeeded(world.last())


@then("the request is denied")
def request_denied(world: World) -> None:
    oracles.denied(world.last(), world.cast.identity(world.actor))


@then("the request is unauthenticated")
def request_unauthenticated(world: World) -> None:
    gateway = world.door == "gateway" and world.connection.mode.multiuser
    oracles.unauthenticated(world.last(), gateway=gateway)


@then(parsers.re(r'the request fails with (?P<status>\d{3}) "(?P<message>.*)"'))
def request_fails_with(world: World, status: str, message: str) -> None:
    oracles.failed_with(world.last(), int(status), world.resolve(message))


# The kinds a feature names, as the world keeps them.
KINDS = {"experiment": "experiment", "run": "run", "recurring run": "recurringrun"}


@then(parsers.re(f"the (?P<kind>{'|'.join(KINDS)}) {NAME} is unchanged"))
def object_unchanged(world: World, kind: str, name: str) -> None:
    """The no-side-effect check of a refusal (what counts as a change: conformance.changes)."""
    what, _ = world.changed(world.named(KINDS[kind], name))
    assert what is None, f"{kind} {name!r} changed: {what}"


@then(parsers.re(f"the (?P<kind>{'|'.join(KINDS)}) {NAME} no longer exists"))
def object_gone(world: World, kind: str, name: str) -> None:
    response = world.owner_view(world.named(KINDS[kind], name))
    assert response.status_code == 404, \
        f"expected 404 for its owner, got {response.status_code}: {response.text[:200]}"

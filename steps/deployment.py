"""Deployment-mode steps: what the deployment itself says it is."""

from __future__ import annotations

from pytest_bdd import then

from conformance.world import World
from steps import oracles


@then("the API server reports multi-user mode on")
def multiuser_on(world: World) -> None:
    _reports(world, True)


@then("the API server reports multi-user mode off")
def multiuser_off(world: World) -> None:
    _reports(world, False)


def _reports(world: World, expected: bool) -> None:
    data = oracles.succeeded(world.last())
    assert data.get("multi_user") is expected, \
        f"expected healthz multi_user {str(expected).lower()}, got {data}"

"""Experiment steps: create, read, change and list experiments by the names a feature gives."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from conformance.outcomes import HarnessError
from conformance.world import EXPERIMENTS, World
from steps import oracles
from steps.generic import ACTOR, NAME, NAMES, TENANT, names_in

KIND = "experiment"
ACTIONS = {  # the verb of a step -> (HTTP method, path suffix after the experiment's id)
    "gets": ("GET", ""),
    "archives": ("POST", ":archive"),
    "unarchives": ("POST", ":unarchive"),
    "deletes": ("DELETE", ""),
}
STATES = {"archived": "ARCHIVED", "available": "AVAILABLE"}


def _create(world: World, actor: str, name: str, tenant: str, *, scene: bool) -> None:
    response = world.send(actor, "POST", EXPERIMENTS,
                          json={"display_name": name, "namespace": world.cast.namespace(tenant)})
    if response.status_code == 200:
        named = world.remember(KIND, name, response.json()["experiment_id"], tenant,
                                given=scene)
        world.refresh(named)


def _act(world: World, actor: str, action: str, name: str) -> None:
    method, suffix = ACTIONS[action]
    world.send(actor, method, f"{EXPERIMENTS}/{world.named(KIND, name).id}{suffix}")


def _names(world: World) -> list[str]:
    data = oracles.succeeded(world.last())
    return sorted(str(e.get("display_name")) for e in data.get("experiments") or [])


@given(parsers.re(ACTOR + f" created an experiment {NAME} in {TENANT}"))
def created_experiment(world: World, actor: str, name: str, tenant: str) -> None:
    _create(world, actor, name, tenant, scene=True)
    if f"{KIND}:{name}" not in world.objects:
        raise HarnessError(f"{actor} could not create experiment {name!r} in {tenant}: "
                           f"{world.last().status_code} {world.last().text[:200]}")


@given(parsers.re(ACTOR + f" (?P<action>archived|unarchived) the experiment {NAME}"))
def changed_experiment(world: World, actor: str, action: str, name: str) -> None:
    _act(world, actor, action.removesuffix("d") + "s", name)
    if world.last().status_code != 200:
        raise HarnessError(f"{actor} could not {action.removesuffix('d')} {name!r}: "
                           f"{world.last().status_code} {world.last().text[:200]}")
    world.refresh(world.named(KIND, name))


@when(parsers.re(ACTOR + f" creates an experiment {NAME} in {TENANT}"))
def creates_experiment(world: World, actor: str, name: str, tenant: str) -> None:
    _create(world, actor, name, tenant, scene=False)


@when(parsers.re(ACTOR + f" (?P<action>{'|'.join(ACTIONS)}) the experiment {NAME}"))
def acts_on_experiment(world: World, actor: str, action: str, name: str) -> None:
    _act(world, actor, action, name)


@when(parsers.re(ACTOR + f" lists experiments in {TENANT}"))
def lists_experiments(world: World, actor: str, tenant: str) -> None:
    world.send(actor, "GET",
               f"{EXPERIMENTS}?namespace={world.cast.namespace(tenant)}&page_size=100")


@then(parsers.re(f"the list shows exactly {NAMES}"))
def list_shows_exactly(world: World, names: str) -> None:
    expected = sorted(names_in(names))
    assert _names(world) == expected, f"expected exactly {expected}, listed {_names(world)}"


@then(parsers.re(r"total_size is (?P<size>\d+)"))
def total_size_is(world: World, size: str) -> None:
    data = oracles.succeeded(world.last())
    assert int(data.get("total_size") or 0) == int(size), f"total_size: {data}"


@then(parsers.re(f"the experiment {NAME} is (?P<state>{'|'.join(STATES)})"))
def experiment_in_state(world: World, name: str, state: str) -> None:
    named = world.named(KIND, name)
    now = oracles.succeeded(world.owner_view(named))
    assert now.get("storage_state") == STATES[state], f"expected {STATES[state]}: {now}"
    named.seen = now


@then(parsers.re(f"the experiment {NAME} belongs to {TENANT}"))
def experiment_in_tenant(world: World, name: str, tenant: str) -> None:
    named = world.named(KIND, name)
    now = oracles.succeeded(world.owner_view(named))
    assert now.get("namespace") == world.cast.namespace(tenant), f"namespace: {now}"


@then(parsers.re(f"nothing was created in {TENANT}"))
def nothing_created(world: World, tenant: str) -> None:
    owner = world.session(world.cast.owner(tenant))
    listed = oracles.succeeded(owner.get(
        f"{EXPERIMENTS}?namespace={world.cast.namespace(tenant)}&page_size=100"))
    names = sorted(str(e.get("display_name")) for e in listed.get("experiments") or [])
    known = sorted(n.name for n in world.objects.values()
                   if n.kind == KIND and n.tenant == tenant and n.given)
    assert names == known, f"{tenant} holds {names}; the scenario made only {known}"

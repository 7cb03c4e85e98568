"""Run steps: start, read, change and list runs by the names a feature gives them.

A run has no namespace input of its own: it lives in its parent experiment's namespace (spec
sections 3.3 and 4.2), which only the v1beta1 answers show (a NAMESPACE resource reference).
A run's ``state`` moves on its own on a real deployment, so the no-side-effect checks look at
what only a request can do to it: cancel it (terminate) or start it again (retry).
This module also holds the steps shared with :mod:`steps.recurring_runs` (lists, "nothing was
created") and the namespace-input steps that send a create without its scope.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from pytest_bdd import given, parsers, then, when

from conformance.cast import TENANTS
from conformance.changes import CANCEL_STATES, TERMINAL_STATES
from conformance.outcomes import HarnessError
from conformance.pipeline_spec import MINIMAL_PIPELINE_SPEC, MINIMAL_PIPELINE_TEXT
from conformance.world import EXPERIMENTS, Named, World
from steps import oracles
from steps.generic import ACTOR, NAME, NAMES, TENANT, names_in

EXPERIMENT = r'the experiment "(?P<experiment>[^"]+)"'
KIND = "run"
RUNS = "/apis/v2beta1/runs"
RUNS_V1 = "/apis/v1beta1/runs"
PAGE_SIZE = 200  # the server's maximum: one page holds every run a scenario makes
ACTIONS = {  # the verb of a step -> (HTTP method, path suffix after the run's id)
    "gets": ("GET", ""),
    "archives": ("POST", ":archive"),
    "unarchives": ("POST", ":unarchive"),
    "deletes": ("DELETE", ""),
    "terminates": ("POST", ":terminate"),
    "retries": ("POST", ":retry"),
}
DONE = {"archived": "archives", "unarchived": "unarchives", "terminated": "terminates"}
STORAGE_STATES = {"archived": "ARCHIVED", "available": "AVAILABLE"}
# spec section 7: the states a run ends in, and the ones a terminate request leads to.
# How long a real deployment may take to finish the suite's empty pipeline; on an emulator the
# step moves its clock instead of waiting.
FINISH_TIMEOUT_SECONDS = 300.0
POLL_SECONDS = 2.0
CLOCK_STEP_SECONDS = 5
NAMESPACE_REF = "NAMESPACE"
REPORT_WORKFLOW = "/apis/v2beta1/workflows"
RUN_ID_LABEL = "pipeline/runid"


@dataclass(frozen=True)
class Listing:
    """Where a kind of object is listed (v2beta1) and the key its answers use."""

    path: str
    items: str
    id_field: str


LISTINGS = {
    "runs": Listing(RUNS, "runs", "run_id"),
    # The proto field itself is camelCase (recurring_run.proto), so proto names keep it.
    "recurring runs": Listing("/apis/v2beta1/recurringruns", "recurringRuns",
                              "recurring_run_id"),
}
KIND_OF_LISTING = {"runs": "run", "recurring runs": "recurringrun"}


def reference(kind: str, object_id: str) -> dict[str, Any]:
    """A v1beta1 resource reference owned by the object it names."""
    return {"key": {"type": kind, "id": object_id}, "relationship": "OWNER"}


def experiment_id(world: World, name: str) -> str:
    return world.named("experiment", name).id


def remember_created(world: World, kind: str, name: str, id_path: tuple[str, ...],
                     experiment: str, *, scene: bool) -> Named | None:
    """Remember what the last request made (in its experiment's tenant); None if it failed."""
    response = world.last()
    if response.status_code != 200:
        return None
    found: Any = response.json()
    for key in id_path:
        found = found.get(key) if isinstance(found, dict) else None
    if not found:
        raise HarnessError(f"the answer names no {'.'.join(id_path)}: {response.text[:200]}")
    tenant = world.named("experiment", experiment).tenant
    named = world.remember(kind, name, str(found), tenant, given=scene)
    if scene:
        world.refresh(named)  # the scene's objects must be readable by their owner
    else:  # the action under test: what its owner sees is for the Then steps to judge
        view = world.owner_view(named)
        named.seen = view.json() if view.status_code == 200 else {}
    return named


def scene_made(world: World, kind: str, name: str, actor: str, what: str) -> None:
    """A Given that sets the scene raises (ERROR, not FAIL) when the request did not work."""
    if f"{kind}:{name}" not in world.objects:
        raise HarnessError(f"{actor} could not {what}: "
                           f"{world.last().status_code} {world.last().text[:200]}")


def list_in(world: World, actor: str, what: str, *, tenant: str = "",
            experiment: str = "") -> None:
    """List runs or recurring runs of one experiment or in one tenant's namespace (v2beta1)."""
    scope = (f"experiment_id={experiment_id(world, experiment)}" if experiment
             else f"namespace={world.cast.namespace(tenant)}")
    world.send(actor, "GET", f"{LISTINGS[what].path}?{scope}&page_size={PAGE_SIZE}")


def listed_names(world: World, what: str) -> list[str]:
    data = oracles.succeeded(world.last())
    items = data.get(LISTINGS[what].items) or []
    assert isinstance(items, list), f"{LISTINGS[what].items} is not a list: {data}"
    return sorted(str(item.get("display_name")) for item in items if isinstance(item, dict))


def created_since(world: World, what: str, tenant: str) -> list[str]:
    """What the tenant's owner lists in the namespace beyond what the scenario's Givens made
    there (a denied or refused create must leave that empty)."""
    owner = world.cast.owner(tenant)
    response = world.session(owner).get(
        f"{LISTINGS[what].path}?namespace={world.cast.namespace(tenant)}&page_size={PAGE_SIZE}")
    world.record(owner, world.mode_door, response)
    data = oracles.succeeded(response)
    known = {n.id for n in world.objects.values()
             if n.kind == KIND_OF_LISTING[what] and n.tenant == tenant and n.given}
    return sorted(f"{item.get('display_name')} ({item.get(LISTINGS[what].id_field)})"
                  for item in data.get(LISTINGS[what].items) or []
                  if isinstance(item, dict) and item.get(LISTINGS[what].id_field) not in known)


def home_tenant(actor: str) -> str:
    """The tenant whose owner cleans up what ``actor`` made outside any tenant (a bug's
    leftovers): the actor's own tenant, else alice (the contributors' tenant)."""
    tenant = actor.removesuffix("'s service account")
    return tenant if tenant in TENANTS else "alice"


def namespace_reference(view: dict[str, Any]) -> str | None:
    """The id of a v1beta1 object's NAMESPACE resource reference (None: it has none)."""
    for ref in view.get("resource_references") or []:
        key = ref.get("key") if isinstance(ref, dict) else None
        if isinstance(key, dict) and key.get("type") == NAMESPACE_REF:
            return str(key.get("id", ""))
    return None


# -- runs ---------------------------------------------------------------------------------------


def _create(world: World, actor: str, name: str, experiment: str, *, scene: bool) -> None:
    world.send(actor, "POST", RUNS, json={"display_name": name,
                                          "experiment_id": experiment_id(world, experiment),
                                          "pipeline_spec": MINIMAL_PIPELINE_SPEC})
    remember_created(world, KIND, name, ("run_id",), experiment, scene=scene)


def _create_v1(world: World, actor: str, name: str, experiment: str, namespace_of: str, *,
               scene: bool) -> None:
    references = [reference("EXPERIMENT", experiment_id(world, experiment)),
                  reference(NAMESPACE_REF, world.cast.namespace(namespace_of))]
    world.send(actor, "POST", RUNS_V1, json={
        "name": name, "resource_references": references,
        "pipeline_spec": {"pipeline_manifest": MINIMAL_PIPELINE_TEXT}})
    remember_created(world, KIND, name, ("run", "id"), experiment, scene=scene)


def _act(world: World, actor: str, action: str, name: str) -> None:
    method, suffix = ACTIONS[action]
    world.send(actor, method, f"{RUNS}/{world.named(KIND, name).id}{suffix}")


def _now(world: World, name: str) -> tuple[Named, dict[str, Any]]:
    named = world.named(KIND, name)
    response = world.owner_view(named)
    assert response.status_code == 200, \
        f"run {name!r} is gone for its owner: {response.status_code} {response.text[:200]}"
    return named, response.json()


@given(parsers.re(ACTOR + f" created a run {NAME} in {EXPERIMENT}"))
def created_run(world: World, actor: str, name: str, experiment: str) -> None:
    _create(world, actor, name, experiment, scene=True)
    scene_made(world, KIND, name, actor, f"start run {name!r} in experiment {experiment!r}")


@given(parsers.re(ACTOR + f" created a v1beta1 run {NAME} in {EXPERIMENT} "
                          f"with a NAMESPACE reference to {TENANT}"))
def created_run_v1(world: World, actor: str, name: str, experiment: str, tenant: str) -> None:
    _create_v1(world, actor, name, experiment, tenant, scene=True)
    scene_made(world, KIND, name, actor, f"start v1beta1 run {name!r} in {experiment!r}")


@given(parsers.re(ACTOR + f" (?P<done>{'|'.join(DONE)}) the run {NAME}"))
def changed_run(world: World, actor: str, done: str, name: str) -> None:
    _act(world, actor, DONE[done], name)
    if world.last().status_code != 200:
        raise HarnessError(f"{actor} could not {done.removesuffix('d')} run {name!r}: "
                           f"{world.last().status_code} {world.last().text[:200]}")
    world.refresh(world.named(KIND, name))


@given(parsers.re(f"the run {NAME} has finished"))
@when(parsers.re(f"the run {NAME} has finished"))
def run_finished(world: World, name: str) -> None:
    named = world.named(KIND, name)
    if not wait_until(world, named, lambda: named.seen.get("state") in TERMINAL_STATES):
        raise HarnessError(f"run {name!r} did not finish within {FINISH_TIMEOUT_SECONDS} s "
                           f"(state {named.seen.get('state')})")


def wait_until(world: World, named: Named, done: Callable[[], bool]) -> bool:
    """Wait until ``done()`` holds for a run (its owner's view refreshed before each check):
    a real deployment moves on its own; an emulator (which has a clock control) gets its clock
    moved instead.  False when it still does not hold after FINISH_TIMEOUT_SECONDS."""
    controls = world.connection.target.emulator_controls
    waited = 0.0  # seconds: of the emulator's clock, or of real time
    while True:
        world.refresh(named)
        if done():
            return True
        if waited >= FINISH_TIMEOUT_SECONDS:
            return False
        if controls:
            answer = requests.post(f"{controls}/clock:advance",
                                   json={"seconds": CLOCK_STEP_SECONDS}, timeout=30)
            if answer.status_code != 200:
                raise HarnessError(f"the emulator clock did not advance: {answer.status_code} "
                                   f"{answer.text[:200]}")
            waited += CLOCK_STEP_SECONDS
        else:
            time.sleep(POLL_SECONDS)
            waited += POLL_SECONDS


@when(parsers.re(ACTOR + f" creates a run {NAME} in {EXPERIMENT}"))
def creates_run(world: World, actor: str, name: str, experiment: str) -> None:
    _create(world, actor, name, experiment, scene=False)


@when(parsers.re(ACTOR + f" creates a v1beta1 run {NAME} in {EXPERIMENT} "
                         f"with a NAMESPACE reference to {TENANT}"))
def creates_run_v1(world: World, actor: str, name: str, experiment: str, tenant: str) -> None:
    _create_v1(world, actor, name, experiment, tenant, scene=False)


@when(parsers.re(ACTOR + f" (?P<action>{'|'.join(ACTIONS)}) the run {NAME}"))
def acts_on_run(world: World, actor: str, action: str, name: str) -> None:
    _act(world, actor, action, name)


@when(parsers.re(ACTOR + f" reports a workflow of the run {NAME} with the phase "
                 r'"(?P<phase>\w+)"'))
def reports_workflow(world: World, actor: str, name: str, phase: str) -> None:
    """What the persistence agent sends (ReportService): an Argo Workflow, as a JSON string,
    naming the run by its ``pipeline/runid`` label, with a status of the caller's choosing."""
    named = world.named(KIND, name)
    forged = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
              "metadata": {"name": f"forged-{named.id[:8]}",
                           "namespace": world.cast.namespace(named.tenant),
                           "uid": str(uuid.uuid4()), "labels": {RUN_ID_LABEL: named.id}},
              "status": {"phase": phase}}
    world.send(actor, "POST", REPORT_WORKFLOW, json=json.dumps(forged))


@when(parsers.re(ACTOR + f" lists (?P<what>runs|recurring runs) of {EXPERIMENT}"))
def lists_of_experiment(world: World, actor: str, what: str, experiment: str) -> None:
    list_in(world, actor, what, experiment=experiment)


@when(parsers.re(ACTOR + f" lists (?P<what>runs|recurring runs) in {TENANT}"))
def lists_in_tenant(world: World, actor: str, what: str, tenant: str) -> None:
    list_in(world, actor, what, tenant=tenant)


@then(parsers.re(f"the listed (?P<what>runs|recurring runs) are exactly {NAMES}"))
def listed_exactly(world: World, what: str, names: str) -> None:
    expected = sorted(names_in(names))
    found = listed_names(world, what)
    assert found == expected, f"expected exactly {expected}, listed {found}"


@then(parsers.re(f"no (?P<what>run|recurring run) was created in {TENANT}"))
def nothing_created(world: World, what: str, tenant: str) -> None:
    extra = created_since(world, what + "s", tenant)
    assert not extra, f"{tenant} holds {what}s the scenario's Givens did not make: {extra}"


@then(parsers.re(f"the run {NAME} is (?P<state>{'|'.join(STORAGE_STATES)})"))
def run_in_storage_state(world: World, name: str, state: str) -> None:
    named, now = _now(world, name)
    assert now.get("storage_state") == STORAGE_STATES[state], \
        f"expected storage_state {STORAGE_STATES[state]}: {now}"
    named.seen = now


@then(parsers.re(f"the run {NAME} is being canceled"))
def run_canceled(world: World, name: str) -> None:
    named, now = _now(world, name)
    assert now.get("state") in CANCEL_STATES, \
        f"expected state CANCELING or CANCELED, got {now.get('state')}: {now}"
    named.seen = now


@then(parsers.re(f"the run {NAME} started again"))
def run_retried(world: World, name: str) -> None:
    named, now = _now(world, name)
    was = named.seen.get("state")
    seen = len(named.seen.get("state_history") or [])
    new_states = [str(entry.get("state")) for entry in (now.get("state_history") or [])[seen:]
                  if isinstance(entry, dict)]
    restarted = now.get("state") not in TERMINAL_STATES or \
        any(state not in TERMINAL_STATES for state in new_states)
    assert was in TERMINAL_STATES and restarted, \
        f"expected the finished run ({was}) to start again, now {now.get('state')}, " \
        f"new history {new_states}"
    named.seen = now


@then(parsers.re(f"the run {NAME} belongs to {TENANT}"))
def run_in_tenant(world: World, name: str, tenant: str) -> None:
    """v2beta1 runs carry no namespace: the v1beta1 answer names it as a NAMESPACE reference."""
    named = world.named(KIND, name)
    owner = world.cast.owner(named.tenant)
    response = world.session(owner).get(f"{RUNS_V1}/{named.id}")
    world.record(owner, world.mode_door, response)
    run = oracles.succeeded(response).get("run") or {}
    found = namespace_reference(run)
    assert found == world.cast.namespace(tenant), \
        f"expected a NAMESPACE reference to {world.cast.namespace(tenant)!r}, got {found!r}: " \
        f"{run.get('resource_references')}"


# -- namespace input: creates without their scope, and what a refusal names ----------------------


@when(parsers.re(ACTOR + f" creates an experiment {NAME} without a namespace"))
def creates_experiment_without_namespace(world: World, actor: str, name: str) -> None:
    world.send(actor, "POST", EXPERIMENTS, json={"display_name": name})
    if world.last().status_code == 200:
        world.remember("experiment", name, world.last().json()["experiment_id"],
                       home_tenant(actor), given=False)


@when(parsers.re(ACTOR + f" creates a run {NAME} without an experiment"))
def creates_run_without_experiment(world: World, actor: str, name: str) -> None:
    world.send(actor, "POST", RUNS, json={"display_name": name,
                                          "pipeline_spec": MINIMAL_PIPELINE_SPEC})
    if world.last().status_code == 200:
        world.remember(KIND, name, world.last().json()["run_id"], home_tenant(actor),
                       given=False)


@then(parsers.re(f"the refusal names the namespace of {TENANT}"))
def refusal_names_namespace(world: World, tenant: str) -> None:
    """The 403's detail quotes the SAR it was refused (spec 5.2): which namespace decided."""
    namespace = world.cast.namespace(tenant)
    message = oracles.detail(world.last())
    assert f"ResourceAttributes{{Namespace:{namespace}," in message, \
        f"expected the refusal to be about namespace {namespace!r}, got {message!r}"

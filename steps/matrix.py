"""Steps of the generated operation x identity matrix (features/api_matrix.feature).

``Given alice's objects for <operation>`` builds, as alice, what the operation acts on (her
positive control); ``When <actor> calls <operation>`` sends the probe of
:mod:`conformance.matrix`; ``Then the call is allowed|denied|unauthenticated`` checks the precise
answer and, for refusals, that nothing changed.
"""

from __future__ import annotations

import secrets
from typing import Any

from pytest_bdd import given, parsers, then, when

from conformance.matrix import ALLOWED, DENIED, PROBES, UNAUTHENTICATED, Probe, scenario_id
from conformance.outcomes import HarnessError
from conformance.pipeline_spec import MINIMAL_PIPELINE_SPEC, MINIMAL_PIPELINE_TEXT
from conformance.world import World
from steps import oracles
from steps.generic import ACTOR

OWNER, TENANT, SCENE = "alice", "alice", "scene"
V2 = "/apis/v2beta1"
_BY_NAME = {scenario_id(p): p for p in PROBES}
OPERATION = r"(?P<operation>\w+(?: \(v\dbeta1\))?)"
# Where the owner lists each kind in alice, to see that a refused create made nothing.
LISTS = {
    "experiment": (f"{V2}/experiments?namespace={{namespace:alice}}&page_size=200",
                   "experiments", "experiment_id"),
    "run": (f"{V2}/runs?namespace={{namespace:alice}}&page_size=200", "runs", "run_id"),
    "recurringrun": (f"{V2}/recurringruns?namespace={{namespace:alice}}&page_size=200",
                     "recurringRuns", "recurring_run_id"),
    "pipeline": (f"{V2}/pipelines?namespace={{namespace:alice}}&page_size=200", "pipelines",
                 "pipeline_id"),
    "pipelineversion": (f"{V2}/pipelines/{{pipeline:scene}}/versions?page_size=200",
                        "pipeline_versions", "pipeline_version_id"),
}


def unique() -> str:
    return f"kfpiso-{secrets.token_hex(4)}"


def _probe(world: World) -> Probe:
    found = world.notes.get("probe")
    if not isinstance(found, Probe):
        raise HarnessError("no operation was called before this step")
    return found


def _made(world: World, kind: str, response: Any, id_field: str, what: str) -> None:
    if response.status_code != 200:
        raise HarnessError(f"alice could not create {what}: {response.status_code} "
                           f"{response.text[:200]}")
    world.remember(kind, SCENE, str(_field(response.json(), id_field)), TENANT)


def _field(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        data = data.get(part) if isinstance(data, dict) else None
    if not data:
        raise HarnessError(f"the answer has no {dotted}")
    return data


def _upload_file() -> dict[str, Any]:
    return {"uploadfile": ("pipeline.yaml", MINIMAL_PIPELINE_TEXT.encode(),
                           "application/octet-stream")}


def build_scene(world: World, scene: str) -> None:
    """Make, as alice, what ``scene`` names (conformance.matrix.SCENES)."""
    ns = world.cast.namespace(TENANT)
    if scene in ("experiment", "archived-experiment", "run", "archived-run", "recurringrun",
                 "enabled-recurringrun"):
        _made(world, "experiment", world.send(OWNER, "POST", f"{V2}/experiments", json={
            "display_name": unique(), "namespace": ns}), "experiment_id", "an experiment")
    if scene == "archived-experiment":
        experiment = world.named("experiment", SCENE)
        response = world.send(OWNER, "POST", f"{V2}/experiments/{experiment.id}:archive")
        if response.status_code != 200:
            raise HarnessError(f"alice could not archive her experiment: "
                               f"{response.status_code}")
    if scene in ("run", "archived-run"):
        _made(world, "run", world.send(OWNER, "POST", f"{V2}/runs", json={
            "display_name": unique(), "experiment_id": world.named("experiment", SCENE).id,
            "pipeline_spec": MINIMAL_PIPELINE_SPEC}), "run_id", "a run")
    if scene == "archived-run":
        run = world.named("run", SCENE)
        response = world.send(OWNER, "POST", f"{V2}/runs/{run.id}:archive")
        if response.status_code != 200:
            raise HarnessError(f"alice could not archive her run: {response.status_code}")
    if scene in ("recurringrun", "enabled-recurringrun"):
        mode = "ENABLE" if scene == "enabled-recurringrun" else "DISABLE"
        _made(world, "recurringrun", world.send(OWNER, "POST", f"{V2}/recurringruns", json={
            "display_name": unique(), "experiment_id": world.named("experiment", SCENE).id,
            "pipeline_spec": MINIMAL_PIPELINE_SPEC, "mode": mode,
            "trigger": {"periodic_schedule": {"interval_second": "3600"}}}),
            "recurring_run_id", "a recurring run")
    if scene in ("pipeline", "pipelineversion"):
        name = unique()
        _made(world, "pipeline", world.send(OWNER, "POST", f"{V2}/pipelines", json={
            "name": name, "display_name": name, "namespace": ns}), "pipeline_id", "a pipeline")
    if scene == "pipelineversion":
        pipeline = world.named("pipeline", SCENE).id
        _made(world, "pipelineversion", world.send(
            OWNER, "POST", f"{V2}/pipelines/upload_version?name={unique()}"
                           f"&pipelineid={pipeline}", files=_upload_file()),
            "pipeline_version_id", "a pipeline version")
    for named in world.objects.values():  # seen once the scene is complete (a run changes
        # its experiment's last_run_created_at)
        world.refresh(named)


def _fill(world: World, value: Any, name: str) -> Any:
    """Placeholders of a probe: ``{unique}``, ``{pipeline-name}`` and the world's own."""
    if isinstance(value, str):
        if "{pipeline-name}" in value:
            value = value.replace("{pipeline-name}",
                                  str(world.named("pipeline", SCENE).seen.get("name", "")))
        return world.resolve(value.replace("{unique}", name))
    if isinstance(value, dict):
        return {key: _fill(world, item, name) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(world, item, name) for item in value]
    return value


def _listed(world: World, kind: str) -> set[str]:
    path, key, id_field = LISTS[kind]
    response = world.session(OWNER).get(world.resolve(path))
    if response.status_code != 200:
        raise HarnessError(f"alice cannot list her {kind}s: {response.status_code}")
    return {str(item.get(id_field)) for item in response.json().get(key) or []}


@given(parsers.re(f"alice's objects for {OPERATION}"))
def objects_for(world: World, operation: str) -> None:
    if operation not in _BY_NAME:
        raise HarnessError(f"no probe for operation {operation!r}")
    world.notes["probe"] = _BY_NAME[operation]
    build_scene(world, _BY_NAME[operation].scene)


@when(parsers.re(ACTOR + f" calls {OPERATION}"))
def calls(world: World, actor: str, operation: str) -> None:
    probe = _BY_NAME[operation]
    if probe.creates:
        world.notes["before"] = _listed(world, probe.creates[0])
    name = unique()
    path = _fill(world, probe.request, name)
    if probe.upload:
        response = world.send(actor, probe.method, path, files=_upload_file())
    else:
        response = world.send(actor, probe.method, path, json=_fill(world, probe.body, name))
    if probe.creates and response.status_code == 200:
        kind, id_field = probe.creates
        world.remember(kind, name, str(_field(response.json(), id_field)), TENANT, given=False)


@then(parsers.re(f"the call is (?P<expected>{ALLOWED}|{DENIED}|{UNAUTHENTICATED})"))
def call_is(world: World, expected: str) -> None:
    probe, response = _probe(world), world.last()
    if expected == ALLOWED:
        accepted = any(response.status_code == status and text in response.text
                       for status, text in probe.also_allowed)
        if not accepted:
            oracles.succeeded(response)
        return
    gateway = world.door == "gateway" and world.connection.mode.multiuser
    if probe.upload and (expected == DENIED or not gateway):
        oracles.upload_refused(response, probe.upload)
    elif expected == DENIED:
        oracles.denied(response, world.cast.identity(world.actor))
    else:
        oracles.unauthenticated(response, gateway=gateway)
    _nothing_changed(world, probe)


def _nothing_changed(world: World, probe: Probe) -> None:
    for named in [n for n in world.objects.values() if n.given]:
        what, _ = world.changed(named)
        assert what is None, f"alice's {named.kind} changed after a refused call: {what}"
    if probe.creates:
        after = _listed(world, probe.creates[0])
        before = world.notes.get("before", set())
        assert after == before, \
            f"a refused call created {probe.creates[0]}s in alice: {sorted(after - before)}"

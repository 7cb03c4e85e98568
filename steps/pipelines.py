"""Pipeline steps: namespaced and shared pipelines and their versions, by the names a feature gives.

Pipelines differ from the other kinds in three ways the steps must handle themselves:

* versions are objects of their own, named per pipeline ("v1" of "flow") where the world keys
  objects by name alone: this module keeps them (and every pipeline) in a per-scenario registry;
* a *shared* pipeline (no namespace) belongs to no tenant, so the world cannot delete it as a
  tenant's owner: this module deletes the shared pipelines its steps made, as whoever made them;
* portable pipeline packages: the JSON create-version call makes the server download its
  ``package_url`` (an https URL of an allow-listed host on a real server), so the scene is built
  with the multipart upload endpoints, which carry the package in the request.

Runs and recurring runs that name a stored pipeline version (instead of carrying a spec) are
made here too: they resolve the version by the names this registry keeps.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from pytest_bdd import given, parsers, then, when

from conformance.cast import ADMIN
from conformance.changes import stable
from conformance.outcomes import HarnessError, NotSupported
from conformance.pipeline_spec import MINIMAL_PIPELINE_SPEC, MINIMAL_PIPELINE_TEXT
from conformance.world import KIND_PATHS, World
from steps import oracles
from steps.generic import ACTOR, NAME, NAMES, TENANT, names_in
from steps.runs import EXPERIMENT, RUNS, RUNS_V1, experiment_id, reference, remember_created

PIPELINES = KIND_PATHS["pipeline"]
PIPELINES_V1 = "/apis/v1beta1/pipelines"
KIND = "pipeline"
VERSION = r'"(?P<version>[^"]+)"'
DOOR = r"(?: through the (?P<written_door>gateway|direct endpoint))?"
# The API version a step names; without it, v2beta1.
API = r"(?: with the (?P<api>v1beta1|v2beta1) API)?"
NAMESPACE_REQUIRED = "Namespace is required for pipeline operations"
# A package URL on a host the real server allows (validation/pipeline_url.go); the server checks
# authorization before it downloads anything, so a refused caller never makes it fetch this.
UNFETCHED_PACKAGE = ("https://raw.githubusercontent.com/kfp-isolation/conformance/main/"
                     "does-not-exist/pipeline.yaml")
PROBE_NAME = str(MINIMAL_PIPELINE_SPEC["pipelineInfo"]["name"])
UPLOAD_FIELD = "uploadfile"


@dataclass
class PipelineRecord:
    """A pipeline a step made: its feature name, the name the server knows, who may delete it."""

    name: str
    actual: str
    id: str
    owner: str  # the actor whose session reads it as the reference and deletes it afterwards
    tenant: str | None  # None: a shared pipeline
    seen: dict[str, Any] = field(default_factory=dict)


@dataclass
class VersionRecord:
    pipeline: str
    name: str
    id: str
    seen: dict[str, Any] = field(default_factory=dict)


@dataclass
class Registry:
    """What the scenario's pipeline steps made (kept on the scenario's pytest item)."""

    pipelines: dict[str, PipelineRecord] = field(default_factory=dict)
    versions: dict[tuple[str, str], VersionRecord] = field(default_factory=dict)
    cleanup_scheduled: bool = False

    def pipeline(self, name: str) -> PipelineRecord:
        found = self.pipelines.get(name)
        if found is None:
            raise HarnessError(f"this scenario made no pipeline named {name!r}")
        return found

    def version(self, pipeline: str, name: str) -> VersionRecord:
        found = self.versions.get((pipeline, name))
        if found is None:
            raise HarnessError(f"this scenario made no version {name!r} of pipeline {pipeline!r}")
        return found

    def feature_name(self, actual: str) -> str:
        """The feature's name for a pipeline the server lists under ``actual``."""
        return next((r.name for r in self.pipelines.values() if r.actual == actual), actual)


_REGISTRY = pytest.StashKey[Registry]()


def registry(request: pytest.FixtureRequest, world: World) -> Registry:
    """The scenario's registry; the first use schedules the cleanup of its shared pipelines
    (a finalizer of the scenario's item, run at its teardown like the world's cleanup)."""
    node = request.node
    if _REGISTRY not in node.stash:
        node.stash[_REGISTRY] = Registry()
    found = node.stash[_REGISTRY]
    if not found.cleanup_scheduled:
        found.cleanup_scheduled = True
        request.addfinalizer(lambda: _delete_all(world, found))
    return found


def _delete_all(world: World, found: Registry) -> None:
    """Delete the shared pipelines (with their versions) as the admin; the world deletes the
    namespaced ones as their tenant's owner."""
    problems = []
    for record in reversed([r for r in found.pipelines.values() if r.tenant is None]):
        response = world.session(record.owner).delete(
            f"{PIPELINES}/{record.id}?cascade=true")
        if response.status_code not in (200, 404):
            problems.append(f"shared pipeline {record.name}: {response.status_code} "
                            f"{response.text[:200]}")
    found.pipelines.clear()
    found.versions.clear()
    if problems:
        raise HarnessError("pipeline cleanup failed: " + ", ".join(problems))


def sorted_names(text: str) -> list[str]:
    return sorted(names_in(text))


def pipelines_path(api: str | None) -> str:
    return PIPELINES_V1 if api == "v1beta1" else PIPELINES


def send_upload(world: World, actor: str, path: str) -> requests.Response:
    """Send the minimal pipeline as the multipart ``uploadfile`` the upload endpoints read."""
    return world.send(actor, "POST", path, files={
        UPLOAD_FIELD: ("pipeline.yaml", MINIMAL_PIPELINE_TEXT.encode(), "application/yaml")})


def _view(world: World, owner: str, path: str) -> requests.Response:
    response = world.session(owner).get(path)
    world.record(owner, world.mode_door, response)
    return response


def pipeline_view(world: World, record: PipelineRecord) -> requests.Response:
    """How the pipeline's owner sees it now."""
    return _view(world, record.owner, f"{PIPELINES}/{record.id}")


def version_view(world: World, found: Registry, version: VersionRecord) -> requests.Response:
    owner = found.pipeline(version.pipeline).owner
    return _view(world, owner,
                 f"{PIPELINES}/{found.pipeline(version.pipeline).id}/versions/{version.id}")


def owner_versions(world: World, found: Registry, pipeline: str) -> list[str]:
    record = found.pipeline(pipeline)
    listed = oracles.succeeded(_view(world, record.owner,
                                     f"{PIPELINES}/{record.id}/versions?page_size=200"))
    return sorted(str(v.get("name")) for v in listed.get("pipeline_versions") or [])


def _seen(response: requests.Response, what: str) -> dict[str, Any]:
    if response.status_code != 200:
        raise HarnessError(f"the owner cannot read {what}: {response.status_code} "
                           f"{response.text[:200]}")
    data: dict[str, Any] = response.json()
    return data


# -- making pipelines and versions ---------------------------------------------------------------

def create_pipeline(world: World, found: Registry, actor: str, name: str, tenant: str | None,
                    *, scene: bool, how: str = "json",
                    api: str | None = None) -> requests.Response:
    """Create a pipeline in ``tenant``'s namespace, or shared (``tenant`` None: no namespace).

    ``how``: ``json`` (``POST /pipelines``, no version), ``with-version`` (``POST
    /pipelines/create`` with a first version from a package URL) or ``upload`` (the multipart
    ``/pipelines/upload``, whose options are query parameters; under ``api``, v1beta1 or
    v2beta1).  A shared pipeline gets the run prefix in its server name: shared names are
    unique across the whole deployment, which on a real cluster is not the suite's alone.  The
    admin deletes shared pipelines afterwards, also one a tenant should not have made."""
    actual = name if tenant is not None else world.cast.prefix + name
    body: dict[str, Any] = {"name": actual, "display_name": actual}
    if tenant is not None:
        body["namespace"] = world.cast.namespace(tenant)
    if how == "upload":
        response = send_upload(world, actor, f"{pipelines_path(api)}/upload?"
                                             f"{urllib.parse.urlencode(body)}")
    elif how == "with-version":
        response = world.send(actor, "POST", f"{PIPELINES}/create", json={
            "pipeline": body, "pipeline_version": {
                "name": actual, "display_name": actual,
                "package_url": {"pipeline_url": UNFETCHED_PACKAGE}}})
    else:
        response = world.send(actor, "POST", PIPELINES, json=body)
    if response.status_code == 200:
        answer = response.json()  # v1beta1 answers name the pipeline "id"
        pipeline_id = str(answer.get("pipeline_id") or answer.get("id") or "")
        owner = world.cast.owner(tenant) if tenant is not None else ADMIN
        record = PipelineRecord(name, actual, pipeline_id, owner, tenant)
        found.pipelines[name] = record
        if tenant is not None:  # {pipeline:<name>} placeholders and the no-side-effect checks
            world.remember(KIND, name, pipeline_id, tenant, given=scene)
        record.seen = _seen(pipeline_view(world, record), f"pipeline {name!r}")
    return response


def _record_version(world: World, found: Registry, pipeline: str, name: str,
                    response: requests.Response, *, scene: bool) -> None:
    if response.status_code != 200:
        return
    answer = response.json()  # v1beta1 answers name the version "id"
    version = VersionRecord(pipeline, name,
                            str(answer.get("pipeline_version_id") or answer.get("id") or ""))
    found.versions[(pipeline, name)] = version
    version.seen = _seen(version_view(world, found, version), f"version {name!r}")
    if scene:  # the scene's pipeline as its owner sees it with this version
        record = found.pipeline(pipeline)
        record.seen = _seen(pipeline_view(world, record), f"pipeline {pipeline!r}")


def upload_version(world: World, found: Registry, actor: str, pipeline: str, name: str,
                   *, scene: bool, api: str | None = None) -> requests.Response:
    """``POST …/pipelines/upload_version?pipelineid=&name=`` with the probe package."""
    record = found.pipeline(pipeline)
    query = urllib.parse.urlencode({"pipelineid": record.id, "name": name, "display_name": name})
    response = send_upload(world, actor, f"{pipelines_path(api)}/upload_version?{query}")
    _record_version(world, found, pipeline, name, response, scene=scene)
    return response


@given(parsers.re(ACTOR + f" created a pipeline {NAME} in {TENANT}"))
def created_pipeline(world: World, request: pytest.FixtureRequest, actor: str, name: str,
                     tenant: str) -> None:
    response = create_pipeline(world, registry(request, world), actor, name, tenant, scene=True)
    if response.status_code != 200:
        raise HarnessError(f"{actor} could not create pipeline {name!r} in {tenant}: "
                           f"{response.status_code} {response.text[:200]}")


@given(parsers.re(ACTOR + f" created a shared pipeline {NAME}"))
def created_shared_pipeline(world: World, request: pytest.FixtureRequest, actor: str,
                            name: str) -> None:
    """A pipeline without a namespace; a deployment that requires one (REQUIRE_NAMESPACE_FOR_
    PIPELINES) has no shared pipelines to test."""
    response = create_pipeline(world, registry(request, world), actor, name, None, scene=True)
    if response.status_code == 400 and NAMESPACE_REQUIRED in response.text:
        raise NotSupported("the target requires a namespace for pipelines: it has no shared "
                           "pipelines")
    if response.status_code != 200:
        raise HarnessError(f"{actor} could not create shared pipeline {name!r}: "
                           f"{response.status_code} {response.text[:200]}")


@given(parsers.re(ACTOR + f" added a version {VERSION} to the (?:shared )?pipeline {NAME}"))
def added_version(world: World, request: pytest.FixtureRequest, actor: str, version: str,
                  name: str) -> None:
    response = upload_version(world, registry(request, world), actor, name, version, scene=True)
    if response.status_code != 200:
        raise HarnessError(f"{actor} could not add version {version!r} to pipeline {name!r}: "
                           f"{response.status_code} {response.text[:200]}")


@when(parsers.re(ACTOR + f" creates a pipeline {NAME} in {TENANT}"))
def creates_pipeline(world: World, request: pytest.FixtureRequest, actor: str, name: str,
                     tenant: str) -> None:
    create_pipeline(world, registry(request, world), actor, name, tenant, scene=False)


@when(parsers.re(ACTOR + f" creates a pipeline {NAME} with a first version in {TENANT}"))
def creates_pipeline_with_version(world: World, request: pytest.FixtureRequest, actor: str,
                                  name: str, tenant: str) -> None:
    """The one-call form: the version's package URL is only fetched once authorized."""
    create_pipeline(world, registry(request, world), actor, name, tenant, scene=False,
                    how="with-version")


@when(parsers.re(ACTOR + f" uploads a pipeline {NAME} to {TENANT}"))
def uploads_pipeline(world: World, request: pytest.FixtureRequest, actor: str, name: str,
                     tenant: str) -> None:
    create_pipeline(world, registry(request, world), actor, name, tenant, scene=False,
                    how="upload")


@when(parsers.re(ACTOR + f" creates a shared pipeline {NAME}"))
def creates_shared_pipeline(world: World, request: pytest.FixtureRequest, actor: str,
                            name: str) -> None:
    create_pipeline(world, registry(request, world), actor, name, None, scene=False)


@when(parsers.re(ACTOR + f" uploads a shared pipeline {NAME}" + API))
def uploads_shared_pipeline(world: World, request: pytest.FixtureRequest, actor: str, name: str,
                            api: str | None) -> None:
    """The multipart upload without a namespace: a new shared pipeline."""
    create_pipeline(world, registry(request, world), actor, name, None, scene=False,
                    how="upload", api=api)


@when(parsers.re(ACTOR + f" uploads a version {VERSION} of the (?:shared )?pipeline {NAME}"
                 + API))
def uploads_version(world: World, request: pytest.FixtureRequest, actor: str, version: str,
                    name: str, api: str | None) -> None:
    upload_version(world, registry(request, world), actor, name, version, scene=False, api=api)


@when(parsers.re(ACTOR + f" creates a version {VERSION} of the pipeline {NAME}"))
def creates_version(world: World, request: pytest.FixtureRequest, actor: str, version: str,
                    name: str) -> None:
    """The JSON call (``POST …/pipelines/{id}/versions``); the pipeline id goes in the path and
    in the body, as the server requires (spec 3.5)."""
    found = registry(request, world)
    record = found.pipeline(name)
    response = world.send(actor, "POST", f"{PIPELINES}/{record.id}/versions", json={
        "pipeline_id": record.id, "name": version, "display_name": version,
        "package_url": {"pipeline_url": UNFETCHED_PACKAGE}})
    _record_version(world, found, name, version, response, scene=False)


# -- reading and changing them -------------------------------------------------------------------

def door(world: World, written: str | None) -> str | None:
    """The door a step names (None: the mode's); a target without that endpoint cannot run it."""
    if written is None:
        return None
    chosen = "direct" if written == "direct endpoint" else "gateway"
    target = world.connection.target
    if not (target.kfp_direct if chosen == "direct" else target.kfp_gateway):
        raise NotSupported(f"the target {target.name} names no {written} of KFP")
    return chosen


@when(parsers.re(ACTOR + r" (?P<action>gets|deletes|renames) the (?:shared )?pipeline "
                 + NAME + DOOR))
def acts_on_pipeline(world: World, request: pytest.FixtureRequest, actor: str, action: str,
                     name: str, written_door: str | None) -> None:
    record = registry(request, world).pipeline(name)
    path = f"{PIPELINES}/{record.id}"
    chosen = door(world, written_door)
    if action == "gets":
        world.send(actor, "GET", path, door=chosen)
    elif action == "deletes":
        world.send(actor, "DELETE", path + "?cascade=true", door=chosen)
    else:  # display_name and tags are what UpdatePipeline changes
        world.send(actor, "PATCH", path, json={"display_name": f"renamed by {actor}"},
                   door=chosen)


@when(parsers.re(ACTOR + f" deletes the (?:shared )?pipeline {NAME} with the v1beta1 API"))
def deletes_pipeline_v1(world: World, request: pytest.FixtureRequest, actor: str,
                        name: str) -> None:
    """v1beta1 DeletePipeline takes the versions along (no cascade parameter)."""
    world.send(actor, "DELETE", f"{PIPELINES_V1}/{registry(request, world).pipeline(name).id}")


@when(parsers.re(ACTOR + f" makes the version {VERSION} the default of the (?:shared )?pipeline "
                 + NAME))
def sets_default_version(world: World, request: pytest.FixtureRequest, actor: str, version: str,
                         name: str) -> None:
    """v1beta1 only (``UpdatePipelineDefaultVersionV1``): an ``update`` of the pipeline."""
    found = registry(request, world)
    world.send(actor, "POST", f"{PIPELINES_V1}/{found.pipeline(name).id}/default_version/"
                              f"{found.version(name, version).id}")


@when(parsers.re(ACTOR + f" gets the pipeline named {NAME} in {TENANT}"))
def gets_pipeline_by_name(world: World, actor: str, name: str, tenant: str) -> None:
    world.send(actor, "GET", f"{PIPELINES}/names/{urllib.parse.quote(name)}"
                             f"?namespace={world.cast.namespace(tenant)}")


@when(parsers.re(ACTOR + f" lists pipelines in {TENANT}"))
def lists_pipelines(world: World, actor: str, tenant: str) -> None:
    world.send(actor, "GET", f"{PIPELINES}?namespace={world.cast.namespace(tenant)}"
                             "&page_size=200")


@when(parsers.re(ACTOR + f" lists shared pipelines named {NAME}" + DOOR))
def lists_shared_pipelines(world: World, request: pytest.FixtureRequest, actor: str,
                           name: str, written_door: str | None) -> None:
    """The shared scope (no namespace), narrowed to one name: a real deployment holds shared
    pipelines of its own."""
    record = registry(request, world).pipeline(name)
    predicate = {"key": "name", "operation": "EQUALS", "string_value": record.actual}
    text = urllib.parse.quote(json.dumps({"predicates": [predicate]}))
    world.send(actor, "GET", f"{PIPELINES}?filter={text}&page_size=200",
               door=door(world, written_door))


@when(parsers.re(ACTOR + f" lists the versions of the (?:shared )?pipeline {NAME}" + DOOR))
def lists_versions(world: World, request: pytest.FixtureRequest, actor: str, name: str,
                   written_door: str | None) -> None:
    record = registry(request, world).pipeline(name)
    world.send(actor, "GET", f"{PIPELINES}/{record.id}/versions?page_size=200",
               door=door(world, written_door))


@when(parsers.re(ACTOR + f" (?P<action>gets|deletes|renames) the version {VERSION} of the "
                 f"(?:shared )?pipeline {NAME}" + DOOR))
def acts_on_version(world: World, request: pytest.FixtureRequest, actor: str, action: str,
                    version: str, name: str, written_door: str | None) -> None:
    found = registry(request, world)
    path = f"{PIPELINES}/{found.pipeline(name).id}/versions/{found.version(name, version).id}"
    chosen = door(world, written_door)
    if action == "renames":  # display_name and tags are what UpdatePipelineVersion changes
        world.send(actor, "PATCH", path, json={"display_name": f"renamed by {actor}"},
                   door=chosen)
    else:
        world.send(actor, "GET" if action == "gets" else "DELETE", path, door=chosen)


# -- runs of a stored pipeline version -----------------------------------------------------------

def version_reference(found: Registry, pipeline: str, version: str) -> dict[str, str]:
    """The v2beta1 ``pipeline_version_reference`` of a version this scenario made."""
    return {"pipeline_id": found.pipeline(pipeline).id,
            "pipeline_version_id": found.version(pipeline, version).id}


@when(parsers.re(ACTOR + f" creates a run {NAME} of the version {VERSION} of the pipeline "
                 r'"(?P<pipeline>[^"]+)"' + f" in {EXPERIMENT}" + API))
def creates_run_of_version(world: World, request: pytest.FixtureRequest, actor: str, name: str,
                           version: str, pipeline: str, experiment: str,
                           api: str | None) -> None:
    """A run that names a stored version instead of carrying a spec: v2beta1's
    ``pipeline_version_reference``, or v1beta1's PIPELINE_VERSION reference (CREATOR)."""
    found = registry(request, world)
    if api == "v1beta1":
        creator = reference("PIPELINE_VERSION", found.version(pipeline, version).id)
        creator["relationship"] = "CREATOR"
        world.send(actor, "POST", RUNS_V1, json={
            "name": name, "resource_references": [
                reference("EXPERIMENT", experiment_id(world, experiment)), creator]})
        remember_created(world, "run", name, ("run", "id"), experiment, scene=False)
        return
    world.send(actor, "POST", RUNS, json={
        "display_name": name, "experiment_id": experiment_id(world, experiment),
        "pipeline_version_reference": version_reference(found, pipeline, version)})
    remember_created(world, "run", name, ("run_id",), experiment, scene=False)


# -- expectations --------------------------------------------------------------------------------

@then(parsers.re(f"the listed pipelines are exactly {NAMES}"))
def listed_pipelines(world: World, request: pytest.FixtureRequest, names: str) -> None:
    found = registry(request, world)
    data = oracles.succeeded(world.last())
    listed = sorted(found.feature_name(str(p.get("name"))) for p in data.get("pipelines") or [])
    assert listed == sorted_names(names), f"expected exactly {sorted_names(names)}, listed {listed}"


@then(parsers.re(f"the listed versions are exactly {NAMES}"))
def listed_versions(world: World, names: str) -> None:
    data = oracles.succeeded(world.last())
    listed = sorted(str(v.get("name")) for v in data.get("pipeline_versions") or [])
    assert listed == sorted_names(names), f"expected exactly {sorted_names(names)}, listed {listed}"


@then(parsers.re(f"the answer is the (?:shared )?pipeline {NAME}"))
def answer_is_pipeline(world: World, request: pytest.FixtureRequest, name: str) -> None:
    record = registry(request, world).pipeline(name)
    data = oracles.succeeded(world.last())
    assert (data.get("pipeline_id"), data.get("name")) == (record.id, record.actual), \
        f"expected pipeline {record.actual!r} ({record.id}), got {data}"


@then("the answer holds the pipeline definition")
def answer_holds_definition(world: World) -> None:
    """The version read back carries the package it was made from (the probe pipeline)."""
    data = oracles.succeeded(world.last())
    spec = data.get("pipeline_spec") if isinstance(data, dict) else None
    info = spec.get("pipelineInfo") if isinstance(spec, dict) else None
    name = info.get("name") if isinstance(info, dict) else None
    assert name == PROBE_NAME, f"expected the pipeline spec of {PROBE_NAME!r}, got {data}"


@then(parsers.re(f"the pipeline {NAME} is unchanged"))
def pipeline_unchanged(world: World, request: pytest.FixtureRequest, name: str) -> None:
    record = registry(request, world).pipeline(name)
    now = pipeline_view(world, record)
    assert now.status_code == 200, \
        f"pipeline {name!r} is gone for its owner: {now.status_code} {now.text[:200]}"
    assert stable(now.json()) == stable(record.seen), \
        f"pipeline {name!r} changed: {record.seen} -> {now.json()}"


@then(parsers.re(f"the pipeline {NAME} is renamed"))
def pipeline_renamed(world: World, request: pytest.FixtureRequest, name: str) -> None:
    record = registry(request, world).pipeline(name)
    now = oracles.succeeded(pipeline_view(world, record))
    expected = f"renamed by {world.actor}"
    assert now.get("display_name") == expected, f"expected display_name {expected!r}: {now}"
    record.seen = now


@then(parsers.re(f"the version {VERSION} of the pipeline {NAME} is renamed"))
def version_renamed(world: World, request: pytest.FixtureRequest, version: str,
                    name: str) -> None:
    found = registry(request, world)
    record = found.version(name, version)
    now = oracles.succeeded(version_view(world, found, record))
    expected = f"renamed by {world.actor}"
    assert now.get("display_name") == expected, f"expected display_name {expected!r}: {now}"
    record.seen = now


@then(parsers.re(f"the pipeline {NAME} no longer exists"))
def pipeline_gone(world: World, request: pytest.FixtureRequest, name: str) -> None:
    now = pipeline_view(world, registry(request, world).pipeline(name))
    assert now.status_code == 404, f"expected 404 for its owner, got {now.status_code}"


@then(parsers.re(f"the pipeline {NAME} belongs to {TENANT}"))
def pipeline_in_tenant(world: World, request: pytest.FixtureRequest, name: str,
                       tenant: str) -> None:
    now = oracles.succeeded(pipeline_view(world, registry(request, world).pipeline(name)))
    assert now.get("namespace") == world.cast.namespace(tenant), f"namespace: {now}"


@then(parsers.re(f"the pipeline {NAME} has "
                 r'(?:no versions|exactly the versions (?P<names>".*"))'))
def pipeline_versions(world: World, request: pytest.FixtureRequest, name: str,
                      names: str | None) -> None:
    expected = sorted_names(names or "nothing")
    listed = owner_versions(world, registry(request, world), name)
    assert listed == expected, \
        f"pipeline {name!r}: expected exactly the versions {expected}, has {listed}"


@then(parsers.re(f"the version {VERSION} of the pipeline {NAME} is unchanged"))
def version_unchanged(world: World, request: pytest.FixtureRequest, version: str,
                      name: str) -> None:
    found = registry(request, world)
    record = found.version(name, version)
    now = version_view(world, found, record)
    assert now.status_code == 200, \
        f"version {version!r} is gone for its owner: {now.status_code} {now.text[:200]}"
    assert stable(now.json()) == stable(record.seen), \
        f"version {version!r} changed: {record.seen} -> {now.json()}"


@then(parsers.re(f"no shared pipeline named {NAME} exists"))
def no_shared_pipeline(world: World, name: str) -> None:
    """The admin finds no shared pipeline of that name (its server name has the run prefix)."""
    predicate = {"key": "name", "operation": "EQUALS", "string_value": world.cast.prefix + name}
    text = urllib.parse.quote(json.dumps({"predicates": [predicate]}))
    listed = oracles.succeeded(_view(world, ADMIN, f"{PIPELINES}?filter={text}&page_size=200"))
    found = [p.get("pipeline_id") for p in listed.get("pipelines") or []]
    assert not found, f"a shared pipeline {name!r} exists: {found}"


@then(parsers.re(f"no pipeline was created in {TENANT}"))
def no_pipeline_created(world: World, tenant: str) -> None:
    owner = world.cast.owner(tenant)
    listed = oracles.succeeded(_view(world, owner, f"{PIPELINES}?namespace="
                                                   f"{world.cast.namespace(tenant)}&page_size=200"))
    names = sorted(str(p.get("name")) for p in listed.get("pipelines") or [])
    known = sorted(n.name for n in world.objects.values()
                   if n.kind == KIND and n.tenant == tenant and n.given)
    assert names == known, f"{tenant} holds the pipelines {names}; the scenario made only {known}"


@then(parsers.re(r'the upload fails with (?P<status>\d{3}) "(?P<message>.*)"'))
def upload_fails_with(world: World, status: str, message: str) -> None:
    """The multipart handlers' own error shape (spec 5.5): ``{error_message, error_details}``;
    an authorization failure there is a 400 whose message names no one."""
    response = world.last()
    data = oracles.body(response)
    got = data.get("error_message") if isinstance(data, dict) else None
    assert (response.status_code, got) == (int(status), message), \
        f"expected {status} {message!r}, got {response.status_code}: {data}"

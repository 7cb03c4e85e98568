"""Recurring run steps: schedule, read, switch and list recurring runs by name.

A recurring run (v1beta1: a job) lives in its parent experiment's namespace like a run (spec
sections 3.4 and 4.3); the v2beta1 answers show it as ``namespace``.  Its trigger is a daily
period, so an enabled one never fires while a scenario runs on a real deployment.  Enable and
disable only move ``status`` and ``mode``, so the no-side-effect check compares both.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from conformance.pipeline_spec import MINIMAL_PIPELINE_SPEC, MINIMAL_PIPELINE_TEXT
from conformance.world import Named, World
from steps.generic import ACTOR, NAME, TENANT
from steps.pipelines import VERSION, registry, version_reference
from steps.runs import (
    EXPERIMENT,
    NAMESPACE_REF,
    experiment_id,
    home_tenant,
    reference,
    remember_created,
    scene_made,
)

KIND = "recurringrun"
RECURRING_RUNS = "/apis/v2beta1/recurringruns"
JOBS_V1 = "/apis/v1beta1/jobs"
DAILY = {"periodic_schedule": {"interval_second": "86400"}}
MODES = {"enabled": "ENABLE", "disabled": "DISABLE"}
STATUSES = {"enabled": "ENABLED", "disabled": "DISABLED"}
ACTIONS = {  # the verb of a step -> (HTTP method, path suffix after the recurring run's id)
    "gets": ("GET", ""),
    "enables": ("POST", ":enable"),
    "disables": ("POST", ":disable"),
    "deletes": ("DELETE", ""),
}
SWITCHES = "enabled|disabled"
REPORT_SCHEDULED_WORKFLOW = "/apis/v2beta1/scheduledworkflows"
# What a forged ScheduledWorkflow report claims: the persistence agent's report updates the
# recurring run it names by uid (its switch, trigger and concurrency) from the report's spec.
EVERY_MINUTE = {"cronSchedule": {"cron": "0 * * * * *"}}
FORGED_MAX_CONCURRENCY = 10


def body(name: str, experiment: str, *, enabled: bool) -> dict[str, Any]:
    return {"display_name": name, "experiment_id": experiment,
            "pipeline_spec": MINIMAL_PIPELINE_SPEC,
            "mode": MODES["enabled"] if enabled else MODES["disabled"],
            "max_concurrency": "1", "trigger": DAILY}


def _create(world: World, actor: str, name: str, experiment: str, *, enabled: bool = False,
            namespace_of: str = "", scene: bool) -> None:
    request = body(name, experiment_id(world, experiment), enabled=enabled)
    if namespace_of:
        request["namespace"] = world.cast.namespace(namespace_of)
    world.send(actor, "POST", RECURRING_RUNS, json=request)
    remember_created(world, KIND, name, ("recurring_run_id",), experiment, scene=scene)


def _create_v1(world: World, actor: str, name: str, experiment: str, namespace_of: str, *,
               scene: bool) -> None:
    references = [reference("EXPERIMENT", experiment_id(world, experiment)),
                  reference(NAMESPACE_REF, world.cast.namespace(namespace_of))]
    world.send(actor, "POST", JOBS_V1, json={
        "name": name, "enabled": False, "max_concurrency": "1", "trigger": DAILY,
        "resource_references": references,
        "pipeline_spec": {"pipeline_manifest": MINIMAL_PIPELINE_TEXT}})
    remember_created(world, KIND, name, ("id",), experiment, scene=scene)


def _act(world: World, actor: str, action: str, name: str) -> None:
    method, suffix = ACTIONS[action]
    world.send(actor, method, f"{RECURRING_RUNS}/{world.named(KIND, name).id}{suffix}")


def _now(world: World, name: str) -> tuple[Named, dict[str, Any]]:
    named = world.named(KIND, name)
    response = world.owner_view(named)
    assert response.status_code == 200, (f"recurring run {name!r} is gone for its owner: "
                                         f"{response.status_code} {response.text[:200]}")
    return named, response.json()


@given(parsers.re(ACTOR + f" created an? (?P<switch>{SWITCHES}) recurring run {NAME} "
                          f"in {EXPERIMENT}"))
def created_recurring_run(world: World, actor: str, switch: str, name: str,
                          experiment: str) -> None:
    _create(world, actor, name, experiment, enabled=switch == "enabled", scene=True)
    scene_made(world, KIND, name, actor, f"schedule {name!r} in experiment {experiment!r}")


@given(parsers.re(ACTOR + f" created a v1beta1 job {NAME} in {EXPERIMENT} "
                          f"with a NAMESPACE reference to {TENANT}"))
def created_job_v1(world: World, actor: str, name: str, experiment: str, tenant: str) -> None:
    _create_v1(world, actor, name, experiment, tenant, scene=True)
    scene_made(world, KIND, name, actor, f"schedule v1beta1 job {name!r} in {experiment!r}")


@when(parsers.re(ACTOR + f" creates a recurring run {NAME} in {EXPERIMENT}"
                         f"(?:, naming the namespace of (?P<tenant>\\w+))?"))
def creates_recurring_run(world: World, actor: str, name: str, experiment: str,
                          tenant: str | None) -> None:
    _create(world, actor, name, experiment, namespace_of=tenant or "", scene=False)


@when(parsers.re(ACTOR + f" creates a recurring run {NAME} of the version {VERSION} of the "
                 r'pipeline "(?P<pipeline>[^"]+)"' + f" in {EXPERIMENT}"))
def creates_recurring_run_of_version(world: World, request: pytest.FixtureRequest, actor: str,
                                     name: str, version: str, pipeline: str,
                                     experiment: str) -> None:
    """A disabled recurring run that names a stored version instead of carrying a spec."""
    found = registry(request, world)
    scheduled = body(name, experiment_id(world, experiment), enabled=False)
    del scheduled["pipeline_spec"]
    scheduled["pipeline_version_reference"] = version_reference(found, pipeline, version)
    world.send(actor, "POST", RECURRING_RUNS, json=scheduled)
    remember_created(world, KIND, name, ("recurring_run_id",), experiment, scene=False)


@when(parsers.re(ACTOR + f" creates a v1beta1 job {NAME} in {EXPERIMENT} "
                         f"with a NAMESPACE reference to {TENANT}"))
def creates_job_v1(world: World, actor: str, name: str, experiment: str, tenant: str) -> None:
    _create_v1(world, actor, name, experiment, tenant, scene=False)


@when(parsers.re(ACTOR + f" creates a recurring run {NAME} without an experiment"))
def creates_recurring_run_without_experiment(world: World, actor: str, name: str) -> None:
    request = body(name, "", enabled=False)
    del request["experiment_id"]
    world.send(actor, "POST", RECURRING_RUNS, json=request)
    if world.last().status_code == 200:
        world.remember(KIND, name, world.last().json()["recurring_run_id"], home_tenant(actor),
                       given=False)


@when(parsers.re(ACTOR + f" (?P<action>{'|'.join(ACTIONS)}) the recurring run {NAME}"))
def acts_on_recurring_run(world: World, actor: str, action: str, name: str) -> None:
    _act(world, actor, action, name)


@then(parsers.re(f"the recurring run {NAME} is (?P<switch>{SWITCHES})"))
def recurring_run_switched(world: World, name: str, switch: str) -> None:
    named, now = _now(world, name)
    assert (now.get("status"), now.get("mode")) == (STATUSES[switch], MODES[switch]), \
        f"expected status {STATUSES[switch]} and mode {MODES[switch]}: {now}"
    named.seen = now


@then(parsers.re(f"the recurring run {NAME} belongs to {TENANT}"))
def recurring_run_in_tenant(world: World, name: str, tenant: str) -> None:
    _, now = _now(world, name)
    assert now.get("namespace") == world.cast.namespace(tenant), \
        f"expected namespace {world.cast.namespace(tenant)!r}: {now}"


def _scheduled_workflow(world: World, name: str, *, forged: bool) -> dict[str, Any]:
    """The ScheduledWorkflow the persistence agent reports for a recurring run (its uid is the
    recurring run's id): as the recurring run is now, or forged (switched the other way,
    firing every minute, ten at a time)."""
    named, now = _now(world, name)
    enabled = now.get("status") == STATUSES["enabled"]
    trigger = {"periodicSchedule": {"intervalSecond": int(
        ((now.get("trigger") or {}).get("periodic_schedule") or {}).get("interval_second")
        or DAILY["periodic_schedule"]["interval_second"])}}
    spec: dict[str, Any] = {
        "enabled": enabled, "maxConcurrency": int(now.get("max_concurrency") or 1),
        "noCatchup": bool(now.get("no_catchup")), "trigger": trigger, "workflow": {}}
    if forged:
        spec.update(enabled=not enabled, maxConcurrency=FORGED_MAX_CONCURRENCY,
                    noCatchup=not spec["noCatchup"], trigger=EVERY_MINUTE)
    return {"apiVersion": "kubeflow.org/v1beta1", "kind": "ScheduledWorkflow",
            "metadata": {"name": str(now.get("display_name") or name),
                         "namespace": world.cast.namespace(named.tenant), "uid": named.id},
            "spec": spec}


@when(parsers.re(ACTOR + r" reports (?:the|a (?P<forged>forged)) scheduled workflow of the "
                 f"recurring run {NAME}(?: as it is)?"))
def reports_scheduled_workflow(world: World, actor: str, forged: str | None,
                               name: str) -> None:
    """What the persistence agent sends (ReportService), as a JSON string."""
    world.send(actor, "POST", REPORT_SCHEDULED_WORKFLOW, json=json.dumps(
        _scheduled_workflow(world, name, forged=bool(forged))))

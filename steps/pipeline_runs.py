"""Runs that do something: the suite's producer pipeline, started and awaited by name.

The data-plane scenarios need a run that really executes (a workflow, pods, an output artifact
in the object store, records in ML Metadata); the API scenarios' empty pipeline has none of
that.  A run may name a service account of the scenario's own (``a new service account "x"``)
and read a Secret the scenario made (``a secret "x" in alice``): both by the names the feature
gives them, resolved here to the real, suffixed names.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

import pytest
from kubernetes import client as k8s
from pytest_bdd import given, parsers, then, when

from conformance.outcomes import HarnessError
from conformance.pipeline_spec import (
    producer_pipeline_spec,
    run_pipeline_field,
    secret_platform_spec,
)
from conformance.world import World
from steps.access import Account
from steps.generic import ACTOR, NAME, TENANT
from steps.runs import EXPERIMENT, KIND, RUNS, experiment_id, remember_created, run_finished

AS_ACCOUNT = r'(?: as "(?P<account>[\w-]+)")?'
SECRET = r'"(?P<secret>[\w-]+)"'
STATE = r'"(?P<state>[A-Z_]+)"'


def account_name(world: World, account: str) -> str:
    """The real name of a service account the scenario made, or ``account`` itself (one the
    profile controller made, such as ``default-editor``)."""
    made = world.notes.get(f"account {account}")
    return made.name if isinstance(made, Account) else account


def secret_name(world: World, secret: str) -> str:
    """The real name of a Secret the scenario made (the same in every namespace)."""
    name = world.notes.get(f"secret {secret}")
    if not isinstance(name, str):
        raise HarnessError(f"this scenario made no secret {secret!r}")
    return name


def _start(world: World, actor: str, name: str, experiment: str, pipeline: dict[str, Any],
           account: str | None, *, scene: bool) -> None:
    body: dict[str, Any] = {"display_name": name,
                            "experiment_id": experiment_id(world, experiment),
                            "pipeline_spec": pipeline}
    if account:
        body["service_account"] = account_name(world, account)
    world.send(actor, "POST", RUNS, json=body)
    remember_created(world, KIND, name, ("run_id",), experiment, scene=scene)
    if scene and f"{KIND}:{name}" not in world.objects:
        raise HarnessError(f"{actor} could not start run {name!r}: "
                           f"{world.last().status_code} {world.last().text[:200]}")


def _secret_pipeline(world: World, secret: str) -> dict[str, Any]:
    real = secret_name(world, secret)
    return run_pipeline_field(producer_pipeline_spec(env_from_secret=real),
                              secret_platform_spec(real))


@given(parsers.re(f"{TENANT}'s run {NAME} of the producer pipeline in {EXPERIMENT}"
                  f"{AS_ACCOUNT} has finished"))
def finished_producer_run(world: World, tenant: str, name: str, experiment: str,
                          account: str | None) -> None:
    actor = world.cast.owner(tenant) if tenant in ("alice", "bob") else tenant
    _start(world, actor, name, experiment, run_pipeline_field(producer_pipeline_spec()),
           account, scene=True)
    run_finished(world, name)


@when(parsers.re(ACTOR + f" tries a run {NAME} of the producer pipeline in {EXPERIMENT}"
                 f"{AS_ACCOUNT}"))
def tries_producer_run(world: World, actor: str, name: str, experiment: str,
                       account: str | None) -> None:
    """The action under test: the API server may refuse it (the Then steps judge)."""
    _start(world, actor, name, experiment, run_pipeline_field(producer_pipeline_spec()),
           account, scene=False)


@when(parsers.re(ACTOR + f" starts a run {NAME} of the pipeline reading the secret {SECRET} "
                 f"in {EXPERIMENT}"))
def starts_secret_run(world: World, actor: str, name: str, secret: str,
                      experiment: str) -> None:
    _start(world, actor, name, experiment, _secret_pipeline(world, secret), None, scene=True)


@given(parsers.re(f"a secret {SECRET} in {TENANT} holding \"(?P<value>[^\"]*)\""))
def secret_in(world: World, request: pytest.FixtureRequest, secret: str, tenant: str,
              value: str) -> None:
    """A Secret (key ``token``) made by the operator; one real name per scenario, so the same
    pipeline names it in every namespace."""
    real = world.notes.setdefault(f"secret {secret}", f"{secret}-{secrets.token_hex(3)}")
    namespace = world.cast.namespace(tenant)
    core = k8s.CoreV1Api(world.connection.kube)
    core.create_namespaced_secret(namespace, k8s.V1Secret(
        metadata=k8s.V1ObjectMeta(name=real),
        data={"token": base64.b64encode(value.encode()).decode()}))

    def remove() -> None:
        try:
            core.delete_namespaced_secret(real, namespace)
        except k8s.ApiException as exc:
            if exc.status != 404:
                raise
    request.addfinalizer(remove)


@then(parsers.re(f"the run {NAME} ended {STATE}"))
@given(parsers.re(f"the run {NAME} ended {STATE}"))
def run_ended(world: World, name: str, state: str) -> None:
    named = world.named(KIND, name)
    world.refresh(named)
    assert named.seen.get("state") == state, \
        f"expected run {name!r} to end {state}, it is {named.seen.get('state')}: " \
        f"{str(named.seen.get('error') or '')[:300]}"


@then(parsers.re(f"the run {NAME} has not succeeded"))
def run_not_succeeded(world: World, name: str) -> None:
    named = world.named(KIND, name)
    world.refresh(named)
    assert named.seen.get("state") != "SUCCEEDED", \
        f"run {name!r} succeeded although its pod could not start"

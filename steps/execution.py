"""Where a run executes: its Argo Workflow and pods, read from the Kubernetes API.

The operator's view (the suite's admin credentials): which namespace the workflow and every
pod are in, which service account they run as, what they report when Kubernetes refuses them.
"""

from __future__ import annotations

import re
from typing import Any

from pytest_bdd import parsers, then

from conformance import dataplane
from conformance.outcomes import HarnessError
from conformance.world import World
from steps import oracles
from steps.generic import NAME, TENANT
from steps.pipeline_runs import account_name, secret_name
from steps.runs import FINISH_TIMEOUT_SECONDS, KIND, run_finished, wait_until

QUOTED_SINGLE = r"'(?P<message>.*)'"
_PLACEHOLDER = re.compile(r"\{(?P<kind>account|secret):(?P<name>[^}]+)\}")


def fill(world: World, text: str) -> str:
    """Resolve ``{account:x}`` / ``{secret:x}`` (the scenario's suffixed names), then the
    world's ``{namespace:t}`` and object placeholders."""
    def real(match: re.Match[str]) -> str:
        if match["kind"] == "account":
            return account_name(world, match["name"])
        return secret_name(world, match["name"])
    return world.resolve(_PLACEHOLDER.sub(real, text))


def _run_id(world: World, name: str) -> str:
    return world.named(KIND, name).id


def _workflow_in(world: World, name: str, tenant: str) -> dict[str, Any]:
    namespace = world.cast.namespace(tenant)
    found = dataplane.workflows_of_run(world.connection, namespace, _run_id(world, name))
    assert len(found) == 1, \
        f"expected one workflow of run {name!r} in {namespace}, found {len(found)}"
    return found[0]


def _pods(world: World, name: str, tenant: str) -> list[Any]:
    workflow = _workflow_in(world, name, tenant)
    return dataplane.pods_of_workflow(world.connection, workflow["metadata"]["namespace"],
                                      workflow["metadata"]["name"])


@then(parsers.re(f"the run {NAME} executed only in {TENANT}, as the service account "
                 r'"(?P<account>[\w-]+)"'))
def executed_in(world: World, name: str, tenant: str, account: str) -> None:
    namespace = world.cast.namespace(tenant)
    expected = account_name(world, account)
    everywhere = dataplane.all_workflows_of_run(world.connection, _run_id(world, name))
    places = sorted({w["metadata"]["namespace"] for w in everywhere})
    assert places == [namespace], \
        f"expected the workflow of run {name!r} in {namespace} only, found it in {places}"
    workflow = everywhere[0]
    used = (workflow.get("spec") or {}).get("serviceAccountName")
    assert used == expected, f"expected the workflow to run as {expected!r}, it names {used!r}"
    pods = dataplane.pods_of_workflow(world.connection, namespace,
                                      workflow["metadata"]["name"])
    assert pods, f"the workflow {workflow['metadata']['name']} has no pods in {namespace}"
    wrong = [(p.metadata.name, p.spec.service_account_name) for p in pods
             if p.spec.service_account_name != expected]
    assert not wrong, f"pods not running as {expected!r}: {wrong}"


@then(parsers.re(f"the workflow of the run {NAME} reports {QUOTED_SINGLE}"))
def workflow_reports(world: World, name: str, message: str) -> None:
    expected = fill(world, message)
    workflow = _workflow_in(world, name, world.named(KIND, name).tenant)
    messages = dataplane.workflow_messages(workflow)
    assert any(expected in text for text in messages), \
        f"expected a workflow message with {expected!r}, got {messages}"


@then(parsers.re(f"the run {NAME} is refused, or fails reporting {QUOTED_SINGLE}"))
def refused_or_fails(world: World, name: str, message: str) -> None:
    """Either outcome keeps the run out of the account: the API server's exact refusal of the
    caller, or a run that Kubernetes would not start, failing with its reason."""
    if f"{KIND}:{name}" not in world.objects:
        oracles.denied(world.last(), world.cast.identity(world.actor))
        return
    run_finished(world, name)
    named = world.named(KIND, name)
    assert named.seen.get("state") == "FAILED", \
        f"expected run {name!r} to fail, it is {named.seen.get('state')}"
    workflow_reports(world, name, message)


@then(parsers.re(f"nothing of the run {NAME} ran in {TENANT}"))
def nothing_ran_in(world: World, name: str, tenant: str) -> None:
    if f"{KIND}:{name}" not in world.objects:
        return  # the API server refused it (checked by the step before): no run exists
    namespace = world.cast.namespace(tenant)
    run_id = _run_id(world, name)
    found = dataplane.workflows_of_run(world.connection, namespace, run_id)
    assert not found, f"run {name!r} has workflows in {namespace}: " \
                      f"{[w['metadata']['name'] for w in found]}"
    pods = dataplane.pods_of_run(world.connection, namespace, run_id)
    assert not pods, f"run {name!r} has pods in {namespace}: {[p.metadata.name for p in pods]}"


def _reads_secret(pod: Any, secret: str) -> bool:
    for container in pod.spec.containers or []:
        for env in container.env or []:
            ref = env.value_from.secret_key_ref if env.value_from else None
            if ref is not None and ref.name == secret:
                return True
    return any(v.secret is not None and v.secret.secret_name == secret
               for v in pod.spec.volumes or [])


@then(parsers.re(f"the pods of the run {NAME} read the secret " r'"(?P<secret>[\w-]+)"'
                 f" in {TENANT}"))
def pods_read_secret(world: World, name: str, secret: str, tenant: str) -> None:
    """A pod can only name Secrets of its own namespace: a pod in the tenant's namespace that
    names it, and started (no waiting container), read the tenant's own."""
    real = secret_name(world, secret)
    pods = [p for p in _pods(world, name, tenant) if _reads_secret(p, real)]
    assert pods, f"no pod of run {name!r} in {tenant} reads the secret {real!r}"
    for pod in pods:
        assert pod.metadata.namespace == world.cast.namespace(tenant)
        waiting = dataplane.waiting_reasons(pod)
        assert not waiting, f"pod {pod.metadata.name} could not start: {waiting}"


@then(parsers.re(f"a pod of the run {NAME} waits with " r'"(?P<reason>\w+)"'
                 f" and {QUOTED_SINGLE}"))
def pod_waits(world: World, name: str, reason: str, message: str) -> None:
    expected = (reason, fill(world, message))
    named = world.named(KIND, name)
    seen: list[tuple[str, str]] = []

    def waiting() -> bool:
        try:
            pods = _pods(world, name, named.tenant)
        except AssertionError:
            return False  # no workflow yet
        seen[:] = [w for pod in pods for w in dataplane.waiting_reasons(pod)]
        return expected in seen

    if not wait_until(world, named, waiting):
        if not seen:
            raise AssertionError(f"no pod of run {name!r} waited within "
                                 f"{FINISH_TIMEOUT_SECONDS} s (state "
                                 f"{named.seen.get('state')})")
        raise AssertionError(f"expected a pod waiting with {expected}, saw {seen}")
    if named.seen.get("state") == "SUCCEEDED":
        raise HarnessError(f"run {name!r} succeeded while a pod waited: {seen}")

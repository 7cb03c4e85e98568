"""Runs that do something: the suite's producer pipeline, started and awaited by name.

The data-plane scenarios need a run that really executes (a workflow, pods, an output artifact
in the object store, records in ML Metadata); the API scenarios' empty pipeline has none of
that.  A run may name a service account of the scenario's own (``a new service account "x"``)
and read a Secret the scenario made (``a secret "x" in alice``): both by the names the feature
gives them, resolved here to the real, suffixed names.
"""

from __future__ import annotations

import base64
import re
import secrets
from typing import Any

import pytest
from kubernetes import client as k8s
from pytest_bdd import given, parsers, then, when

from conformance import dataplane
from conformance.outcomes import HarnessError, NotSupported
from conformance.pipeline_spec import (
    producer_pipeline_spec,
    run_pipeline_field,
    secret_platform_spec,
)
from conformance.world import World
from steps.access import Account
from steps.generic import ACTOR, NAME, TENANT
from steps.runs import (
    EXPERIMENT,
    KIND,
    RUNS,
    RUNS_V1,
    experiment_id,
    reference,
    remember_created,
    run_finished,
)

AS_ACCOUNT = r'(?: as "(?P<account>[\w-]+)")?'
SECRET = r'"(?P<secret>[\w-]+)"'
STATE = r'"(?P<state>[A-Z_]+)"'
ARTIFACT = r'"(?P<artifact>[\w-]+)"'
# Where a v1 workflow's output artifacts go when its S3 location names no bucket: the
# workflow controller's artifact repository (KFP's default bucket).
ARTIFACT_BUCKET = "mlpipeline"
# The producer as a KFP v1 pipeline (an Argo Workflow, what KFP 1.x compiled): one task that
# prints a line and writes the Argo output artifact "data".
LEGACY_PRODUCER = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: kfp-isolation-legacy-producer-
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: produce, template: produce}
  - name: produce
    container:
      image: busybox:1.36
      command: [sh, -c]
      args: ['mkdir -p /tmp/outputs && printf kfp-isolation > /tmp/outputs/data && echo produced']
    outputs:
      artifacts:
      - {name: data, path: /tmp/outputs/data}
"""
# A log line's leading timestamp (kubectl --timestamps, or the API server's archive reader
# drops it): what is left is the text the log must not leak.
_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\S+\s")
LOG_LINE_MIN = 16  # shorter lines could occur in any answer by chance


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


@then(parsers.re(f"the run {NAME} has not ended {STATE}"))
def run_not_ended(world: World, name: str, state: str) -> None:
    """A state the run's own pipeline never reaches: only a request can have put it there."""
    named = world.named(KIND, name)
    response = world.owner_view(named)
    assert response.status_code == 200, \
        f"run {name!r} is gone for its owner: {response.status_code} {response.text[:200]}"
    assert response.json().get("state") != state, \
        f"run {name!r} ended {state}: {response.text[:300]}"


@then(parsers.re(f"the run {NAME} has not succeeded"))
def run_not_succeeded(world: World, name: str) -> None:
    named = world.named(KIND, name)
    world.refresh(named)
    assert named.seen.get("state") != "SUCCEEDED", \
        f"run {name!r} succeeded although its pod could not start"


# -- the API server's own readers: a node's artifact (ReadArtifact) and a pod's log -------------

@given(parsers.re(f"{TENANT}'s v1 run {NAME} of the producer workflow in {EXPERIMENT} "
                  "has finished"))
def finished_legacy_run(world: World, tenant: str, name: str, experiment: str) -> None:
    """A v1beta1 run of an Argo Workflow: its node outputs are what ``ReadArtifact`` serves."""
    actor = world.cast.owner(tenant)
    world.send(actor, "POST", RUNS_V1, json={
        "name": name, "resource_references": [reference("EXPERIMENT",
                                                        experiment_id(world, experiment))],
        "pipeline_spec": {"workflow_manifest": LEGACY_PRODUCER}})
    remember_created(world, KIND, name, ("run", "id"), experiment, scene=True)
    if f"{KIND}:{name}" not in world.objects:
        raise HarnessError(f"{actor} could not start the v1 run {name!r}: "
                           f"{world.last().status_code} {world.last().text[:200]}")
    run_finished(world, name)


def _output_of_node(world: World, name: str, artifact: str) -> tuple[str, dict[str, Any]] | None:
    """(node id, S3 location) of the run's workflow node whose outputs name ``artifact`` with
    an object key."""
    named = world.named(KIND, name)
    namespace = world.cast.namespace(named.tenant)
    for workflow in dataplane.workflows_of_run(world.connection, namespace, named.id):
        for node_id, node in ((workflow.get("status") or {}).get("nodes") or {}).items():
            outputs = (node.get("outputs") or {}) if isinstance(node, dict) else {}
            for item in outputs.get("artifacts") or []:
                if item.get("name") == artifact and (item.get("s3") or {}).get("key"):
                    return str(node.get("id") or node_id), dict(item["s3"])
    return None


def _node_with_output(world: World, name: str, artifact: str) -> str | None:
    """The id of the run's workflow node whose outputs name ``artifact`` with an object key."""
    found = _output_of_node(world, name, artifact)
    return found[0] if found else None


@then(parsers.re(f"the workflow of the run {NAME} names the output artifact {ARTIFACT}"))
def workflow_names_output(world: World, name: str, artifact: str) -> None:
    """The positive control of a read: the object is there for the API server to find."""
    assert _node_with_output(world, name, artifact), \
        f"no node of the workflow of run {name!r} names an output artifact {artifact!r}"


@when(parsers.re(ACTOR + f" reads the output artifact {ARTIFACT} of the run {NAME} through "
                 "the API server"))
def reads_node_artifact(world: World, actor: str, artifact: str, name: str) -> None:
    node = _node_with_output(world, name, artifact)
    if node is None:
        raise HarnessError(f"run {name!r} has no node with the output artifact {artifact!r}")
    world.send(actor, "GET", f"{RUNS_V1}/{world.named(KIND, name).id}/nodes/{node}/artifacts/"
                             f"{artifact}:read")


def pod_of_run(world: World, name: str) -> str:
    """The name of one pod (the first by name) of the named run, in its namespace."""
    named = world.named(KIND, name)
    namespace = world.cast.namespace(named.tenant)
    pods = dataplane.pods_of_run(world.connection, namespace, named.id)
    if not pods:
        raise HarnessError(f"run {name!r} has no pods in {namespace}")
    return str(sorted(pod.metadata.name for pod in pods)[0])


@given(parsers.re(f"the log of a pod of the run {NAME} is not empty"))
def pod_log_not_empty(world: World, name: str) -> None:
    """The positive control of a log read: the pod's main container log, as its namespace's
    viewers read it through the Kubernetes API."""
    named = world.named(KIND, name)
    pod = pod_of_run(world, name)
    try:
        text = k8s.CoreV1Api(world.connection.kube).read_namespaced_pod_log(
            pod, world.cast.namespace(named.tenant), container="main")
    except k8s.ApiException as exc:
        raise HarnessError(f"cannot read the log of pod {pod}: {exc.status} {exc.reason}"
                           ) from None
    lines = [_STAMP.sub("", line).strip() for line in str(text or "").splitlines()]
    lines = [line for line in lines if len(line) >= LOG_LINE_MIN]
    assert lines, f"the log of pod {pod} of run {name!r} is empty: {text!r}"
    world.notes[f"log {name}"] = lines


@when(parsers.re(ACTOR + f" reads the log of a pod of the run {NAME} through the API server"))
def reads_pod_log_from_api(world: World, actor: str, name: str) -> None:
    """``/apis/v1alpha1/.../log``: only the API server's own listener serves it (the UI server
    forwards v1beta1 and v2beta1 only)."""
    if not world.connection.target.kfp_direct:
        raise NotSupported("the target names no direct KFP endpoint (the run log route is not "
                           "reachable through the gateway)")
    pod = pod_of_run(world, name)
    world.send(actor, "GET", f"/apis/v1alpha1/runs/{world.named(KIND, name).id}/nodes/{pod}/log",
               door="direct")


@then(parsers.re(r"the API server refuses with (?P<status>\d{3})"))
def api_server_refuses(world: World, status: str) -> None:
    """The artifact and log handlers answer with their own status (not grpc-gateway's)."""
    response = world.last()
    assert response.status_code == int(status), \
        f"expected {status}, got {response.status_code}: {response.text[:300]}"


@then(parsers.re(ACTOR + f" reads the output artifact {ARTIFACT} of the run {NAME} from the "
                 "object store"))
def owner_reads_node_artifact(world: World, actor: str, artifact: str, name: str) -> None:
    """The positive control of a refused ``:read``: the object the node output names, as
    ``actor`` reads it with the run's namespace's own object-store credentials (the bytes the
    API server would have served)."""
    found = _output_of_node(world, name, artifact)
    if found is None:
        raise HarnessError(f"run {name!r} has no node with the output artifact {artifact!r}")
    _, location = found
    tenant = world.named(KIND, name).tenant
    if world.cast.owner(tenant) != actor:
        raise HarnessError(f"{actor} does not own the namespace of run {name!r}")
    namespace = world.cast.namespace(tenant)
    bucket = str(location.get("bucket") or ARTIFACT_BUCKET)
    stored = dataplane.ObjectStore(
        world.connection.target.object_store,
        dataplane.namespace_credentials(world.connection, namespace)).read(
            bucket, str(location["key"]))
    assert stored.ok, f"{actor} cannot read {bucket}/{location['key']}: {stored.describe()}"
    assert stored.value, f"the output artifact {artifact!r} of run {name!r} is empty"
    world.notes[f"artifact {name} {artifact}"] = bytes(stored.value)


@then(parsers.re(r'the API server refuses with (?P<status>\d{3}) "(?P<message>.*)"'))
def api_server_refuses_with(world: World, status: str, message: str) -> None:
    """The status and the handler's own error body (``writeErrorToResponse``: the message as
    both ``error_message`` and ``error_details``), nothing else."""
    api_server_refuses(world, status)
    response = world.last()
    expected = world.resolve(message)
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"expected a JSON error, got {response.text[:300]!r}") from None
    assert body == {"error_message": expected, "error_details": expected}, \
        f"expected the error {expected!r}, got {response.text[:300]!r}"


@then(parsers.re(f"the answer holds none of the output artifact {ARTIFACT} of the run {NAME}"))
def no_artifact_content(world: World, artifact: str, name: str) -> None:
    """Neither the object's bytes nor their base64 (how ``:read`` serves them), anywhere in
    the answer: its body or its headers."""
    data = world.notes.get(f"artifact {name} {artifact}")
    if not isinstance(data, bytes):
        raise HarnessError(f"the output artifact {artifact!r} of run {name!r} was not read "
                           "before this step")
    response = world.last()
    encoded = base64.b64encode(data)
    answer = response.content + "\n".join(
        f"{key}: {value}" for key, value in response.headers.items()).encode("utf-8")
    for form, text in (("bytes", data), ("base64", encoded)):
        assert text not in answer, f"the answer holds the artifact's {form}: {answer[:300]!r}"


@then(parsers.re(f"the answer holds none of the log of the run {NAME}"))
def no_log_content(world: World, name: str) -> None:
    lines = world.notes.get(f"log {name}")
    if not isinstance(lines, list):
        raise HarnessError(f"no log of run {name!r} was read before this step")
    text = world.last().text
    leaked = [line for line in lines if line in text]
    assert not leaked, f"the answer holds the pod's log: {leaked[:3]}"

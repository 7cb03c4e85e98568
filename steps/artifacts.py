"""The UI server's artifact downloads and pod logs, through the gateway as a browser asks.

The object key comes from where the KFP UI takes it: the run's output artifact in ML Metadata
(read by the run's owner); the pod from the run's workflow.  The UI server answers its refusals
as plain text with its own status codes (frontend/server/handlers/artifacts.ts, pod-logs.ts).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import requests
from pytest_bdd import parsers, then, when

from conformance import dataplane, metadata
from conformance.outcomes import HarnessError
from conformance.pipeline_spec import PRODUCER_OUTPUT
from conformance.world import World
from steps.generic import ACTOR, NAME, TENANT
from steps.oracles import PERMISSION_DENIED
from steps.pipeline_runs import pod_of_run
from steps.runs import KIND

SCOPE = f"(?: for {TENANT}| without a namespace)"
ARTIFACTS_GET = "/artifacts/get"
POD_LOGS = "/k8s/pod/logs"
POD_INFO = "/k8s/pod"
POD_EVENTS = "/k8s/pod/events"


def _output_uri(world: World, name: str) -> str:
    """The URI of the run's output artifact, as its owner's UI finds it in ML Metadata."""
    cached = world.notes.get(f"uri {name}")
    if isinstance(cached, str):
        return cached
    named = world.named(KIND, name)
    answer = metadata.run_records(world, world.cast.owner(named.tenant), named.id, "artifacts")
    uris = [str(item.get("uri", "")) for item in answer.items]
    found = [uri for uri in uris if uri.endswith(f"/{PRODUCER_OUTPUT}")]
    if not answer.ok or not found:
        raise HarnessError(f"the owner of run {name!r} finds no output artifact in ML "
                           f"Metadata: {answer.describe()} {uris}")
    world.notes[f"uri {name}"] = found[0]
    return found[0]


def _ui_get(world: World, actor: str, path: str, query: dict[str, str]) -> None:
    world.send(actor, "GET", f"{path}?{urlencode(query)}", door="gateway")


@when(parsers.re(ACTOR + f" downloads the output artifact of the run {NAME} through the UI"
                 + SCOPE))
def downloads(world: World, actor: str, name: str, tenant: str | None) -> None:
    bucket, key = dataplane.split_uri(_output_uri(world, name))
    query = {"source": "minio", "bucket": bucket, "key": key}
    if tenant:
        query["namespace"] = world.cast.namespace(tenant)
    _ui_get(world, actor, ARTIFACTS_GET, query)


def _served(response: requests.Response, what: str) -> None:
    """A 200 from the UI server's handler itself: a page of the UI (HTML) is not an answer."""
    assert response.status_code == 200, \
        f"expected {what}, got {response.status_code}: {response.text[:300]}"
    kind = response.headers.get("content-type", "")
    assert not kind.startswith("text/html"), f"expected {what}, got an HTML page"
    assert response.content, f"the UI server answered 200 with no {what}"


@then(parsers.re(f"the download holds the output artifact of the run {NAME}"))
def download_holds(world: World, name: str) -> None:
    """The artifact's bytes; where the target names its object store, exactly the object the
    run's owner reads there with her namespace's credentials."""
    response = world.last()
    _served(response, "the artifact")
    endpoint = world.connection.target.object_store
    if not endpoint:
        return
    named = world.named(KIND, name)
    namespace = world.cast.namespace(named.tenant)
    bucket, key = dataplane.split_uri(_output_uri(world, name))
    stored = dataplane.ObjectStore(endpoint, dataplane.namespace_credentials(
        world.connection, namespace)).read(bucket, key)
    if not stored.ok:
        raise HarnessError(f"the owner cannot read {bucket}/{key}: {stored.describe()}")
    assert response.content == stored.value, \
        "the UI server's download differs from the object in the store"


REASON = " and the API server's reason"
# A grpc-gateway error (google.rpc.Status, with grpc-gateway v1's ``error`` copy).
API_ERROR_FIELDS = frozenset({"error", "code", "message", "details"})


@then(parsers.re(r'the UI server refuses with (?P<status>\d{3}) "(?P<message>.*)"'
                 f"(?P<reason>{REASON})?"))
def ui_refuses(world: World, status: str, message: str, reason: str | None) -> None:
    """The exact status and the exact body: Express's ``res.status(n).send(text)`` sends the
    handler's text and nothing more, so a refusal that also carries what it refuses fails.
    The SAR refusal goes on with ``: `` and the API server's error, quoted as its JSON."""
    response = world.last()
    expected = world.resolve(message)
    assert response.status_code == int(status), \
        f"expected {status} {expected!r}, got {response.status_code}: {response.text[:300]}"
    if not reason:
        assert response.text == expected, \
            f"expected exactly {expected!r}, got {response.text[:300]!r}"
        return
    head, sep, quoted = response.text.partition(": ")
    assert head == expected and sep, \
        f"expected {expected!r} and the API server's reason, got {response.text[:300]!r}"
    try:
        error = json.loads(quoted)
    except ValueError:
        error = None
    assert isinstance(error, dict) and error.get("code") == PERMISSION_DENIED, \
        f"expected the API server's PermissionDenied error after {expected!r}, got {quoted[:300]!r}"
    assert set(error) <= API_ERROR_FIELDS, \
        f"the API server's error has fields of its own: {sorted(set(error) - API_ERROR_FIELDS)}"


def _pod_query(world: World, name: str, tenant: str | None) -> dict[str, str]:
    pod = pod_of_run(world, name)
    world.notes["ui pod"] = pod
    query = {"podname": pod}
    if tenant:
        query["podnamespace"] = world.cast.namespace(tenant)
    return query


@when(parsers.re(ACTOR + f" reads the log of a pod of the run {NAME} through the UI" + SCOPE))
def reads_pod_log(world: World, actor: str, name: str, tenant: str | None) -> None:
    _ui_get(world, actor, POD_LOGS, _pod_query(world, name, tenant))


@when(parsers.re(ACTOR + r" reads the (?P<what>spec|events) of a pod of the run "
                 + NAME + " through the UI" + SCOPE))
def reads_pod_info(world: World, actor: str, what: str, name: str, tenant: str | None) -> None:
    """The UI's pod details pane: the pod's manifest, or its events."""
    _ui_get(world, actor, POD_EVENTS if what == "events" else POD_INFO,
            _pod_query(world, name, tenant))


@then("the UI server returns the log")
def log_returned(world: World) -> None:
    _served(world.last(), "the pod's log")


def _json_served(response: requests.Response, what: str) -> Any:
    """A 200 whose body is JSON (the handler sends it as a string, so as ``text/html``: the
    UI's page is told apart by not parsing)."""
    assert response.status_code == 200, \
        f"expected {what}, got {response.status_code}: {response.text[:300]}"
    try:
        return response.json()
    except ValueError:
        raise AssertionError(f"expected {what} as JSON, got {response.text[:300]!r}") from None


@then("the UI server returns the spec of the pod")
def pod_spec_returned(world: World) -> None:
    """The manifest of the very pod asked for, as the Kubernetes API has it."""
    manifest = _json_served(world.last(), "the pod's manifest")
    metadata = manifest.get("metadata") if isinstance(manifest, dict) else None
    assert isinstance(metadata, dict) and metadata.get("name") == world.notes.get("ui pod"), \
        f"expected the manifest of pod {world.notes.get('ui pod')!r}, got {str(manifest)[:300]}"
    assert manifest.get("kind") == "Pod", f"expected a Pod, got {manifest.get('kind')!r}"


@then("the UI server returns the events of the pod")
def pod_events_returned(world: World) -> None:
    """An EventList (the pod may have none: the list itself is the answer)."""
    events = _json_served(world.last(), "the pod's events")
    assert isinstance(events, dict) and isinstance(events.get("items"), list), \
        f"expected an EventList, got {str(events)[:300]}"

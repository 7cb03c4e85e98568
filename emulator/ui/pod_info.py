"""``GET /k8s/pod`` and ``GET /k8s/pod/events`` (handlers/pod-info.ts): a pod's manifest and its
events, read with the UI server's own cluster-wide rights, so each checks ``get viewers`` in the
named namespace first (the fix of isolation-bugs ISO-018).  Both need ``podnamespace`` even
without authorization (422), unlike the logs handler."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from starlette.datastructures import Headers
from starlette.responses import Response

from emulator import bugs
from emulator.kube.manifests import to_manifest
from emulator.ui.authz import authorize
from emulator.ui.config import UiConfig
from emulator.ui.express import Query, decode_uri_component, send

if TYPE_CHECKING:
    from emulator.core import Emulator


def serve_pod_info(emulator: Emulator, config: UiConfig, headers: Headers, query: Query,
                   *, events: bool) -> Response:
    raw_name, raw_namespace = query.get("podname") or "", query.get("podnamespace") or ""
    if not raw_name:
        return send(422, "podname argument is required")
    if not raw_namespace:
        return send(422, "podnamespace argument is required")
    # ISO-018: up to 2.15 the pod and events handlers asked no SAR for the namespace.
    if (not bugs.on(emulator.config, "ISO-018")
            and authorize(emulator, config, headers, raw_namespace) is not None):
        return send(403, "Access denied to namespace")
    name, namespace = decode_uri_component(raw_name), decode_uri_component(raw_namespace)
    if name is None or namespace is None:
        return send(500, "URIError: URI malformed")
    if events:
        return _events(name, namespace)
    with emulator.kfp.state.lock:
        pod = emulator.cluster.workloads.get_pod(namespace, name)
        manifest = to_manifest(pod) if pod is not None else None
    if manifest is None:
        return send(500, f"Could not get pod {name} in namespace {namespace}")
    return send(200, json.dumps(manifest))


def _events(name: str, namespace: str) -> Response:
    """The emulated cluster records no Events: an empty list, as the API answers a pod with
    none (the pod's waiting reasons are in its status)."""
    return send(200, json.dumps({"apiVersion": "v1", "kind": "EventList",
                                 "metadata": {"resourceVersion": ""}, "items": []}))

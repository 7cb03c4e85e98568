"""``GET /k8s/pod/logs?podname=&podnamespace=&createdat=`` (handlers/pod-logs.ts, with
``STREAM_LOGS_FROM_SERVER_API=false`` as deployed).

With ``ENABLE_AUTHZ`` the namespace is required and checked with ``get viewers``
(:func:`require_pod_namespace_access`, the fix of isolation-bugs ISO-018); nothing checks that
the pod belongs to a run of that namespace.  The logs come from the Kubernetes API, else from
the archive the Workflow's status names, else from the archive key the UI derives from
``ARGO_KEYFORMAT``, read with the UI's own credentials.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from starlette.datastructures import Headers
from starlette.responses import Response

from emulator import bugs
from emulator.kube.manifests import to_manifest
from emulator.ui import content, parts
from emulator.ui.authz import authorize
from emulator.ui.config import UiConfig
from emulator.ui.express import Query, decode_uri_component, send, stream

if TYPE_CHECKING:
    from emulator.core import Emulator

NO_SUCH_KEY = "S3Error: The specified key does not exist."
_IMPL_SUFFIX = re.compile(r"-system-container-impl-.*")
_KEY_CHARS = re.compile(r"[a-zA-Z0-9\-._/]+")


class LogsUnavailable(Exception):
    """One source of logs failed; the message is what ``String(err)`` would print."""


def serve_pod_logs(emulator: Emulator, config: UiConfig, headers: Headers,
                   query: Query) -> Response:
    raw_name = ",".join(query.values.get("podname", ()))  # String(array) joins with ","
    if not raw_name:
        return send(400, "podname argument is required")
    pod_name = decode_uri_component(raw_name)
    created_at = decode_uri_component(query.get("createdat") or "")
    namespace = decode_uri_component(query.get("podnamespace") or "")
    if pod_name is None or created_at is None or namespace is None:
        return send(500, "URIError: URI malformed")
    denied = require_pod_namespace_access(emulator, config, headers, namespace)
    if denied is not None:
        return denied
    try:
        return stream(pod_logs(emulator, config, pod_name, created_at, namespace or None))
    except LogsUnavailable as error:
        return send(500, f"Could not get main container logs: {error}")


def require_pod_namespace_access(emulator: Emulator, config: UiConfig, headers: Headers,
                                 namespace: str) -> Response | None:
    """An explicit namespace the caller may ``get viewers`` in (ISO-018's fix)."""
    # ISO-018: up to 2.15 the logs handler checked nothing; without podnamespace it read the
    # server's own namespace (the #12778 variant).
    if bugs.on(emulator.config, "ISO-018"):
        return None
    if config.auth_enabled and not namespace:
        return send(422, "podnamespace argument is required")
    if namespace and authorize(emulator, config, headers, namespace) is not None:
        return send(403, "Access denied to namespace")
    return None


def pod_logs(emulator: Emulator, config: UiConfig, pod_name: str, created_at: str,
             namespace: str | None) -> bytes:
    """The Kubernetes API, then the Workflow's archive record, then ``ARGO_KEYFORMAT``."""
    resolved = namespace or config.server_namespace
    with emulator.kfp.state.lock:
        text = emulator.cluster.workloads.pod_log(resolved, pod_name)
        if text is not None:
            return text.encode("utf-8")
        try:
            return _from_workflow_status(emulator, pod_name, resolved)
        except LogsUnavailable:
            pass
        if not config.archive_logs:
            raise LogsUnavailable("Error: Unable to retrieve logs from artifact store; "
                                  "archiveLogs is disabled.")
        key = archive_key(config.key_format, pod_name, created_at, namespace or "")
        return _read_log(emulator, config.archive_bucket, key)


def archive_key(key_format: str, pod_name: str, created_at: str, namespace: str) -> str:
    """``createPodLogsMinioRequestConfig``: the keyFormat's tags filled (each once, as JS's
    ``String.replace`` does), then ``/main.log``."""
    date = created_at.split("-")

    def part(index: int) -> str:  # a missing part is JavaScript's undefined
        return date[index] if index < len(date) else "undefined"

    key = re.sub(r"\s+", "", key_format)
    for tag, value in (("{{workflow.name}}", _IMPL_SUFFIX.sub("", pod_name, count=1)),
                       ("{{workflow.creationTimestamp.Y}}", part(0)),
                       ("{{workflow.creationTimestamp.m}}", part(1)),
                       ("{{workflow.creationTimestamp.d}}", part(2)),
                       ("{{pod.name}}", pod_name),
                       ("{{workflow.namespace}}", namespace)):
        key = key.replace(tag, value, 1)
    if not key.endswith("/"):
        key += "/"
    key += "main.log"
    if "{" in key or "}" in key:
        raise LogsUnavailable(
            "Error: keyFormat, which is defined in config.ts or through the ARGO_KEYFORMAT env "
            "var, appears to include template tags that are not supported. The resulting log "
            f"key, {key}, includes unresolved template tags and is therefore invalid.")
    if not _KEY_CHARS.fullmatch(key):
        raise LogsUnavailable(
            f"Error: The log key, {key}, which is derived from keyFormat in config.ts or "
            "through the ARGO_KEYFORMAT env var, is an invalid path. Supported characters "
            "include: letters, numbers, -, ., _, and /.")
    return key


def _workflow_named(emulator: Emulator, namespace: str, name: str) -> dict[str, Any] | None:
    """The Workflow as the UI server reads it: from the Kubernetes API (k8s-helper.ts)."""
    workflow = emulator.cluster.workloads.get_workflow(namespace, name)
    return to_manifest(workflow) if workflow is not None else None


def _from_workflow_status(emulator: Emulator, pod_name: str, namespace: str) -> bytes:
    """``getPodLogsMinioRequestConfigfromWorkflow``: the node's ``main-logs`` artifact."""
    workflow_name = _IMPL_SUFFIX.sub("", pod_name, count=1)
    workflow = _workflow_named(emulator, namespace, workflow_name)
    if workflow is None:
        raise LogsUnavailable(f"Error: Unable to retrieve workflow status: workflows.argoproj.io "
                              f"\"{workflow_name}\" not found.")
    status = workflow.get("status") or {}
    repository = (status.get("artifactRepositoryRef") or {}).get("artifactRepository") or {}
    if not repository.get("archiveLogs"):
        raise LogsUnavailable("Error: Unable to retrieve logs from artifact store; archiveLogs "
                              "is disabled.")
    node = (status.get("nodes") or {}).get(pod_name.replace("-system-container-impl", "", 1))
    artifacts = ((node or {}).get("outputs") or {}).get("artifacts")
    if not artifacts:
        raise LogsUnavailable("Error: Unable to find corresponding log artifact in node.")
    key = next((((a.get("s3") or {}).get("key")) for a in artifacts
                if a.get("name") == "main-logs"), None)
    if not key:
        raise LogsUnavailable('Error: No artifact named "main-logs" for node.')
    s3 = repository.get("s3")
    if not s3:
        raise LogsUnavailable("Error: Unable to find artifact repository information from "
                              "workflow status.")
    return _read_log(emulator, str(s3.get("bucket") or ""), str(key))


def _read_log(emulator: Emulator, bucket: str, key: str) -> bytes:
    store = parts.object_store(emulator)
    if store is None:
        raise LogsUnavailable("Error: connect ECONNREFUSED")
    if store.bucket(bucket) is None:
        raise LogsUnavailable("S3Error: The specified bucket does not exist")
    found = store.get_object(bucket, key)
    if found is None:
        raise LogsUnavailable(NO_SUCH_KEY)
    try:
        return content.extract(found.data)
    except ValueError as error:
        raise LogsUnavailable(f"Error: {error}") from error

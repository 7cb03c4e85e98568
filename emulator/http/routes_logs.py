"""``GET /apis/v1alpha1/runs/{run_id}/nodes/{node_id}/log`` (run_log_server.go ``ReadRunLogV1``):
the main container's log of one of a run's pods, as the UI server streams it when
``STREAM_LOGS_FROM_SERVER_API=true``.

A plain HTTP handler like the artifact read (not grpc-gateway, absent from both swagger files).
Up to 2.17 it checked nothing (isolation-bugs ISO-009); 2.18 added ``canAccessRun`` with verb
``get`` before anything is written.  That check gets the raw request's context, which carries no
gRPC metadata, so, as for ``ReadArtifact`` (spec 2.1 and 3.9, inferred), in multi-user mode it
finds no identity and refuses every caller with 403.

Once authorized, the handler writes ``200`` before reading the log: an error after that point
is the ``{"error_message", "error_details"}`` body under the status already sent.  The log comes
from the pod in the run's namespace (the node id is the pod's name), else from the archived
``main.log`` the run's Workflow names for that node.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import tarfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from emulator import bugs
from emulator.errors import KfpError, not_found
from emulator.execution.workflow import pod_name
from emulator.http.routes_artifacts import BUCKET, _go_json
from emulator.http.routing import Router
from emulator.kfp.access import Credentials
from emulator.ui import parts

if TYPE_CHECKING:
    from emulator.core import Emulator

PATH = "/apis/v1alpha1/runs/{run_id}/nodes/{node_id}/log"
# The deployed config.json: ARCHIVE_CONFIG_LOG_PATH_PREFIX and ARCHIVE_CONFIG_LOG_FILE_NAME.
ARCHIVE_PREFIX, ARCHIVE_FILE = "/artifacts", "main.log"
LOG_ARTIFACT = "main-logs"
NO_SUCH_KEY = "The specified key does not exist."
_K8S_LINE = re.compile(rb"^(\d{4}-\d{2}-\d{2}T\S+)\s(.+)$")
_CRI_LINE = re.compile(rb"^(.+)\s(?:stdout|stderr)\s\w\s(.+)$")


@dataclass(frozen=True)
class LogOutcome:
    status: int
    log: bytes = b""
    error: str = ""  # the error body written after (200) or instead of (403) the log


class _Unreadable(Exception):
    """Reading the log failed; the message is the Go error's text."""


def read_log(emulator: Emulator, run_id: str, node_id: str) -> LogOutcome:
    kfp = emulator.kfp
    with kfp.state.lock:
        kfp.state.clock.fire_due()
        # ISO-009: up to 2.17 ReadRunLogV1 streamed the log with no canAccessRun at all.
        if kfp.config.multiuser and not bugs.on(kfp.config, "ISO-009"):
            try:
                kfp.runs._checked(Credentials.anonymous(), run_id, "get")
            except KfpError as error:
                return LogOutcome(403, error=error.internal)
        try:
            return LogOutcome(200, log=_read(emulator, run_id, node_id))
        except _Unreadable as error:
            return LogOutcome(200, error=str(error))


def _read(emulator: Emulator, run_id: str, node_id: str) -> bytes:
    """``ResourceManager.ReadLog``: the run, its experiment's namespace, the pod, the archive."""
    state = emulator.kfp.state
    failed = f"Failed to read logs for run {run_id}"
    run = state.runs.get(run_id)
    if run is None:
        cause = not_found("Run", run_id).wrap(f"Failed to fetch run {run_id}").internal
        raise _Unreadable(f"BadRequestError: {failed} due to run fetching error: {cause}")
    namespace = run.namespace
    if run.experiment_id:
        experiment = state.experiments.get(run.experiment_id)
        if experiment is None:
            cause = not_found("Experiment", run.experiment_id).wrap(
                f"Failed to fetch namespace from experiment {run.experiment_id}").wrap(
                f"Failed to fetch namespace from run {run_id}").internal
            raise _Unreadable(f"BadRequestError: {failed} due to namespace fetching error: "
                              f"{cause}")
        namespace = experiment.namespace
    text = emulator.cluster.workloads.pod_log(namespace, node_id)
    if text is not None:
        return text.encode("utf-8")
    try:
        return _from_archive(emulator, run_id, node_id)
    except _Unreadable as error:
        raise _Unreadable(f"BadRequestError: {failed}: {error}") from None


def _from_archive(emulator: Emulator, run_id: str, node_id: str) -> bytes:
    """``readRunLogFromArchive``: the key the run's Workflow names for the node's log (by node
    id or pod name), else ``<prefix>/<workflow>/<node>/main.log``; read with the API server's
    own object-store credentials."""
    failed = f"InternalServerError: Failed to read logs from archive {node_id}"
    engine = parts.execution(emulator)
    workflow = engine.workflow_of_run(run_id) if engine is not None else None
    if workflow is None:
        raise _Unreadable(f"{failed} due to empty runtime workflow manifest: Invalid input "
                          "error: Runtime workflow manifest cannot empty")
    key = _archived_key(workflow, node_id) or "/".join(
        (ARCHIVE_PREFIX, str((workflow.get("metadata") or {}).get("name", "")), node_id,
         ARCHIVE_FILE))
    store = parts.object_store(emulator)
    found = store.get_object(BUCKET, key) if store is not None else None
    if found is None:
        raise _Unreadable(f"{failed} due to error fetching the log file: {NO_SUCH_KEY}")
    return _as_text(bytes(found.data))


def _archived_key(workflow: dict[str, Any], node_id: str) -> str:
    nodes = (workflow.get("status") or {}).get("nodes") or {}
    node = nodes.get(node_id)
    if node is None:  # the node id may be the pod's name
        node = next((n for n in nodes.values() if _pod_name(workflow, n) == node_id), None)
    for artifact in ((node or {}).get("outputs") or {}).get("artifacts") or []:
        if artifact.get("name") == LOG_ARTIFACT:
            return str((artifact.get("s3") or {}).get("key") or "")
    return ""


def _pod_name(workflow: dict[str, Any], node: dict[str, Any]) -> str:
    """``RetrievePodName``: Argo's pod name of a node (``<workflow>-<template>-<hash>``)."""
    name, template = str(node.get("name", "")), str(node.get("templateName", ""))
    if not (name and template):
        return ""
    return pod_name(str((workflow.get("metadata") or {}).get("name", "")), template, name)


def _as_text(data: bytes) -> bytes:
    """``CopyLogFromArchiveReader`` in text format without timestamps: unpacked, empty lines
    dropped, each line's log text without its JSON, CRI or timestamp wrapping."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
        if len(data) >= 512:
            try:
                with tarfile.open(fileobj=io.BytesIO(data)) as archive:
                    member = archive.next()
                    extracted = archive.extractfile(member) if member and member.isreg() \
                        else None
                    if extracted is not None:
                        data = extracted.read()
            except tarfile.TarError:
                pass
    out = []
    for line in data.splitlines():
        if not line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if isinstance(entry, dict):
            out.append(str(entry.get("log", "")).encode("utf-8"))
            continue
        match = _CRI_LINE.match(line) or _K8S_LINE.match(line)
        out.append(match.group(2) if match else line)
    return b"".join(part + b"\n" for part in out)


def outcome_response(outcome: LogOutcome) -> Response:
    if outcome.status != 200:
        body = {"error_message": outcome.error, "error_details": outcome.error}
        return Response(_go_json(body), status_code=outcome.status,
                        media_type="application/json")
    # Set as given: Go sends "text/plain" with no charset.
    headers = {"Content-Type": "text/plain", "Cache-Control": "no-cache, private"}
    if outcome.error:  # written under the 200 already sent
        body = {"error_message": outcome.error, "error_details": outcome.error}
        return Response(_go_json(body), headers=headers)
    return Response(outcome.log, headers=headers)


def register(router: Router, emulator: Emulator) -> None:
    async def read(request: Request, run_id: str, node_id: str) -> Response:
        return outcome_response(read_log(emulator, run_id, node_id))

    router.add("GET", PATH, read)

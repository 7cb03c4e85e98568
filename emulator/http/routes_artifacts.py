"""``GET /apis/{v1beta1,v2beta1}/runs/{run_id}/nodes/{node_id}/artifacts/{artifact_name}:read``
(run_artifact_server.go ``ReadArtifact``; spec sections 3.9 and 5.4).

A plain HTTP handler, not grpc-gateway: its request context carries no gRPC metadata, so in
multi-user mode ``canAccessRun`` never finds an identity and every read is refused with 403,
whatever the caller sends.  In standalone mode it serves the object an Argo node output names,
read with the API server's own credentials.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from emulator import bugs
from emulator.errors import KfpError
from emulator.http.routing import Router
from emulator.kfp.access import Credentials
from emulator.ui import parts

if TYPE_CHECKING:
    from emulator.core import Emulator

PATH = "/runs/{run_id}/nodes/{node_id}/artifacts/{artifact_name}:read"
READ_ARTIFACT_VERB = "readArtifact"  # common.RbacResourceVerbReadArtifact
BUCKET = "mlpipeline"
NOT_FOUND = "artifact not found: <nil>"  # fmt.Errorf("...: %v", nil)
V2_NOT_SUPPORTED = "Invalid input error: read artifact from run with v2 IR spec is not supported"


@dataclass(frozen=True)
class ReadOutcome:
    status: int
    data: bytes = b""
    error: str = ""


def read_artifact(emulator: Emulator, run_id: str, node_id: str,
                  artifact_name: str) -> ReadOutcome:
    """``ReadArtifact``: authorization (with no identity), then ``artifactFileExists`` over
    ``ResolveArtifactPath``, whose not-found errors all become the same 404."""
    kfp = emulator.kfp
    with kfp.state.lock:
        kfp.state.clock.fire_due()
        # ISO-002: through 1.8.5 ReadArtifact read the object with no canAccessRun at all.
        if kfp.config.multiuser and not bugs.on(kfp.config, "ISO-002"):
            try:
                # canAccessRun, as every by-ID run call makes it (the same messages).
                kfp.runs._checked(Credentials.anonymous(), run_id, READ_ARTIFACT_VERB)
            except KfpError as error:
                return ReadOutcome(403, error=error.internal)
        run = kfp.state.runs.get(run_id)
        if run is None:
            return ReadOutcome(404, error=NOT_FOUND)
        engine = parts.execution(emulator)
        workflow = engine.workflow_of_run(run_id) if engine is not None else None
        if workflow is None:
            # No Workflow reported yet: a v2 run has no runtime manifest at all, a v1 run has
            # its compiled manifest with no node outputs.
            if run.source.pipeline_spec is not None:
                return ReadOutcome(500, error=V2_NOT_SUPPORTED)
            return ReadOutcome(404, error=NOT_FOUND)
        key = engine.node_artifact_key(run_id, node_id, artifact_name) \
            if engine is not None else None
        store = parts.object_store(emulator)
        found = store.get_object(BUCKET, key) if key and store is not None else None
        if found is None:
            return ReadOutcome(404, error=NOT_FOUND)
        return ReadOutcome(200, data=bytes(found.data))


def _go_json(body: dict[str, str]) -> bytes:
    """``encoding/json``: compact, with <, > and & escaped for HTML."""
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text.encode("utf-8")


def outcome_response(outcome: ReadOutcome) -> Response:
    if outcome.status == 200:
        data = base64.b64encode(outcome.data).decode("ascii")
        return Response(f'{{"data":"{data}"}}', media_type="application/json",
                        headers={"Cache-Control": "no-cache, private"})
    # writeErrorToResponse: api.Error; %+v of these errors prints what Error() does.
    body = {"error_message": outcome.error, "error_details": outcome.error}
    return Response(_go_json(body), status_code=outcome.status, media_type="application/json")


def register(router: Router, emulator: Emulator, prefix: str) -> None:
    async def read(request: Request, run_id: str, node_id: str,
                   artifact_name: str) -> Response:
        return outcome_response(read_artifact(emulator, run_id, node_id, artifact_name))

    router.add("GET", prefix + PATH, read)

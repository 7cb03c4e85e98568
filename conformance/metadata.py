"""ML Metadata as the KFP UI reads it: gRPC-web, the run's context named by the run's id.

Outside the cluster the UI's browser code posts to ``/ml_metadata.MetadataStoreService/<Method>``
at its origin's root (Istio's ``metadata-grpc`` route sends it to metadata-envoy); inside, a pod
posts to metadata-envoy itself (the target's ``dataPlane.metadata``).  Either way the caller's
own session is used, so a gateway's login or bearer check applies as it would to that person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.outcomes import HarnessError
from conformance.world import World

RUN_CONTEXT_TYPE = "system.PipelineRun"  # backend/src/v2/metadata/client.go
# gRPC codes that mean "you may not": a tenant check in front of or inside ML Metadata.
DENIED_CODES = {7, 16}
DENIED_HTTP = {401, 403}


@dataclass
class Answer:
    """What ML Metadata gave a caller: the items (artifacts or executions), or why not."""

    ok: bool
    items: list[dict[str, Any]] = field(default_factory=list)
    denied: bool = False
    error: str = ""

    def describe(self) -> str:
        return f"{len(self.items)} item(s)" if self.ok else self.error


class MetadataError(Exception):
    def __init__(self, message: str, *, denied: bool) -> None:
        super().__init__(message)
        self.denied = denied


def ids(answer: Answer) -> list[int]:
    return sorted(int(item.get("id", 0)) for item in answer.items)


def _endpoint(world: World) -> tuple[str, str]:
    """(door, URL prefix of the service) for the scenario's mode."""
    target = world.connection.target
    if world.connection.mode.access == "outside":
        # The UI's client posts to its origin's root: the gateway's /ml_metadata route.
        if not target.gateway:
            raise HarnessError("the target names no gateway to reach ML Metadata through")
        return "gateway", target.gateway.rstrip("/") + "/ml_metadata.MetadataStoreService/"
    if not target.metadata:
        raise HarnessError("the target names no metadata-envoy endpoint (dataPlane.metadata)")
    return "direct", target.metadata.rstrip("/") + "/ml_metadata.MetadataStoreService/"


def call(world: World, actor: str, method: str, request: Any) -> Any:
    """One unary gRPC-web call as ``actor``; the decoded response or a MetadataError."""
    from emulator.mlmd import client

    door, prefix = _endpoint(world)
    session = world.session(actor, door)
    verify = True if session.verify is None else session.verify  # the target's CA bundle
    try:
        return client.call(session, prefix + method, request, verify=verify,
                           on_response=lambda r: world.record(actor, door, r))
    except client.GrpcWebError as exc:
        raise MetadataError(str(exc), denied=exc.http_status in DENIED_HTTP
                            or exc.code in DENIED_CODES) from None


def run_records(world: World, actor: str, run_id: str, what: str) -> Answer:
    """The artifacts or executions of a run's context, as ``actor`` gets them."""
    from emulator.mlmd import schema

    try:
        found = call(world, actor, "GetContextByTypeAndName", schema.new(
            "GetContextByTypeAndNameRequest", type_name=RUN_CONTEXT_TYPE, context_name=run_id))
        if not found.HasField("context"):
            return Answer(False, error=f"no {RUN_CONTEXT_TYPE} context named {run_id}")
        method = "GetArtifactsByContext" if what == "artifacts" else "GetExecutionsByContext"
        answer = call(world, actor, method,
                      schema.new(f"{method}Request", context_id=found.context.id))
    except MetadataError as exc:
        return Answer(False, denied=exc.denied, error=str(exc))
    items = answer.artifacts if what == "artifacts" else answer.executions
    return Answer(True, [{"id": item.id, "uri": getattr(item, "uri", ""),
                          "type": item.type} for item in items])

"""Who owns an artifact (helpers/mlmd-validator.ts): the namespace of the ``system.PipelineRun``
context ML Metadata links it to; for an object MLMD does not track, the namespace in its
``private-artifacts/<namespace>/`` key prefix.  The check that stops isolation-bugs ISO-015
(an authorized namespace with another namespace's key) is :func:`validate_artifact_namespace`.

It fails open where upstream does: the metadata store unreachable (here: not part of the
emulator) or a lookup failing allows the request.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger("kfp_isolation.ui")

PIPELINE_RUN_CONTEXT_TYPE = "system.PipelineRun"
NAMESPACE_PROPERTY = "namespace"
PREFIX_MODE = "mlmd-then-prefix"
MLMD_TRACKED_SOURCES = frozenset({"minio", "s3", "gcs", "http", "https"})


class MetadataLookup(Protocol):
    """The two MLMD calls the validator makes (``GetArtifactsByURI``,
    ``GetContextsByArtifact``)."""

    def artifacts_by_uri(self, uri: str) -> Iterable[Any]: ...

    def contexts_by_artifact(self, artifact_id: int) -> Iterable[Any]: ...


@dataclass(frozen=True)
class Validation:
    valid: bool
    reason: str = ""
    actual_namespace: str | None = None


def build_artifact_uri(source: str, bucket: str, key: str) -> str:
    scheme = "gs" if source == "gcs" else source
    return f"{scheme}://{bucket}/{key}"


def namespace_from_uri(uri: str, key_prefix: str) -> str | None:
    """The namespace segment right after ``<scheme>://<bucket>/<prefix>/`` (the first key
    segment only: a prefix deeper in the caller's key proves nothing)."""
    if not key_prefix:
        return None
    found = re.match(rf"[a-zA-Z][a-zA-Z0-9+.-]*://[^/]+/{re.escape(key_prefix)}/([^/]+)/", uri)
    return found.group(1) if found else None


def decide_from_prefix(uri: str, claimed: str, mode: str, key_prefix: str) -> Validation:
    """An object MLMD does not know: the key must sit under ``<prefix>/<claimed>/``, with no
    empty or dot segment; any mode but ``mlmd-then-prefix`` denies outright."""
    if mode != PREFIX_MODE:
        return Validation(False, "artifact-not-found")
    key = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]+/", "", uri, count=1)
    if any(segment in ("", ".", "..") for segment in key.split("/")):
        return Validation(False, "key-not-normalized")
    owner = namespace_from_uri(uri, key_prefix)
    if owner is None:
        return Validation(False, "prefix-absent")
    if owner != claimed:
        return Validation(False, "prefix-namespace-mismatch", owner)
    return Validation(True, "prefix-match")


def _context_namespace(context: Any) -> tuple[str, str | None]:
    type_name = str(getattr(context, "type_name", "") or "")
    properties = getattr(context, "custom_properties", None) or {}
    value = properties.get(NAMESPACE_PROPERTY)
    return type_name, value if isinstance(value, str) else None


def decide_from_contexts(contexts_per_artifact: list[list[Any] | None],
                         claimed: str) -> Validation:
    """A mismatch on any artifact denies, even when another artifact's lookup failed."""
    evidence = unavailable = False
    for contexts in contexts_per_artifact:
        if contexts is None:
            unavailable = True
            continue
        for context in contexts:
            type_name, namespace = _context_namespace(context)
            if type_name != PIPELINE_RUN_CONTEXT_TYPE or not namespace:
                continue
            evidence = True
            if namespace != claimed:
                return Validation(False, "namespace-mismatch", namespace)
    if unavailable:
        return Validation(True, "mlmd-unavailable")
    return Validation(True, "" if evidence else "no-evidence")


def validate_artifact_namespace(metadata: MetadataLookup | None, uri: str, claimed: str,
                                mode: str, key_prefix: str) -> Validation:
    if metadata is None:
        return Validation(True, "mlmd-unavailable")
    try:
        artifacts = list(metadata.artifacts_by_uri(uri))
    except Exception:  # the envoy call failing: upstream allows (fail-open)
        log.warning("MLMD artifact lookup failed for %s; allowing (fail-open)", uri,
                    exc_info=True)
        return Validation(True, "mlmd-unavailable")
    if not artifacts:
        return decide_from_prefix(uri, claimed, mode, key_prefix)
    per_artifact: list[list[Any] | None] = []
    for artifact in artifacts:
        try:
            per_artifact.append(list(metadata.contexts_by_artifact(int(artifact.id))))
        except Exception:
            log.warning("MLMD context lookup failed for artifact %s", artifact, exc_info=True)
            per_artifact.append(None)
    return decide_from_contexts(per_artifact, claimed)

"""The execution engine's compact record of one run's workflow and its tasks' pods.

Manifests are rendered from these on demand (``workflow.py``), so a finished run costs a few
hundred bytes, not the kilobytes of its Workflow JSON.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from emulator.execution.spec import PipelineGraph, TaskSpec

FINAL_PHASES = frozenset({"Succeeded", "Failed", "Error"})
# What a task has produced before it succeeds: shared, read-only.
NO_PARAMETERS: Mapping[str, Any] = MappingProxyType({})


_URL_NAMESPACE = uuid.NAMESPACE_URL.bytes


def uuid5_text(name: str) -> str:
    """``str(uuid.uuid5(uuid.NAMESPACE_URL, name))`` without building UUID objects (task ids
    are derived on every run-details render)."""
    digest = hashlib.sha1(_URL_NAMESPACE + name.encode(), usedforsecurity=False).digest()
    bits = int.from_bytes(digest[:16], "big")
    bits = (bits & ~(0xF000 << 64) | 0x5000 << 64) & ~(0xC000 << 48) | 0x8000 << 48
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(slots=True)
class ArtifactOutput:
    name: str
    schema_title: str
    uri: str  # minio://mlpipeline/<key> (v2) or s3 key location (v1)
    bucket: str = ""
    key: str = ""  # empty: not stored (a pipeline root outside the object store)
    artifact_id: int = 0  # ML Metadata id


@dataclass(slots=True)
class TaskRun:
    spec: TaskSpec
    run_id: str
    workflow_name: str
    # Argo's ``<workflow>-<template>-<fnv32a of the node name>`` (workflow.pod_name)
    pod_name: str
    pod_uid: str = ""
    # "" (no pod yet), Pending, Running, Succeeded, Failed, Error, Omitted, Skipped
    phase: str = ""
    message: str = ""
    pod_created_at: float = 0.0
    started_at: float = 0.0
    finished_at: float = 0.0
    pod_deleted: bool = False
    waiting: tuple[str, str] | None = None
    mount_failure: str = ""
    # Both replaced as a whole when the task succeeds (never changed in place).
    artifacts: tuple[ArtifactOutput, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=lambda: NO_PARAMETERS)
    log_key: str = ""
    execution_id: int = 0
    failed_pods: tuple[str, ...] = ()

    @property
    def has_pod(self) -> bool:
        return bool(self.pod_uid) and not self.pod_deleted

    @property
    def node_id(self) -> str:
        """Argo's node id, ``<workflow>-<fnv32a of the node name>``: the pod name's hash."""
        return f"{self.workflow_name}-{self.pod_name.rsplit('-', 1)[-1]}"

    @property
    def task_id(self) -> str:
        """The v2 task id: stable per (run, task)."""
        return uuid5_text(f"{self.run_id}/{self.spec.name}")


@dataclass(slots=True)
class RunExecution:
    run_id: str
    run_name: str
    namespace: str
    workflow_name: str
    generate_name: str
    uid: str
    service_account: str
    graph: PipelineGraph
    created_at: float
    pipeline_root: str  # the run's root URI: <root>/<pipeline name>/<run id>
    recurring_run_id: str = ""
    phase: str = ""  # Argo status.phase
    message: str = ""
    started_at: float = 0.0
    finished_at: float = 0.0
    terminating: bool = False
    # A pod the ServiceAccount admission refused: (node name, pod name).
    refused: tuple[str, str] | None = None
    tasks: list[TaskRun] = field(default_factory=list)
    resource_version: int = 0
    revision: int = 0
    pipeline_context_id: int = 0
    run_context_id: int = 0

    def task(self, name: str) -> TaskRun | None:
        return next((t for t in self.tasks if t.spec.name == name), None)

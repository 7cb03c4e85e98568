"""ConfigMaps, Pods and Argo Workflows: the workload kinds a tenant namespace holds.

ConfigMaps are stored in the :class:`~emulator.kube.cluster.Cluster` like Secrets.  Pods and
Workflows are not: they are what the run execution engine (``emulator.execution``) is doing, so
the cluster asks a :class:`WorkloadSource` for them and renders them on demand.  Holding one
rendered manifest per run would cost kilobytes per run; the engine keeps a compact record and
the Kubernetes surface builds the JSON only when someone reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from emulator.kube.meta import ObjectStamp

ARGO_GROUP = "argoproj.io"
ARGO_VERSION = f"{ARGO_GROUP}/v1alpha1"


@dataclass
class ConfigMap(ObjectStamp):
    namespace: str
    name: str
    data: dict[str, str] = field(default_factory=dict)


@dataclass
class Rendered(ObjectStamp):
    """An object the execution engine renders on read: ``body`` holds ``spec`` and
    ``status``."""

    namespace: str
    name: str
    body: dict[str, Any] = field(default_factory=dict)
    # More metadata than the stamp's (ownerReferences, generateName).
    metadata_extra: dict[str, Any] = field(default_factory=dict)


class Pod(Rendered):
    """A rendered Pod."""


class Workflow(Rendered):
    """A rendered Argo Workflow."""


class WorkloadSource(Protocol):
    """Who runs workloads: lists, reads and deletes Pods and Workflows by namespace."""

    def list_pods(self, namespace: str) -> list[Pod]: ...

    def get_pod(self, namespace: str, name: str) -> Pod | None: ...

    def delete_pod(self, namespace: str, name: str) -> Pod | None: ...

    def pod_log(self, namespace: str, pod_name: str) -> str | None: ...

    def list_workflows(self, namespace: str) -> list[Workflow]: ...

    def get_workflow(self, namespace: str, name: str) -> Workflow | None: ...

    def delete_workflow(self, namespace: str, name: str) -> Workflow | None: ...


class NoWorkloads:
    """A cluster nobody runs anything on (no execution engine attached)."""

    def list_pods(self, namespace: str) -> list[Pod]:
        return []

    def get_pod(self, namespace: str, name: str) -> Pod | None:
        return None

    def delete_pod(self, namespace: str, name: str) -> Pod | None:
        return None

    def pod_log(self, namespace: str, pod_name: str) -> str | None:
        return None

    def list_workflows(self, namespace: str) -> list[Workflow]:
        return []

    def get_workflow(self, namespace: str, name: str) -> Workflow | None:
        return None

    def delete_workflow(self, namespace: str, name: str) -> Workflow | None:
        return None

"""The other parts of the emulator the UI server reads, looked up when a request needs them:
the object store, ML Metadata and the execution engine (each may be absent, e.g. in a build
that does not wire it; the UI server then answers as it does when that service is down)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from emulator.ui.ownership import MetadataLookup

if TYPE_CHECKING:
    from emulator.core import Emulator


class StoredObjectLike(Protocol):
    bucket: str
    key: str
    data: bytes


class ObjectReader(Protocol):
    """The slice of ``emulator.objectstore.models.ObjectStore`` the UI server uses."""

    def bucket(self, name: str) -> Any: ...

    def get_object(self, bucket: str, key: str) -> Any: ...

    def list_objects(self, bucket: str, prefix: str = "") -> Iterable[Any]: ...


class ExecutionView(Protocol):
    """The slice of ``emulator.execution.engine.ExecutionEngine`` the API server's artifact
    read uses (the UI server reads pods, logs and Workflows through the cluster's workloads,
    as its Kubernetes client does)."""

    def workflow_of_run(self, run_id: str) -> dict[str, Any] | None: ...

    def node_artifact_key(self, run_id: str, node_id: str, artifact_name: str) -> str | None: ...


def object_store(emulator: Emulator) -> ObjectReader | None:
    return getattr(emulator, "object_store", None)


def metadata(emulator: Emulator) -> MetadataLookup | None:
    return getattr(emulator, "metadata", None)


def execution(emulator: Emulator) -> ExecutionView | None:
    return getattr(emulator, "execution", None)

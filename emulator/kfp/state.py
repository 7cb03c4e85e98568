"""Everything one emulated KFP API server holds, shared by its resource services."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from emulator.clock import Clock
from emulator.config import EmulatorConfig
from emulator.kfp.access import AccessControl
from emulator.kfp.execution_hooks import NoExecutor, RunExecutor
from emulator.kfp.models import Experiment, Pipeline, PipelineVersion, RecurringRun, Run
from emulator.kfp.store import NamespacedStore
from emulator.kube.cluster import Cluster

NO_NAMESPACE = "-"


def is_empty_namespace(namespace: str | None) -> bool:
    """``""`` and ``"-"`` both mean "no namespace" to the real server (``IsEmptyNamespace``)."""
    return not namespace or namespace == NO_NAMESPACE


def new_id() -> str:
    return str(uuid.uuid4())


class VersionStore:
    """Pipeline versions by id and by parent pipeline."""

    def __init__(self) -> None:
        self.by_id: dict[str, PipelineVersion] = {}
        self.by_pipeline: dict[str, dict[str, PipelineVersion]] = {}

    def __len__(self) -> int:
        return len(self.by_id)

    def add(self, version: PipelineVersion) -> None:
        self.by_id[version.id] = version
        self.by_pipeline.setdefault(version.pipeline_id, {})[version.id] = version

    def get(self, version_id: str) -> PipelineVersion | None:
        return self.by_id.get(version_id)

    def of(self, pipeline_id: str) -> Iterable[PipelineVersion]:
        return self.by_pipeline.get(pipeline_id, {}).values()

    def latest(self, pipeline_id: str) -> PipelineVersion | None:
        versions = list(self.of(pipeline_id))
        return max(versions, key=lambda v: (v.created_at, v.id)) if versions else None

    def remove(self, version_id: str) -> PipelineVersion | None:
        version = self.by_id.pop(version_id, None)
        if version is not None:
            siblings = self.by_pipeline.get(version.pipeline_id, {})
            siblings.pop(version_id, None)
            if not siblings:
                self.by_pipeline.pop(version.pipeline_id, None)
        return version

    def clear(self) -> None:
        self.by_id.clear()
        self.by_pipeline.clear()


def _experiment_of(obj: Run | RecurringRun) -> str:
    return obj.experiment_id


@dataclass
class KfpState:
    config: EmulatorConfig
    clock: Clock
    cluster: Cluster
    access: AccessControl
    experiments: NamespacedStore[Experiment] = field(default_factory=NamespacedStore)
    runs: NamespacedStore[Run] = field(
        default_factory=lambda: NamespacedStore[Run](_experiment_of))
    recurring_runs: NamespacedStore[RecurringRun] = field(
        default_factory=lambda: NamespacedStore[RecurringRun](_experiment_of))
    pipelines: NamespacedStore[Pipeline] = field(default_factory=NamespacedStore)
    versions: VersionStore = field(default_factory=VersionStore)
    # Serializes every mutation and read; uvicorn runs handlers on one loop, but the in-process
    # Python API and control endpoints may be called from other threads.
    lock: threading.RLock = field(default_factory=threading.RLock)
    default_experiment_id: str = ""
    # Who executes runs (Argo and Kubernetes): emulator.execution attaches its engine.
    executor: RunExecutor = field(default_factory=NoExecutor)
    # Bumped whenever the whole state is replaced (reset, import): memos keyed by id must not
    # survive it, since an imported object may reuse an id with other content.
    generation: int = 0

    def now(self) -> float:
        return self.clock.now()

    def storage_namespace(self, namespace: str | None) -> str:
        """Single-user mode stores everything under ``""`` (``ReplaceNamespace``)."""
        return (namespace or "") if self.config.multiuser else ""

    def drop_namespace(self, namespace: str) -> None:
        """A deleted namespace takes its experiments, runs, recurring runs and private pipelines
        (with their versions) along; pending timers see their objects gone and do nothing."""
        stores: tuple[NamespacedStore[Any], ...] = (self.experiments, self.runs,
                                                    self.recurring_runs)
        for store in stores:
            for obj in list(store.in_namespace(namespace)):
                store.remove(obj.id)
        for pipeline in list(self.pipelines.in_namespace(namespace)):
            for version in list(self.versions.of(pipeline.id)):
                self.versions.remove(version.id)
            self.pipelines.remove(pipeline.id)

    def clear(self) -> None:
        for store in (self.experiments, self.runs, self.recurring_runs, self.pipelines):
            store.clear()
        self.versions.clear()
        self.executor.clear()
        self.clock.clear()
        self.default_experiment_id = ""
        self.generation += 1

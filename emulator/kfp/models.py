"""KFP resources as the API server stores them (version-neutral; wire formats convert)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class StorageState(str, Enum):
    AVAILABLE = "AVAILABLE"
    ARCHIVED = "ARCHIVED"


class RuntimeState(str, Enum):
    RUNTIME_STATE_UNSPECIFIED = "RUNTIME_STATE_UNSPECIFIED"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    SKIPPED = "SKIPPED"
    FAILED = "FAILED"
    CANCELING = "CANCELING"
    CANCELED = "CANCELED"
    PAUSED = "PAUSED"


TERMINAL_STATES = frozenset({RuntimeState.SUCCEEDED, RuntimeState.SKIPPED, RuntimeState.FAILED,
                             RuntimeState.CANCELED})
TERMINATABLE_STATES = frozenset({RuntimeState.PENDING, RuntimeState.RUNNING, RuntimeState.PAUSED,
                                 RuntimeState.RUNTIME_STATE_UNSPECIFIED})

# v1 `status` strings for v2 runtime states (spec section 7; CANCELED really is "Failed").
V1_RUN_STATUS = {
    RuntimeState.RUNTIME_STATE_UNSPECIFIED: "Unknown",
    RuntimeState.PENDING: "Pending",
    RuntimeState.RUNNING: "Running",
    RuntimeState.SUCCEEDED: "Succeeded",
    RuntimeState.SKIPPED: "Skipped",
    RuntimeState.FAILED: "Failed",
    RuntimeState.CANCELING: "Terminating",
    RuntimeState.CANCELED: "Failed",
    RuntimeState.PAUSED: "Pending",
}


@dataclass(slots=True)
class Experiment:
    id: str
    name: str
    namespace: str
    description: str = ""
    created_at: float = 0.0
    last_run_created_at: float = 0.0
    storage_state: StorageState = StorageState.AVAILABLE


@dataclass(slots=True)
class PipelineSource:
    """What a run or recurring run executes: an inline spec or a reference to a stored version."""

    pipeline_spec: dict[str, Any] | None = None  # v2 IR (inline or copied from the version)
    workflow_manifest: str = ""  # v1 Argo YAML given inline
    pipeline_manifest: str = ""
    pipeline_id: str = ""
    pipeline_version_id: str = ""
    pipeline_name: str = ""
    parameters: list[dict[str, str]] = field(default_factory=list)  # v1 parameters
    runtime_parameters: dict[str, Any] = field(default_factory=dict)  # v2 runtime_config
    pipeline_root: str = ""
    # kfp-kubernetes settings: the PlatformSpec (second YAML document, or ``platform_spec``
    # beside ``pipeline_spec`` in the API's struct form).
    platform_spec: dict[str, Any] | None = None


@dataclass(slots=True)  # every run keeps several: slots save ~80 bytes each
class StateChange:
    at: float
    state: RuntimeState


@dataclass(slots=True)
class RunMetric:
    name: str
    node_id: str
    number_value: float
    format: str = "UNSPECIFIED"


class ChangeCounter:
    """Counts assignments to the fields of runs, process-wide.

    A page of runs encoded while the count stood still is still valid: encoders compare the
    count instead of visiting every run of the page.  List fields are only ever changed together
    with an assignment (``state_history`` with ``state``) or replaced (``metrics``).  Each change
    stores a never-used value drawn atomically, so emulators on several threads cannot make two
    changes look like none.
    """

    value = 0
    _ticks = itertools.count(1)

    @classmethod
    def tick(cls) -> None:
        cls.value = next(cls._ticks)


@dataclass(slots=True)
class Run:
    id: str
    name: str
    namespace: str
    experiment_id: str
    source: PipelineSource
    description: str = ""
    service_account: str = ""
    created_at: float = 0.0
    scheduled_at: float = 0.0
    finished_at: float = 0.0
    state: RuntimeState = RuntimeState.PENDING
    state_history: list[StateChange] = field(default_factory=list)
    storage_state: StorageState = StorageState.AVAILABLE
    recurring_run_id: str = ""
    metrics: list[RunMetric] = field(default_factory=list)
    # Final state the lifecycle drives the run to (tests may choose FAILED).
    outcome: RuntimeState = RuntimeState.SUCCEEDED
    error_message: str = ""
    # The Argo Workflow's generated name once the workflow exists (KFP's run.K8SName).
    workflow_name: str = ""

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        ChangeCounter.tick()

    @property
    def k8s_name(self) -> str:
        """The Argo Workflow name KFP uses as the SAR resource name for runs (before a
        workflow exists, or without an execution engine, a stand-in derived from the run)."""
        if self.workflow_name:
            return self.workflow_name
        slug = "".join(c if c.isalnum() else "-" for c in self.name.lower()).strip("-")[:40]
        return f"{slug or 'run'}-{self.id[:8]}"


@dataclass(slots=True)
class Trigger:
    cron: str = ""
    interval_seconds: int = 0
    start_time: float = 0.0
    end_time: float = 0.0

    @property
    def is_cron(self) -> bool:
        return bool(self.cron)


@dataclass(slots=True)
class RecurringRun:
    id: str
    name: str
    namespace: str
    experiment_id: str
    source: PipelineSource
    trigger: Trigger
    description: str = ""
    service_account: str = ""
    max_concurrency: int = 1
    no_catchup: bool = False
    enabled: bool = True
    created_at: float = 0.0
    updated_at: float = 0.0
    # When the trigger was last evaluated; catch-up fires every slot after this.
    last_fired_at: float = 0.0


@dataclass(slots=True)
class Pipeline:
    id: str
    name: str
    namespace: str  # "" = shared
    display_name: str = ""
    description: str = ""
    created_at: float = 0.0
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class PipelineVersion:
    id: str
    pipeline_id: str
    name: str
    display_name: str = ""
    description: str = ""
    created_at: float = 0.0
    pipeline_spec: dict[str, Any] | None = None
    workflow_manifest: str = ""
    package_url: str = ""
    code_source_url: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    parameters: list[dict[str, str]] = field(default_factory=list)
    platform_spec: dict[str, Any] | None = None

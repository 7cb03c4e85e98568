"""Runs: they belong to their experiment's namespace and are authorized there (spec 3.3, 4.2)."""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from emulator import bugs
from emulator.errors import (
    KfpError,
    bad_request,
    failed_precondition,
    internal_error,
    invalid_input,
    not_found,
)
from emulator.kfp.access import Credentials
from emulator.kfp.experiments import ExperimentService
from emulator.kfp.lifecycle import Lifecycle
from emulator.kfp.listing import Listable, Page, paginate, parse_list_query
from emulator.kfp.models import (
    TERMINAL_STATES,
    TERMINATABLE_STATES,
    Experiment,
    PipelineSource,
    Run,
    RunMetric,
    RuntimeState,
    StorageState,
)
from emulator.kfp.pipelines import PipelineService
from emulator.kfp.scope import list_candidates, list_namespace, owner_namespace
from emulator.kfp.state import KfpState, is_empty_namespace, new_id
from emulator.kube.rbac import ResourceAttributes

EMPTY_NAMESPACE = "A run cannot have an empty namespace in multi-user mode"
EMPTY_EXPERIMENT = "Experiment id can not be empty in multi-user mode"
METRIC_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,62}[a-z0-9])?$")

RUN_LISTABLE = Listable("Run", {
    "run_id": ("UUID", lambda r: r.id),
    "id": ("UUID", lambda r: r.id),
    "display_name": ("DisplayName", lambda r: r.name),
    "name": ("DisplayName", lambda r: r.name),
    "created_at": ("CreatedAtInSec", lambda r: int(r.created_at)),
    "finished_at": ("FinishedAtInSec", lambda r: int(r.finished_at)),
    "scheduled_at": ("ScheduledAtInSec", lambda r: int(r.scheduled_at)),
    "description": ("Description", lambda r: r.description),
    "storage_state": ("StorageState", lambda r: r.storage_state.value),
    "status": ("Conditions", lambda r: r.state.value),
    "state": ("State", lambda r: r.state.value),
    "namespace": ("Namespace", lambda r: r.namespace),
    "experiment_id": ("ExperimentId", lambda r: r.experiment_id),
    "recurring_run_id": ("JobUUID", lambda r: r.recurring_run_id),
    "state_history": ("StateHistory", lambda r: ",".join(s.state.value for s in r.state_history)),
    "runtime_details": ("RuntimeDetails", lambda r: ""),
}, immutable=frozenset({"run_id", "id", "display_name", "name", "created_at", "scheduled_at",
                        "description", "namespace", "experiment_id", "recurring_run_id"}))


@dataclass
class RunRequest:
    """A create-run request after wire decoding (either API version)."""

    name: str
    experiment_id: str
    source: PipelineSource
    description: str = ""
    service_account: str = ""
    # v1 only: a NAMESPACE resource reference that must agree with the experiment.
    namespace: str = ""
    metrics: list[RunMetric] = field(default_factory=list)


@dataclass
class MetricResult:
    name: str
    node_id: str
    status: str
    message: str = ""


def _top(api: str, v2: str, v1: str) -> str:
    return v1 if api == "v1beta1" else v2


class RunService:
    def __init__(self, state: KfpState, experiments: ExperimentService,
                 pipelines: PipelineService, lifecycle: Lifecycle) -> None:
        self.state = state
        self.experiments = experiments
        self.pipelines = pipelines
        self.lifecycle = lifecycle

    # -- shared by runs and recurring runs -----------------------------------------------------

    def experiment_for_create(self, experiment_id: str, namespace: str) -> Experiment:
        """``GetValidExperimentNamespacePair``: the parent experiment decides the namespace."""
        if not experiment_id:
            if self.state.config.multiuser:
                raise invalid_input(EMPTY_EXPERIMENT)
            return self.experiments.ensure_default()
        experiment = self.state.experiments.get(experiment_id)
        if experiment is None:
            raise not_found("Experiment", experiment_id)
        # Compared as given, in both modes: "-" is no wildcard here (resource_manager.go).
        if namespace and experiment.namespace != namespace:
            raise invalid_input(f"Experiment {experiment_id} belongs to namespace "
                                f"'{experiment.namespace}' instead of '{namespace}'")
        return experiment

    def _sar(self, creds: Credentials, namespace: str, verb: str, name: str,
             resource: str = "runs") -> None:
        self.state.access.authorize(creds, ResourceAttributes(
            namespace=namespace, verb=verb, resource=resource, name=name))

    # -- by-ID access --------------------------------------------------------------------------

    def lookup(self, run_id: str) -> Run:
        run = self.state.runs.get(run_id)
        if run is None:
            raise not_found("Run", run_id)
        return run

    def _checked(self, creds: Credentials, run_id: str, verb: str) -> Run:
        """``getRun`` and friends: canAccessRun wrapped as "Failed to authorize the request"."""
        if not self.state.config.multiuser:
            return self.lookup(run_id)
        try:
            return self._can_access(creds, run_id, verb)
        except KfpError as error:
            raise error.wrap("Failed to authorize the request") from None

    def _can_access(self, creds: Credentials, run_id: str, verb: str) -> Run:
        try:
            run = self.lookup(run_id)
        except KfpError as error:
            raise error.wrap(f"Failed to authorize with the run ID {run_id}") from None
        namespace = owner_namespace(self.state, run.namespace, run.experiment_id)
        if namespace is None:
            raise invalid_input(
                f"run {run.id} has an empty namespace and the parent experiment "
                f"{run.experiment_id} could not be fetched",
                f"ResourceNotFoundError: Experiment {run.experiment_id} not found")
        if is_empty_namespace(namespace):
            raise invalid_input(EMPTY_NAMESPACE)
        try:
            self._sar(creds, namespace, verb, run.k8s_name)
        except KfpError as error:
            raise error.wrap(f"Failed to access run {run.id}. Check if you have access to "
                             f"namespace {namespace}") from None
        return run

    # -- operations ----------------------------------------------------------------------------

    def create(self, creds: Credentials, request: RunRequest, api: str = "v2beta1") -> Run:
        try:
            if not request.name:
                raise internal_error("Run name cannot be empty")
            try:
                experiment = self.experiment_for_create(request.experiment_id,
                                                        request.namespace)
            except KfpError as error:
                raise error.wrap("Failed to create a run due to invalid experimentId and "
                                 "namespace combination") from None
            namespace = self.state.storage_namespace(experiment.namespace)
            if self.state.config.multiuser:
                if is_empty_namespace(namespace):
                    raise invalid_input(EMPTY_NAMESPACE)
                try:
                    self._sar(creds, namespace, "create", "")
                except KfpError as error:
                    # canAccessRun with no run id, then createRun's own layer (run_server.go).
                    raise error.wrap(f"Failed to access run . Check if you have access to "
                                     f"namespace {namespace}").wrap(
                        "Failed to create a run due to authorization error. Check if you have "
                        f"write permissions to namespace {namespace}") from None
            source = self.pipelines.resolve_source(creds, request.source, "run")
        except KfpError as error:
            raise error.wrap(_top(api, "Failed to create a new run",
                                  "Failed to create a new v1beta1 run")) from None
        now = int(self.state.now())
        run = Run(
            id=new_id(),
            name=request.name,
            namespace=namespace,
            experiment_id=experiment.id,
            source=source,
            description=request.description,
            service_account=request.service_account
            or self.state.config.default_runner_service_account,
            created_at=now,
            scheduled_at=now,
        )
        self._insert(run, experiment)
        return run

    def _insert(self, run: Run, experiment: Experiment) -> None:
        self.state.runs.add(run)
        experiment.last_run_created_at = run.created_at
        self.lifecycle.start(run)

    def create_scheduled(self, recurring: Any, slot: float, index: int) -> Run | None:
        """A run started by a recurring run's trigger (the ScheduledWorkflow controller)."""
        experiment = self.state.experiments.get(recurring.experiment_id)
        if experiment is None:
            return None
        now = int(self.state.now())
        run = Run(
            id=new_id(),
            name=f"{recurring.name}-{index}",
            namespace=recurring.namespace,
            experiment_id=recurring.experiment_id,
            source=recurring.source,
            description=recurring.description,
            service_account=recurring.service_account,
            created_at=now,
            scheduled_at=int(slot),
            recurring_run_id=recurring.id,
        )
        self._insert(run, experiment)
        return run

    def get(self, creds: Credentials, run_id: str, api: str = "v2beta1") -> Run:
        try:
            return self._checked(creds, run_id, "get")
        except KfpError as error:
            raise error.wrap(_top(api, "Failed to get a run", "Failed to get a v1beta1 run")) \
                from None

    def list(self, creds: Credentials, *, namespace: str = "", experiment_id: str = "",
             page_token: str = "", page_size: object = None, sort_by: str = "",
             filter_text: str = "", api: str = "v2beta1",
             present: Callable[[Callable[[], Page[Run]]], Any] | None = None) -> Any:
        """The page of runs, or what ``present`` makes of it once the list is authorized:
        ``present`` receives the page's computation and may answer from a memo instead."""
        try:
            query = parse_list_query(RUN_LISTABLE, page_token=page_token, page_size=page_size,
                                     sort_by=sort_by, filter_text=filter_text, api_version=api)
            scope_namespace = list_namespace(self.state, experiment_id, namespace)
            if self.state.config.multiuser:
                try:
                    if is_empty_namespace(scope_namespace):
                        raise invalid_input(EMPTY_NAMESPACE)
                    self._sar(creds, scope_namespace, "list", "")
                except KfpError as error:
                    raise error.wrap("Failed to list runs due to authorization error. Check if "
                                     f"you have permission to access namespace "
                                     f"{scope_namespace}") from None
            candidates, ordered = list_candidates(self.state, self.state.runs, experiment_id,
                                                  scope_namespace)

            def compute() -> Page[Run]:
                return paginate(query, RUN_LISTABLE, candidates, lambda r: r.id, ordered)
            return compute() if present is None else present(compute)
        except KfpError as error:
            raise error.wrap(_top(api, "Failed to list runs", "Failed to list v1beta1 runs")) \
                from None

    def archive(self, creds: Credentials, run_id: str, api: str = "v2beta1") -> None:
        try:
            run = self._checked(creds, run_id, "archive")
        except KfpError as error:
            raise error.wrap(_top(api, "Failed to archive a run",
                                  "Failed to archive a v1beta1 run")) from None
        run.storage_state = StorageState.ARCHIVED

    def unarchive(self, creds: Credentials, run_id: str, api: str = "v2beta1") -> None:
        try:
            run = self._checked(creds, run_id, "unarchive")
            experiment = self.state.experiments.get(run.experiment_id)
            if experiment is not None and experiment.storage_state == StorageState.ARCHIVED:
                raise failed_precondition(f"Failed to unarchive run {run.id} as experiment "
                                          f"{experiment.id} must be un-archived first")
        except KfpError as error:
            raise error.wrap(_top(api, "Failed to unarchive a run",
                                  "Failed to unarchive a v1beta1 run")) from None
        run.storage_state = StorageState.AVAILABLE

    def delete(self, creds: Credentials, run_id: str, api: str = "v2beta1") -> None:
        try:
            # ISO-001: 2.0.0-beta asked `unarchive` here instead of `delete`.
            run = self._checked(creds, run_id, bugs.verb(self.state.config, "runs", "delete"))
        except KfpError as error:
            raise error.wrap(_top(api, "Failed to delete a run",
                                  "Failed to delete a v1beta1 run")) from None
        self.state.runs.remove(run.id)
        self.state.executor.run_deleted(run)
        if run.recurring_run_id and run.state not in TERMINAL_STATES:
            recurring = self.state.recurring_runs.get(run.recurring_run_id)
            if recurring is not None:
                self.lifecycle.arm(recurring)

    def terminate(self, creds: Credentials, run_id: str, api: str = "v2beta1") -> None:
        try:
            # ISO-001: 2.0.0-beta asked `unarchive` here instead of `terminate`.
            run = self._checked(creds, run_id,
                                bugs.verb(self.state.config, "runs", "terminate"))
            if run.state not in TERMINATABLE_STATES:
                raise invalid_input(f"Failed to terminate a run {run.id}. Row not found")
        except KfpError as error:
            raise error.wrap(_top(api, "Failed to terminate a run",
                                  "Failed to terminate a v1beta1 run")) from None
        self.lifecycle.terminate(run)

    def retry(self, creds: Credentials, run_id: str, api: str = "v2beta1") -> None:
        try:
            run = self._checked(creds, run_id, "retry")
            if run.state not in TERMINAL_STATES:
                raise bad_request(f"Cannot claim run {run.id} for retry: not in a terminal state")
        except KfpError as error:
            # RetryRunV1 wraps with the v2 text (run_server.go).
            raise error.wrap("Failed to retry a run") from None
        self.lifecycle.retry(run)

    def report_metrics(self, creds: Credentials, run_id: str,
                       metrics: Sequence[RunMetric]) -> builtins.list[MetricResult]:
        """v1 only: one SAR per metric, then a per-metric result (spec section 4.8)."""
        run = self.state.runs.get(run_id)
        if run is None:
            raise not_found("Run %s not found", run_id).wrap("Failed to report v1beta1 run "
                                                             "metrics")
        results: builtins.list[MetricResult] = []
        for metric in metrics:
            try:
                # ISO-002: through 1.8.5 ReportRunMetrics wrote the metric with no canAccessRun.
                if not bugs.on(self.state.config, "ISO-002"):
                    self._checked(creds, run_id, "reportMetrics")
            except KfpError as error:
                raise error.wrap("Failed to report v1beta1 run metrics") from None
            if not METRIC_NAME.match(metric.name) or not metric.node_id:
                results.append(MetricResult(metric.name, metric.node_id, "INVALID_ARGUMENT",
                                            "Metric name and node id must be valid"))
            elif any(m.name == metric.name and m.node_id == metric.node_id for m in run.metrics):
                results.append(MetricResult(metric.name, metric.node_id, "DUPLICATE_REPORTING",
                                            f"Metric {metric.name} of node {metric.node_id} "
                                            "was already reported"))
            else:
                run.metrics = [*run.metrics, metric]  # replaced, so the change is counted
                results.append(MetricResult(metric.name, metric.node_id, "OK"))
        return results

    def set_outcome(self, run_id: str, outcome: RuntimeState) -> Run:
        """Test control: choose the final state an active run reaches."""
        run = self.lookup(run_id)
        run.outcome = outcome
        return run

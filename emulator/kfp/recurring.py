"""Recurring runs (v1 jobs): namespaced like runs, authorized as the ``jobs`` resource."""

from __future__ import annotations

from dataclasses import dataclass

from emulator import bugs
from emulator.errors import KfpError, internal_error, invalid_input, not_found
from emulator.kfp.access import Credentials
from emulator.kfp.lifecycle import Lifecycle, valid_cron
from emulator.kfp.listing import Listable, Page, paginate, parse_list_query
from emulator.kfp.models import PipelineSource, RecurringRun, Trigger
from emulator.kfp.pipelines import PipelineService
from emulator.kfp.runs import RunService
from emulator.kfp.scope import list_candidates, list_namespace, owner_namespace
from emulator.kfp.state import KfpState, is_empty_namespace, new_id
from emulator.kube.rbac import ResourceAttributes

EMPTY_NAMESPACE = "a recurring run cannot have an empty namespace in multi-user mode"

RECURRING_RUN_LISTABLE = Listable("Job", {
    "id": ("UUID", lambda j: j.id),
    "recurring_run_id": ("UUID", lambda j: j.id),
    "name": ("DisplayName", lambda j: j.name),
    "display_name": ("DisplayName", lambda j: j.name),
    "created_at": ("CreatedAtInSec", lambda j: int(j.created_at)),
    "updated_at": ("UpdatedAtInSec", lambda j: int(j.updated_at)),
    "description": ("Description", lambda j: j.description),
}, immutable=frozenset({"id", "recurring_run_id", "name", "display_name", "created_at",
                        "description"}))


@dataclass
class RecurringRunRequest:
    name: str
    experiment_id: str
    source: PipelineSource
    trigger: Trigger
    description: str = ""
    service_account: str = ""
    max_concurrency: int = 1
    no_catchup: bool = False
    enabled: bool = True
    namespace: str = ""


def _top(api: str, v2: str, v1: str | None = None) -> str:
    return (v1 or v2) if api == "v1beta1" else v2


class RecurringRunService:
    def __init__(self, state: KfpState, runs: RunService, pipelines: PipelineService,
                 lifecycle: Lifecycle) -> None:
        self.state = state
        self.runs = runs
        self.pipelines = pipelines
        self.lifecycle = lifecycle

    def _sar(self, creds: Credentials, namespace: str, verb: str, name: str) -> None:
        self.state.access.authorize(creds, ResourceAttributes(
            namespace=namespace, verb=verb, resource="jobs", name=name))

    def lookup(self, recurring_run_id: str) -> RecurringRun:
        recurring = self.state.recurring_runs.get(recurring_run_id)
        if recurring is None:
            raise not_found("Job", recurring_run_id)
        return recurring

    def _checked(self, creds: Credentials, recurring_run_id: str, verb: str) -> RecurringRun:
        """``getJob`` and friends: canAccessJob wrapped as "Failed to authorize the request"."""
        if not self.state.config.multiuser:
            return self.lookup(recurring_run_id)
        try:
            return self._can_access(creds, recurring_run_id, verb)
        except KfpError as error:
            raise error.wrap("Failed to authorize the request") from None

    def _can_access(self, creds: Credentials, recurring_run_id: str,
                    verb: str) -> RecurringRun:
        try:
            recurring = self.lookup(recurring_run_id)
        except KfpError as error:
            raise error.wrap("failed to authorize with the recurring run ID") from None
        namespace = owner_namespace(self.state, recurring.namespace, recurring.experiment_id)
        if namespace is None:
            raise internal_error(f"recurring run {recurring.id} has an empty namespace and the "
                                 f"parent experiment {recurring.experiment_id} could not be "
                                 "fetched")
        if is_empty_namespace(namespace):
            raise invalid_input(EMPTY_NAMESPACE)
        try:
            self._sar(creds, namespace, verb, recurring.name)
        except KfpError as error:
            raise error.wrap("failed to authorize with API") from None
        return recurring

    def create(self, creds: Credentials, request: RecurringRunRequest,
               api: str = "v2beta1") -> RecurringRun:
        try:
            if not request.name:
                raise internal_error("Recurring run's name cannot be empty" if api == "v2beta1"
                                     else "Job name cannot be empty")
            self._validate_trigger(request.trigger, request.max_concurrency)
            try:
                experiment = self.runs.experiment_for_create(request.experiment_id,
                                                             request.namespace)
            except KfpError as error:
                raise error.wrap("Failed to create a recurring run due to invalid experimentId "
                                 "and namespace combination") from None
            namespace = self.state.storage_namespace(experiment.namespace)
            if self.state.config.multiuser:
                if is_empty_namespace(namespace):
                    raise invalid_input("Recurring run cannot have an empty namespace in "
                                        "multi-user mode")
                try:
                    self._sar(creds, namespace, "create", request.name)
                except KfpError as error:
                    # canAccessJob's layer, then createJob's own (job_server.go).
                    raise error.wrap("failed to authorize with API").wrap(
                        "Failed to create a recurring run due to authorization error. Check if "
                        f"you have write permission to namespace {namespace}") from None
            source = self.pipelines.resolve_source(creds, request.source, "recurring run")
        except KfpError as error:
            raise error.wrap("Failed to create a recurring run") from None
        now = int(self.state.now())
        recurring = RecurringRun(
            id=new_id(),
            name=request.name,
            namespace=namespace,
            experiment_id=experiment.id,
            source=source,
            trigger=request.trigger,
            description=request.description,
            service_account=request.service_account
            or self.state.config.default_runner_service_account,
            max_concurrency=request.max_concurrency,
            no_catchup=request.no_catchup,
            enabled=request.enabled,
            created_at=now,
            updated_at=now,
            # With no run triggered yet the controller counts from the start time, else from
            # creation; a start time in the past is backfilled unless no_catchup.
            last_fired_at=request.trigger.start_time or now,
        )
        self.state.recurring_runs.add(recurring)
        self.lifecycle.arm(recurring)
        return recurring

    @staticmethod
    def _validate_trigger(trigger: Trigger, max_concurrency: int) -> None:
        if not 1 <= max_concurrency <= 10:
            raise invalid_input(f"Max concurrency of recurring runs must be between 1 and 10. "
                                f"Received {max_concurrency}")
        if trigger.is_cron and not valid_cron(trigger.cron):
            raise invalid_input(f"Schedule cron is not a supported format(https://godoc.org/"
                                f"github.com/robfig/cron). Error: invalid cron {trigger.cron!r}")
        if not trigger.is_cron and trigger.interval_seconds <= 0:
            raise invalid_input("Found invalid period schedule: interval_second must be "
                                "positive" if trigger.interval_seconds else
                                "Trigger is missing: set a cron_schedule or periodic_schedule")
        if trigger.start_time and trigger.end_time and trigger.end_time < trigger.start_time:
            raise invalid_input("The start time should be earlier than the end time")

    def get(self, creds: Credentials, recurring_run_id: str,
            api: str = "v2beta1") -> RecurringRun:
        try:
            return self._checked(creds, recurring_run_id, "get")
        except KfpError as error:
            raise error.wrap(_top(api, "Failed to fetch a recurring run",
                                  "Failed to fetch a v1beta1 recurring run")) from None

    def list(self, creds: Credentials, *, namespace: str = "", experiment_id: str = "",
             page_token: str = "", page_size: object = None, sort_by: str = "",
             filter_text: str = "", api: str = "v2beta1") -> Page[RecurringRun]:
        try:
            query = parse_list_query(RECURRING_RUN_LISTABLE, page_token=page_token,
                                     page_size=page_size, sort_by=sort_by,
                                     filter_text=filter_text, api_version=api)
            scope_namespace = list_namespace(self.state, experiment_id, namespace)
            if self.state.config.multiuser:
                if is_empty_namespace(scope_namespace):
                    raise invalid_input(EMPTY_NAMESPACE)
                self._sar(creds, scope_namespace, "list", "")
            candidates, ordered = list_candidates(self.state, self.state.recurring_runs,
                                                  experiment_id, scope_namespace)
            return paginate(query, RECURRING_RUN_LISTABLE, candidates, lambda j: j.id, ordered)
        except KfpError as error:
            raise error.wrap("Failed to list jobs") from None

    def enable(self, creds: Credentials, recurring_run_id: str, api: str = "v2beta1") -> None:
        try:
            recurring = self._checked(creds, recurring_run_id, "enable")
        except KfpError as error:
            raise error.wrap(_top(api, "Failed to enable a recurring run",
                                  "Failed to enable a v1beta1 recurring run")) from None
        if not recurring.enabled:
            recurring.enabled = True
            recurring.updated_at = int(self.state.now())
            # The controller counts from the last triggered time, so slots missed while
            # disabled are caught up unless no_catchup (scheduled_workflow.go).
            self.lifecycle.arm(recurring)

    def disable(self, creds: Credentials, recurring_run_id: str, api: str = "v2beta1") -> None:
        try:
            # ISO-001: 2.0.0-beta asked `enable` here instead of `disable`.
            recurring = self._checked(creds, recurring_run_id,
                                      bugs.verb(self.state.config, "jobs", "disable"))
        except KfpError as error:
            raise error.wrap(_top(api, "Failed to disable a recurring run",
                                  "Failed to disable a v1beta1 recurring run")) from None
        if recurring.enabled:
            recurring.enabled = False
            recurring.updated_at = int(self.state.now())

    def delete(self, creds: Credentials, recurring_run_id: str, api: str = "v2beta1") -> None:
        try:
            recurring = self._checked(creds, recurring_run_id, "delete")
        except KfpError as error:
            raise error.wrap(_top(api, "Failed to delete a recurring run",
                                  "Failed to disable a recurring run")) from None
        self.state.recurring_runs.remove(recurring.id)

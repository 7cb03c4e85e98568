"""Experiments: namespaced by their ``namespace``; unique by (name, namespace)."""

from __future__ import annotations

from dataclasses import dataclass

from emulator import bugs
from emulator.errors import KfpError, already_exists, bad_request, internal_error, invalid_input
from emulator.errors import not_found as _not_found
from emulator.kfp.access import Credentials
from emulator.kfp.listing import Listable, Page, paginate, parse_list_query
from emulator.kfp.models import Experiment, StorageState
from emulator.kfp.state import KfpState, is_empty_namespace, new_id
from emulator.kube.rbac import ResourceAttributes

EMPTY_NAMESPACE = "An experiment cannot have an empty namespace in multi-user mode"
DEFAULT_NAME = "Default"
DEFAULT_DESCRIPTION = "All runs created without specifying an experiment will be grouped here."
MAX_NAME = 128
MAX_NAMESPACE = 63

EXPERIMENT_LISTABLE = Listable("Experiment", {
    "id": ("UUID", lambda e: e.id),
    "experiment_id": ("UUID", lambda e: e.id),
    "name": ("Name", lambda e: e.name),
    "display_name": ("Name", lambda e: e.name),
    "created_at": ("CreatedAtInSec", lambda e: int(e.created_at)),
    "last_run_created_at": ("LastRunCreatedAtInSec", lambda e: int(e.last_run_created_at)),
    "description": ("Description", lambda e: e.description),
    "namespace": ("Namespace", lambda e: e.namespace),
    "storage_state": ("StorageState", lambda e: e.storage_state.value),
})


@dataclass(frozen=True)
class Texts:
    """Top-level wrapper texts, which differ between the v1beta1 and v2beta1 handlers."""

    create: str
    get: str
    list: str
    delete: str
    archive: str
    unarchive: str


V2_TEXTS = Texts("Failed to create a experiment", "Failed to fetch experiment",
                 "List experiments failed", "Failed to delete experiment",
                 "Failed to archive experiment", "Failed to unarchive experiment")
V1_TEXTS = Texts("Failed to create a v1beta1 experiment", "Failed to fetch v1beta1 experiment",
                 "List v1beta1 experiments failed", "Failed to delete v1beta1 experiment",
                 "Failed to archive v1beta1 experiment", "Failed to unarchive v1beta1 experiment")


def texts_for(api: str) -> Texts:
    return V1_TEXTS if api == "v1beta1" else V2_TEXTS


class ExperimentService:
    def __init__(self, state: KfpState) -> None:
        self.state = state

    # -- authorization -------------------------------------------------------------------------

    def lookup(self, experiment_id: str) -> Experiment:
        experiment = self.state.experiments.get(experiment_id)
        if experiment is None:
            raise _not_found("Experiment", experiment_id)
        return experiment

    def authorize(self, creds: Credentials, experiment: Experiment, verb: str) -> None:
        """canAccessExperiment for a stored experiment: empty namespace, then 401/403."""
        if not self.state.config.multiuser:
            return
        if is_empty_namespace(experiment.namespace):
            raise invalid_input(EMPTY_NAMESPACE).wrap("Failed to authorize with API")
        self._sar(creds, experiment.namespace, verb, experiment.name)

    def _sar(self, creds: Credentials, namespace: str, verb: str, name: str) -> None:
        try:
            self.state.access.authorize(creds, ResourceAttributes(
                namespace=namespace, verb=verb, resource="experiments", name=name))
        except KfpError as error:
            raise error.wrap("Failed to authorize with API") from None

    def _checked(self, creds: Credentials, experiment_id: str, verb: str) -> Experiment:
        try:
            try:
                experiment = self.lookup(experiment_id)
            except KfpError as error:
                if self.state.config.multiuser:
                    error.wrap("Failed to authorize with the experiment ID")
                raise
            self.authorize(creds, experiment, verb)
        except KfpError as error:
            if self.state.config.multiuser:
                error.wrap("Failed to authorize the request")
            raise
        return experiment

    # -- operations ----------------------------------------------------------------------------

    def create(self, creds: Credentials, name: str, description: str, namespace: str,
               api: str = "v2beta1") -> Experiment:
        texts = texts_for(api)
        try:
            if not name:
                raise internal_error("Invalid input error: Experiment must have a non-empty name")
            if len(name) > MAX_NAME:
                raise internal_error(f"Experiment.Name length cannot exceed {MAX_NAME}")
            if len(namespace) > MAX_NAMESPACE:
                raise internal_error(f"Experiment.Namespace length cannot exceed {MAX_NAMESPACE}")
            namespace = self.state.storage_namespace(namespace)
            if self.state.config.multiuser:
                if is_empty_namespace(namespace):
                    raise invalid_input(EMPTY_NAMESPACE).wrap("Failed to authorize with API")
                self._sar(creds, namespace, "create", name)
            return self._insert(name, description, namespace)
        except KfpError as error:
            raise error.wrap(texts.create) from None

    def _insert(self, name: str, description: str, namespace: str) -> Experiment:
        for existing in self.state.experiments.in_namespace(namespace):
            if existing.name == name:
                raise already_exists(
                    f"Failed to create a new experiment. The name {name} already exists. "
                    "Please specify a new name")
        experiment = Experiment(new_id(), name, namespace, description,
                                created_at=int(self.state.now()))
        self.state.experiments.add(experiment)
        return experiment

    def ensure_default(self) -> Experiment:
        """The single-user server-wide default experiment (created at startup)."""
        current = self.state.experiments.get(self.state.default_experiment_id)
        if current is not None:
            return current
        experiment = next((e for e in self.state.experiments.in_namespace("")
                           if e.name == DEFAULT_NAME), None)
        if experiment is None:
            experiment = self._insert(DEFAULT_NAME, DEFAULT_DESCRIPTION, "")
        self.state.default_experiment_id = experiment.id
        return experiment

    def get(self, creds: Credentials, experiment_id: str, api: str = "v2beta1") -> Experiment:
        try:
            return self._checked(creds, experiment_id, "get")
        except KfpError as error:
            raise error.wrap(texts_for(api).get) from None

    def list(self, creds: Credentials, namespace: str, *, page_token: str = "",
             page_size: object = None, sort_by: str = "", filter_text: str = "",
             api: str = "v2beta1") -> Page[Experiment]:
        try:
            query = parse_list_query(EXPERIMENT_LISTABLE, page_token=page_token,
                                     page_size=page_size, sort_by=sort_by,
                                     filter_text=filter_text, api_version=api)
            namespace = self.state.storage_namespace(namespace)
            if self.state.config.multiuser:
                if is_empty_namespace(namespace):
                    raise invalid_input(EMPTY_NAMESPACE).wrap("Failed to authorize with API")
                self._sar(creds, namespace, "list", "")
            candidates = self.state.experiments.in_namespace(namespace)
            return paginate(query, EXPERIMENT_LISTABLE, candidates, lambda e: e.id)
        except KfpError as error:
            raise error.wrap(texts_for(api).list) from None

    def delete(self, creds: Credentials, experiment_id: str, api: str = "v2beta1") -> None:
        try:
            # ISO-001: 2.0.0-beta asked `archive` here instead of `delete`.
            experiment = self._checked(creds, experiment_id,
                                       bugs.verb(self.state.config, "experiments", "delete"))
            if experiment.id == self.state.default_experiment_id:
                raise bad_request(f"Failed to delete experiment {experiment.id}. The default "
                                  "experiment cannot be deleted")
            # Runs and recurring runs of a deleted experiment stay, as in the SQL store.
            self.state.experiments.remove(experiment.id)
        except KfpError as error:
            raise error.wrap(texts_for(api).delete) from None

    def archive(self, creds: Credentials, experiment_id: str, api: str = "v2beta1") -> None:
        try:
            experiment = self._checked(creds, experiment_id, "archive")
        except KfpError as error:
            raise error.wrap(texts_for(api).archive) from None
        experiment.storage_state = StorageState.ARCHIVED
        for run in self.state.runs.in_group(experiment.id):
            run.storage_state = StorageState.ARCHIVED
        now = int(self.state.now())
        for recurring in self.state.recurring_runs.in_group(experiment.id):
            if recurring.enabled:
                recurring.enabled = False
                recurring.updated_at = now

    def unarchive(self, creds: Credentials, experiment_id: str, api: str = "v2beta1") -> None:
        try:
            # ISO-001: 2.0.0-beta asked `archive` here instead of `unarchive`.
            experiment = self._checked(creds, experiment_id,
                                       bugs.verb(self.state.config, "experiments", "unarchive"))
        except KfpError as error:
            raise error.wrap(texts_for(api).unarchive) from None
        # Only the experiment: its runs stay archived and its recurring runs stay disabled.
        experiment.storage_state = StorageState.AVAILABLE

"""The operation x identity matrix: every operation of both swagger files, for every identity.

Each :class:`Probe` says how to call one operation on alice's objects and which SAR the API server
asks for it (spec section 3: resource and verb); the expected answer for each identity kind
follows from the RBAC model of the spec (section 10) and the cast.  ``python -m
conformance.matrix`` writes ``features/api_matrix.feature`` from this table, in the order of the
swagger files, and refuses to when a swagger operation is neither probed nor listed in
:data:`NOT_PROBED` with the reason; ``tests/conformance/test_matrix.py`` fails when the committed
feature is stale.  At run time nothing here reads the swagger files.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.cast import custom_grants
from conformance.pipeline_spec import (
    MINIMAL_PIPELINE_SPEC,
    MINIMAL_PIPELINE_TEXT,
    MINIMAL_PIPELINE_URL,
)
from emulator.http.routing import operation_key

ALLOWED, DENIED, UNAUTHENTICATED = "allowed", "denied", "unauthenticated"
SPECS_ENV = "KFP_ISOLATION_SPECS"
SWAGGER_FILES = {
    "v2beta1": "v2beta1.kfp_api_single_file.swagger.json",
    "v1beta1": "v1beta1.kfp_api_single_file.swagger.json",
}
FEATURE_FILE = Path(__file__).resolve().parent.parent / "features" / "api_matrix.feature"


@dataclass(frozen=True)
class Identity:
    kind: str  # as the report's matrix columns name it
    actor: str  # as the features write it
    profile: str  # core | roles


IDENTITIES = (
    Identity("owner", "alice", "core"),
    Identity("edit contributor", "carol", "roles"),
    Identity("view contributor", "victor", "roles"),
    Identity("custom role", "rita", "roles"),
    Identity("partial custom role", "una", "roles"),
    Identity("stranger", "bob", "core"),
    Identity("anonymous", "anonymous", "core"),
    Identity("namespace service account", "alice's service account", "core"),
    Identity("other service account", "bob's service account", "core"),
    Identity("admin", "an admin", "core"),
)

# Spec section 10: the verbs kubeflow-view grants (kubeflow-edit and kubeflow-admin grant all the
# verbs the server checks; the namespace's default-editor is bound to kubeflow-edit).
VIEW_VERBS = {
    "experiments": {"get", "list"},
    "runs": {"get", "list", "readArtifact"},
    "jobs": {"get", "list"},
    "pipelines": {"get", "list"},
    "visualizations": {"create"},
    "viewers": {"create", "get", "delete"},
}
EDITORS = {"owner", "edit contributor", "namespace service account", "admin"}

# Scenes: what alice owns before the call (built by steps/matrix.py, in this order).  An
# unarchive acts on an archived object and a disable on an enabled recurring run, so that the
# allowed call visibly changes it and a refused one visibly does not.
SCENES = ("", "experiment", "archived-experiment", "run", "archived-run", "recurringrun",
          "enabled-recurringrun", "pipeline", "pipelineversion")


@dataclass(frozen=True)
class Probe:
    """How to call one operation on alice's objects, and the SAR the server asks for it."""

    api: str
    operation_id: str
    method: str
    path: str  # as in the swagger file
    resource: str  # SAR resource (spec section 3)
    verb: str  # SAR verb
    scene: str  # what alice must own first (SCENES)
    request: str  # path and query, with world placeholders ({experiment:scene}, {unique}...)
    body: Any = None
    upload: str = ""  # "pipeline" | "version": a multipart upload, not JSON
    creates: tuple[str, str] | None = None  # (world kind, id field) made by an allowed call
    # Answers that still mean "authorized" (status, text the error contains): what follows
    # authorization on a real server may fail for reasons of its own (a run not yet terminal,
    # a package URL the server cannot fetch).
    also_allowed: tuple[tuple[int, str], ...] = ()
    cluster_wide: bool = False  # the SAR names no namespace (persistence agent reports)

    @property
    def key(self) -> str:
        """What the emulator's per-operation switches name: method and templated path."""
        return operation_key(self.method, self.path)

    def expected(self, identity: Identity) -> str:
        if identity.kind == "anonymous":
            return UNAUTHENTICATED
        if identity.kind == "admin":
            return ALLOWED
        if self.cluster_wide or identity.kind in ("stranger", "other service account"):
            return DENIED
        if identity.kind in EDITORS:
            return ALLOWED
        if identity.kind == "view contributor":
            return ALLOWED if self.verb in VIEW_VERBS.get(self.resource, set()) else DENIED
        grants = custom_grants(identity.actor)
        if grants:  # custom Roles grant exactly their verbs
            return ALLOWED if self.verb in grants.get(self.resource, frozenset()) else DENIED
        raise ValueError(f"no expectation for identity kind {identity.kind!r}")


V1_NS = "resource_reference_key.type=NAMESPACE&resource_reference_key.id={namespace:alice}"
DOWNLOAD = (400, "download")  # a real server may not fetch the data: URL; the emulator does
DOWNLOAD_V1 = (400, "pipeline")
# The probe's ScheduledWorkflow stands for no recurring run: after authorization the server's
# lookup answers 404 (ReportScheduledWorkflowResource), and nothing is written.
NO_RECURRING_RUN = (404, "error retrieving recurring run")
_V2, _V1 = "/apis/v2beta1", "/apis/v1beta1"


def _ref(kind: str, placeholder: str) -> dict[str, Any]:
    return {"key": {"type": kind, "id": placeholder}, "relationship": "OWNER"}


def _probes() -> list[Probe]:
    v2, v1 = "v2beta1", "v1beta1"
    exp_body = {"display_name": "{unique}", "namespace": "{namespace:alice}"}
    run_body = {"display_name": "{unique}", "experiment_id": "{experiment:scene}",
                "pipeline_spec": MINIMAL_PIPELINE_SPEC}
    rr_body = {"display_name": "{unique}", "experiment_id": "{experiment:scene}",
               "pipeline_spec": MINIMAL_PIPELINE_SPEC, "mode": "DISABLE",
               "trigger": {"periodic_schedule": {"interval_second": "3600"}}}
    retry = (409, "not in a terminal state")
    terminate = (400, "Row not found")
    p = Probe
    return [
        # v2beta1 -----------------------------------------------------------------------------
        p(v2, "ExperimentService_ListExperiments", "GET", f"{_V2}/experiments", "experiments",
          "list", "experiment", f"{_V2}/experiments?namespace={{namespace:alice}}"),
        p(v2, "ExperimentService_CreateExperiment", "POST", f"{_V2}/experiments", "experiments",
          "create", "", f"{_V2}/experiments", exp_body, creates=("experiment", "experiment_id")),
        p(v2, "ExperimentService_GetExperiment", "GET", f"{_V2}/experiments/{{experiment_id}}",
          "experiments", "get", "experiment", f"{_V2}/experiments/{{experiment:scene}}"),
        p(v2, "ExperimentService_DeleteExperiment", "DELETE",
          f"{_V2}/experiments/{{experiment_id}}", "experiments", "delete", "experiment",
          f"{_V2}/experiments/{{experiment:scene}}"),
        p(v2, "ExperimentService_ArchiveExperiment", "POST",
          f"{_V2}/experiments/{{experiment_id}}:archive", "experiments", "archive", "experiment",
          f"{_V2}/experiments/{{experiment:scene}}:archive"),
        p(v2, "ExperimentService_UnarchiveExperiment", "POST",
          f"{_V2}/experiments/{{experiment_id}}:unarchive", "experiments", "unarchive",
          "archived-experiment", f"{_V2}/experiments/{{experiment:scene}}:unarchive"),
        p(v2, "PipelineService_ListPipelines", "GET", f"{_V2}/pipelines", "pipelines", "list",
          "pipeline", f"{_V2}/pipelines?namespace={{namespace:alice}}"),
        p(v2, "PipelineService_CreatePipeline", "POST", f"{_V2}/pipelines", "pipelines",
          "create", "", f"{_V2}/pipelines",
          {"name": "{unique}", "display_name": "{unique}", "namespace": "{namespace:alice}"},
          creates=("pipeline", "pipeline_id")),
        p(v2, "PipelineService_CreatePipelineAndVersion", "POST", f"{_V2}/pipelines/create",
          "pipelines", "create", "", f"{_V2}/pipelines/create",
          {"pipeline": {"name": "{unique}", "display_name": "{unique}",
                        "namespace": "{namespace:alice}"},
           "pipeline_version": {"name": "{unique}", "display_name": "{unique}",
                                "package_url": {"pipeline_url": MINIMAL_PIPELINE_URL}}},
          creates=("pipeline", "pipeline_id"), also_allowed=(DOWNLOAD,)),
        p(v2, "PipelineService_GetPipelineByName", "GET", f"{_V2}/pipelines/names/{{name}}",
          "pipelines", "get", "pipeline",
          f"{_V2}/pipelines/names/{{pipeline-name}}?namespace={{namespace:alice}}"),
        p(v2, "PipelineService_UpdatePipeline", "PATCH",
          f"{_V2}/pipelines/{{pipeline.pipeline_id}}", "pipelines", "update", "pipeline",
          f"{_V2}/pipelines/{{pipeline:scene}}",
          {"pipeline_id": "{pipeline:scene}", "description": "changed by {unique}"}),
        p(v2, "PipelineService_GetPipeline", "GET", f"{_V2}/pipelines/{{pipeline_id}}",
          "pipelines", "get", "pipeline", f"{_V2}/pipelines/{{pipeline:scene}}"),
        p(v2, "PipelineService_DeletePipeline", "DELETE", f"{_V2}/pipelines/{{pipeline_id}}",
          "pipelines", "delete", "pipeline", f"{_V2}/pipelines/{{pipeline:scene}}"),
        p(v2, "PipelineService_ListPipelineVersions", "GET",
          f"{_V2}/pipelines/{{pipeline_id}}/versions", "pipelines", "list", "pipelineversion",
          f"{_V2}/pipelines/{{pipeline:scene}}/versions"),
        p(v2, "PipelineService_CreatePipelineVersion", "POST",
          f"{_V2}/pipelines/{{pipeline_id}}/versions", "pipelines", "create", "pipeline",
          f"{_V2}/pipelines/{{pipeline:scene}}/versions",
          {"pipeline_id": "{pipeline:scene}", "name": "{unique}", "display_name": "{unique}",
           "package_url": {"pipeline_url": MINIMAL_PIPELINE_URL}},
          creates=("pipelineversion", "pipeline_version_id"), also_allowed=(DOWNLOAD,)),
        p(v2, "PipelineService_GetPipelineVersion", "GET",
          f"{_V2}/pipelines/{{pipeline_id}}/versions/{{pipeline_version_id}}", "pipelines",
          "get", "pipelineversion",
          f"{_V2}/pipelines/{{pipeline:scene}}/versions/{{pipelineversion:scene}}"),
        p(v2, "PipelineService_DeletePipelineVersion", "DELETE",
          f"{_V2}/pipelines/{{pipeline_id}}/versions/{{pipeline_version_id}}", "pipelines",
          "delete", "pipelineversion",
          f"{_V2}/pipelines/{{pipeline:scene}}/versions/{{pipelineversion:scene}}"),
        p(v2, "PipelineService_UpdatePipelineVersion", "PATCH",
          f"{_V2}/pipelines/{{pipeline_version.pipeline_id}}/versions/"
          "{pipeline_version.pipeline_version_id}", "pipelines", "update", "pipelineversion",
          f"{_V2}/pipelines/{{pipeline:scene}}/versions/{{pipelineversion:scene}}",
          {"pipeline_id": "{pipeline:scene}", "pipeline_version_id": "{pipelineversion:scene}",
           "description": "changed by {unique}"}),
        p(v2, "UploadPipeline", "POST", f"{_V2}/pipelines/upload", "pipelines", "create", "",
          f"{_V2}/pipelines/upload?name={{unique}}&namespace={{namespace:alice}}",
          upload="pipeline", creates=("pipeline", "pipeline_id")),
        p(v2, "UploadPipelineVersion", "POST", f"{_V2}/pipelines/upload_version", "pipelines",
          "create", "pipeline",
          f"{_V2}/pipelines/upload_version?name={{unique}}&pipelineid={{pipeline:scene}}",
          upload="version", creates=("pipelineversion", "pipeline_version_id")),
        p(v2, "RecurringRunService_ListRecurringRuns", "GET", f"{_V2}/recurringruns", "jobs",
          "list", "recurringrun", f"{_V2}/recurringruns?namespace={{namespace:alice}}"),
        p(v2, "RecurringRunService_CreateRecurringRun", "POST", f"{_V2}/recurringruns", "jobs",
          "create", "experiment", f"{_V2}/recurringruns", rr_body,
          creates=("recurringrun", "recurring_run_id")),
        p(v2, "RecurringRunService_GetRecurringRun", "GET",
          f"{_V2}/recurringruns/{{recurring_run_id}}", "jobs", "get", "recurringrun",
          f"{_V2}/recurringruns/{{recurringrun:scene}}"),
        p(v2, "RecurringRunService_DeleteRecurringRun", "DELETE",
          f"{_V2}/recurringruns/{{recurring_run_id}}", "jobs", "delete", "recurringrun",
          f"{_V2}/recurringruns/{{recurringrun:scene}}"),
        p(v2, "RecurringRunService_DisableRecurringRun", "POST",
          f"{_V2}/recurringruns/{{recurring_run_id}}:disable", "jobs", "disable",
          "enabled-recurringrun", f"{_V2}/recurringruns/{{recurringrun:scene}}:disable"),
        p(v2, "RecurringRunService_EnableRecurringRun", "POST",
          f"{_V2}/recurringruns/{{recurring_run_id}}:enable", "jobs", "enable", "recurringrun",
          f"{_V2}/recurringruns/{{recurringrun:scene}}:enable"),
        p(v2, "ReportService_ReportScheduledWorkflow", "POST", f"{_V2}/scheduledworkflows",
          "scheduledworkflows", "report", "", f"{_V2}/scheduledworkflows",
          json.dumps(_report_manifest("ScheduledWorkflow")),
          also_allowed=(NO_RECURRING_RUN,), cluster_wide=True),
        p(v2, "ReportService_ReportWorkflow", "POST", f"{_V2}/workflows", "workflows", "report",
          "", f"{_V2}/workflows", json.dumps(_report_manifest("Workflow")),
          also_allowed=((400, "missing the Run ID label"),), cluster_wide=True),
        p(v2, "RunService_ListRuns", "GET", f"{_V2}/runs", "runs", "list", "run",
          f"{_V2}/runs?namespace={{namespace:alice}}"),
        p(v2, "RunService_CreateRun", "POST", f"{_V2}/runs", "runs", "create", "experiment",
          f"{_V2}/runs", run_body, creates=("run", "run_id")),
        p(v2, "RunService_GetRun", "GET", f"{_V2}/runs/{{run_id}}", "runs", "get", "run",
          f"{_V2}/runs/{{run:scene}}"),
        p(v2, "RunService_DeleteRun", "DELETE", f"{_V2}/runs/{{run_id}}", "runs", "delete",
          "run", f"{_V2}/runs/{{run:scene}}"),
        p(v2, "RunService_ArchiveRun", "POST", f"{_V2}/runs/{{run_id}}:archive", "runs",
          "archive", "run", f"{_V2}/runs/{{run:scene}}:archive"),
        p(v2, "RunService_RetryRun", "POST", f"{_V2}/runs/{{run_id}}:retry", "runs", "retry",
          "run", f"{_V2}/runs/{{run:scene}}:retry", also_allowed=(retry,)),
        p(v2, "RunService_TerminateRun", "POST", f"{_V2}/runs/{{run_id}}:terminate", "runs",
          "terminate", "run", f"{_V2}/runs/{{run:scene}}:terminate",
          also_allowed=(terminate,)),
        p(v2, "RunService_UnarchiveRun", "POST", f"{_V2}/runs/{{run_id}}:unarchive", "runs",
          "unarchive", "archived-run", f"{_V2}/runs/{{run:scene}}:unarchive"),
        # v1beta1 -----------------------------------------------------------------------------
        p(v1, "ExperimentService_ListExperimentsV1", "GET", f"{_V1}/experiments", "experiments",
          "list", "experiment", f"{_V1}/experiments?{V1_NS}"),
        p(v1, "ExperimentService_CreateExperimentV1", "POST", f"{_V1}/experiments",
          "experiments", "create", "", f"{_V1}/experiments",
          {"name": "{unique}", "resource_references": [_ref("NAMESPACE", "{namespace:alice}")]},
          creates=("experiment", "id")),
        p(v1, "ExperimentService_GetExperimentV1", "GET", f"{_V1}/experiments/{{id}}",
          "experiments", "get", "experiment", f"{_V1}/experiments/{{experiment:scene}}"),
        p(v1, "ExperimentService_DeleteExperimentV1", "DELETE", f"{_V1}/experiments/{{id}}",
          "experiments", "delete", "experiment", f"{_V1}/experiments/{{experiment:scene}}"),
        p(v1, "ExperimentService_ArchiveExperimentV1", "POST",
          f"{_V1}/experiments/{{id}}:archive", "experiments", "archive", "experiment",
          f"{_V1}/experiments/{{experiment:scene}}:archive"),
        p(v1, "ExperimentService_UnarchiveExperimentV1", "POST",
          f"{_V1}/experiments/{{id}}:unarchive", "experiments", "unarchive",
          "archived-experiment", f"{_V1}/experiments/{{experiment:scene}}:unarchive"),
        p(v1, "RunService_ListRunsV1", "GET", f"{_V1}/runs", "runs", "list", "run",
          f"{_V1}/runs?{V1_NS}"),
        p(v1, "RunService_CreateRunV1", "POST", f"{_V1}/runs", "runs", "create", "experiment",
          f"{_V1}/runs",
          {"name": "{unique}", "resource_references": [_ref("EXPERIMENT", "{experiment:scene}")],
           "pipeline_spec": {"pipeline_manifest": MINIMAL_PIPELINE_TEXT}},
          creates=("run", "run.id")),
        p(v1, "RunService_DeleteRunV1", "DELETE", f"{_V1}/runs/{{id}}", "runs", "delete", "run",
          f"{_V1}/runs/{{run:scene}}"),
        p(v1, "RunService_ArchiveRunV1", "POST", f"{_V1}/runs/{{id}}:archive", "runs",
          "archive", "run", f"{_V1}/runs/{{run:scene}}:archive"),
        p(v1, "RunService_UnarchiveRunV1", "POST", f"{_V1}/runs/{{id}}:unarchive", "runs",
          "unarchive", "archived-run", f"{_V1}/runs/{{run:scene}}:unarchive"),
        p(v1, "RunService_GetRunV1", "GET", f"{_V1}/runs/{{run_id}}", "runs", "get", "run",
          f"{_V1}/runs/{{run:scene}}"),
        p(v1, "RunService_RetryRunV1", "POST", f"{_V1}/runs/{{run_id}}/retry", "runs", "retry",
          "run", f"{_V1}/runs/{{run:scene}}/retry", also_allowed=(retry,)),
        p(v1, "RunService_TerminateRunV1", "POST", f"{_V1}/runs/{{run_id}}/terminate", "runs",
          "terminate", "run", f"{_V1}/runs/{{run:scene}}/terminate",
          also_allowed=(terminate,)),
        p(v1, "RunService_ReportRunMetricsV1", "POST", f"{_V1}/runs/{{run_id}}:reportMetrics",
          "runs", "reportMetrics", "run", f"{_V1}/runs/{{run:scene}}:reportMetrics",
          {"metrics": [{"name": "accuracy", "node_id": "kfp-isolation-probe",
                        "number_value": 0.5, "format": "RAW"}]}),
        p(v1, "JobService_ListJobs", "GET", f"{_V1}/jobs", "jobs", "list", "recurringrun",
          f"{_V1}/jobs?{V1_NS}"),
        p(v1, "JobService_CreateJob", "POST", f"{_V1}/jobs", "jobs", "create", "experiment",
          f"{_V1}/jobs",
          {"name": "{unique}", "enabled": False, "max_concurrency": "1",
           "resource_references": [_ref("EXPERIMENT", "{experiment:scene}")],
           "pipeline_spec": {"pipeline_manifest": MINIMAL_PIPELINE_TEXT},
           "trigger": {"periodic_schedule": {"interval_second": "3600"}}},
          creates=("recurringrun", "id")),
        p(v1, "JobService_GetJob", "GET", f"{_V1}/jobs/{{id}}", "jobs", "get", "recurringrun",
          f"{_V1}/jobs/{{recurringrun:scene}}"),
        p(v1, "JobService_DeleteJob", "DELETE", f"{_V1}/jobs/{{id}}", "jobs", "delete",
          "recurringrun", f"{_V1}/jobs/{{recurringrun:scene}}"),
        p(v1, "JobService_DisableJob", "POST", f"{_V1}/jobs/{{id}}/disable", "jobs", "disable",
          "enabled-recurringrun", f"{_V1}/jobs/{{recurringrun:scene}}/disable"),
        p(v1, "JobService_EnableJob", "POST", f"{_V1}/jobs/{{id}}/enable", "jobs", "enable",
          "recurringrun", f"{_V1}/jobs/{{recurringrun:scene}}/enable"),
        p(v1, "PipelineService_GetPipelineByNameV1", "GET",
          f"{_V1}/namespaces/{{namespace}}/pipelines/{{name}}", "pipelines", "get", "pipeline",
          f"{_V1}/namespaces/{{namespace:alice}}/pipelines/{{pipeline-name}}"),
        p(v1, "PipelineService_ListPipelineVersionsV1", "GET", f"{_V1}/pipeline_versions",
          "pipelines", "list", "pipelineversion",
          f"{_V1}/pipeline_versions?resource_key.type=PIPELINE"
          "&resource_key.id={pipeline:scene}"),
        p(v1, "PipelineService_CreatePipelineVersionV1", "POST", f"{_V1}/pipeline_versions",
          "pipelines", "create", "pipeline", f"{_V1}/pipeline_versions",
          {"name": "{unique}", "package_url": {"pipeline_url": MINIMAL_PIPELINE_URL},
           "resource_references": [_ref("PIPELINE", "{pipeline:scene}")]},
          creates=("pipelineversion", "id"), also_allowed=(DOWNLOAD_V1,)),
        p(v1, "PipelineService_GetPipelineVersionV1", "GET",
          f"{_V1}/pipeline_versions/{{version_id}}", "pipelines", "get", "pipelineversion",
          f"{_V1}/pipeline_versions/{{pipelineversion:scene}}"),
        p(v1, "PipelineService_DeletePipelineVersionV1", "DELETE",
          f"{_V1}/pipeline_versions/{{version_id}}", "pipelines", "delete", "pipelineversion",
          f"{_V1}/pipeline_versions/{{pipelineversion:scene}}"),
        p(v1, "PipelineService_GetPipelineVersionTemplate", "GET",
          f"{_V1}/pipeline_versions/{{version_id}}/templates", "pipelines", "get",
          "pipelineversion", f"{_V1}/pipeline_versions/{{pipelineversion:scene}}/templates"),
        p(v1, "PipelineService_ListPipelinesV1", "GET", f"{_V1}/pipelines", "pipelines", "list",
          "pipeline", f"{_V1}/pipelines?{V1_NS}"),
        p(v1, "PipelineService_CreatePipelineV1", "POST", f"{_V1}/pipelines", "pipelines",
          "create", "", f"{_V1}/pipelines",
          {"name": "{unique}", "url": {"pipeline_url": MINIMAL_PIPELINE_URL},
           "resource_references": [_ref("NAMESPACE", "{namespace:alice}")]},
          creates=("pipeline", "id"), also_allowed=(DOWNLOAD_V1,)),
        p(v1, "PipelineService_GetPipelineV1", "GET", f"{_V1}/pipelines/{{id}}", "pipelines",
          "get", "pipeline", f"{_V1}/pipelines/{{pipeline:scene}}"),
        p(v1, "PipelineService_DeletePipelineV1", "DELETE", f"{_V1}/pipelines/{{id}}",
          "pipelines", "delete", "pipeline", f"{_V1}/pipelines/{{pipeline:scene}}"),
        p(v1, "PipelineService_GetTemplate", "GET", f"{_V1}/pipelines/{{id}}/templates",
          "pipelines", "get", "pipelineversion", f"{_V1}/pipelines/{{pipeline:scene}}/templates"),
        p(v1, "PipelineService_UpdatePipelineDefaultVersionV1", "POST",
          f"{_V1}/pipelines/{{pipeline_id}}/default_version/{{version_id}}", "pipelines",
          "update", "pipelineversion",
          f"{_V1}/pipelines/{{pipeline:scene}}/default_version/{{pipelineversion:scene}}"),
        p(v1, "UploadPipeline", "POST", f"{_V1}/pipelines/upload", "pipelines", "create", "",
          f"{_V1}/pipelines/upload?name={{unique}}&namespace={{namespace:alice}}",
          upload="pipeline", creates=("pipeline", "id")),
        p(v1, "UploadPipelineVersion", "POST", f"{_V1}/pipelines/upload_version", "pipelines",
          "create", "pipeline",
          f"{_V1}/pipelines/upload_version?name={{unique}}&pipelineid={{pipeline:scene}}",
          upload="version", creates=("pipelineversion", "id")),
        # Served by the real server but absent from the v1beta1 swagger (spec section 3.6).
        p(v1, "AuthService_AuthorizeV1", "GET", f"{_V1}/auth", "viewers", "get", "",
          f"{_V1}/auth?namespace={{namespace:alice}}&resources=VIEWERS&verb=GET"),
        p(v1, "ReportService_ReportScheduledWorkflowV1", "POST", f"{_V1}/scheduledworkflows",
          "scheduledworkflows", "report", "", f"{_V1}/scheduledworkflows",
          json.dumps(_report_manifest("ScheduledWorkflow")),
          also_allowed=(NO_RECURRING_RUN,), cluster_wide=True),
        p(v1, "ReportService_ReportWorkflowV1", "POST", f"{_V1}/workflows", "workflows",
          "report", "", f"{_V1}/workflows", json.dumps(_report_manifest("Workflow")),
          also_allowed=((400, "missing the Run ID label"),), cluster_wide=True),
    ]


def _report_manifest(kind: str) -> dict[str, Any]:
    """A well-formed report that names no run: an authorized caller gets a 400 after the check,
    so the matrix never writes into a real deployment's run records."""
    return {"apiVersion": "argoproj.io/v1alpha1" if kind == "Workflow"
            else "kubeflow.org/v1beta1", "kind": kind,
            "metadata": {"name": "kfp-isolation-probe", "namespace": "kfp-isolation-probe",
                         "uid": "00000000-0000-4000-8000-000000000000"}}


PROBES: tuple[Probe, ...] = tuple(_probes())

@dataclass(frozen=True)
class Unprobed:
    """A swagger operation the matrix does not call, and why (shown in the report)."""

    api: str
    operation_id: str
    method: str
    path: str
    note: str


NOT_PROBED = (
    Unprobed("v2beta1", "AuthService_Authorize", "GET", f"{_V2}/auth",
             "in the swagger but not registered by the real server (404; spec section 3.6)"),
    Unprobed("v2beta1", "VisualizationService_CreateVisualizationV1", "POST",
             f"{_V2}/visualizations/{{namespace}}",
             "in the swagger but not registered under /apis/v2beta1 (spec section 3.6)"),
    Unprobed("v2beta1", "DummyFilterService_GetFilter", "GET", f"{_V2}/filters",
             "a placeholder service for the swagger's filter types; not served"),
    Unprobed("v2beta1", "HealthzService_GetHealthz", "GET", f"{_V2}/healthz",
             "no authorization by design"),
    Unprobed("v1beta1", "HealthzService_GetHealthz", "GET", f"{_V1}/healthz",
             "no authorization by design"),
)


OUTLINE_SUFFIX = " as <identity>"


def outline_name(item: Probe) -> str:
    """The name of the operation's Scenario Outline in the generated feature."""
    return scenario_id(item) + OUTLINE_SUFFIX


def probe_of_outline(name: str) -> Probe | None:
    """The probe a Scenario Outline of the matrix calls (None: not a matrix outline)."""
    if not name.endswith(OUTLINE_SUFFIX):
        return None
    try:
        return probe_named(name.removesuffix(OUTLINE_SUFFIX))
    except KeyError:
        return None


def probe_named(name: str) -> Probe:
    """The probe a scenario names (``UploadPipeline (v1beta1)``, ``RunService_GetRun``)."""
    for item in PROBES:
        if scenario_id(item) == name:
            return item
    raise KeyError(f"no operation named {name!r} in the matrix")


def scenario_id(item: Probe) -> str:
    """Upload operations share their id across versions; the scenario name tells them apart."""
    clash = sum(1 for other in PROBES if other.operation_id == item.operation_id) > 1
    return f"{item.operation_id} ({item.api})" if clash else item.operation_id


# -- the swagger side: which operations exist --------------------------------------------------

@dataclass(frozen=True)
class SwaggerOperation:
    api: str
    operation_id: str
    method: str
    path: str


def specs_dir() -> Path:
    default = Path(__file__).resolve().parent.parent.parent / "shared" / "specs"
    return Path(os.environ.get(SPECS_ENV) or default)


def swagger_operations(folder: Path | None = None) -> list[SwaggerOperation]:
    found = []
    for api, name in SWAGGER_FILES.items():
        document = json.loads(((folder or specs_dir()) / name).read_text())
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                if method == "parameters":
                    continue
                found.append(SwaggerOperation(api, operation["operationId"], method.upper(),
                                              path))
    return found


def unclassified(operations: Iterable[SwaggerOperation]) -> list[str]:
    """Swagger operations neither probed nor explained, and probes whose method or path
    disagree with their swagger operation."""
    problems = []
    everything: list[Probe | Unprobed] = [*PROBES, *NOT_PROBED]
    probed = {(p.api, p.operation_id): p for p in everything}
    for op in operations:
        known = probed.get((op.api, op.operation_id))
        if known is None:
            problems.append(f"{op.api} {op.operation_id} ({op.method} {op.path}) is neither "
                            "probed nor listed in NOT_PROBED")
        elif known is not None and (known.method, known.path) != (op.method, op.path):
            problems.append(f"{op.api} {op.operation_id}: probe says {known.method} "
                            f"{known.path}, the swagger {op.method} {op.path}")
    return problems


# -- the feature --------------------------------------------------------------------------------

HEADER = """\
# Generated by `python -m conformance.matrix` from both swagger files and the RBAC model of
# ../shared/specs/kfp-multiuser-behavior.md (sections 3 and 10). Do not edit:
# tests/conformance/test_matrix.py fails when this file is stale.
@api-matrix @requires-multiuser
Feature: Every authorized operation of both API versions, for every identity kind
  For each operation the API server authorizes, alice owns what the operation acts on (made by
  alice: the positive control), then each identity kind calls it. The expected answer follows
  from the RBAC model: owners, edit contributors, the namespace's service account and cluster
  admins may; view contributors may read; a custom Role grants exactly its verbs; strangers and
  other namespaces' service accounts are denied (403 PermissionDenied, nothing changed);
  callers without identity are refused (401, nothing changed).
"""


# The historical bugs (emulator.bugs) each operation's outline detects: switched on, the bug
# turns rows of that outline to ``fail``.  Rendered as tags, so `--kfp-detects` and the CI proof
# (conformance.bug_detection) find them.
BUG_TAGS: dict[str, tuple[str, ...]] = {
    "PipelineService_CreatePipelineVersionV1": ("ISO-004",),
    "RunService_DeleteRun": ("ISO-001",),
    "RunService_DeleteRunV1": ("ISO-001",),
    "RunService_TerminateRun": ("ISO-001",),
    "RunService_TerminateRunV1": ("ISO-001",),
    "ExperimentService_DeleteExperiment": ("ISO-001",),
    "ExperimentService_DeleteExperimentV1": ("ISO-001",),
    "ExperimentService_UnarchiveExperiment": ("ISO-001",),
    "ExperimentService_UnarchiveExperimentV1": ("ISO-001",),
    "RecurringRunService_DisableRecurringRun": ("ISO-001",),
    "JobService_DisableJob": ("ISO-001",),
    "RunService_ReportRunMetricsV1": ("ISO-002",),
    "ReportService_ReportWorkflow": ("ISO-003",),
    "ReportService_ReportWorkflowV1": ("ISO-003",),
    "ReportService_ReportScheduledWorkflow": ("ISO-003",),
    "ReportService_ReportScheduledWorkflowV1": ("ISO-003",),
}


def render_feature(order: Iterable[SwaggerOperation] | None = None) -> str:
    """The feature text; scenarios follow the swagger files' order when given."""
    probes = list(PROBES)
    if order is not None:
        rank = {(op.api, op.operation_id): index for index, op in enumerate(order)}
        probes.sort(key=lambda p: rank.get((p.api, p.operation_id), len(rank)))
    lines = [HEADER]
    for item in probes:
        name = scenario_id(item)
        tags = BUG_TAGS.get(item.operation_id, ())
        if tags:
            lines.append("  " + " ".join(f"@{tag}" for tag in tags))
        lines += [f"  Scenario Outline: {outline_name(item)}",
                  f"    # {item.method} {item.path} -> SAR {item.verb} {item.resource}"
                  f"{' (cluster-wide)' if item.cluster_wide else ''}",
                  f"    Given alice's objects for {name}",
                  f"    When <actor> calls {name}",
                  "    Then the call is <expected>", ""]
        for profile, title in (("core", "owners, strangers, anonymous, service accounts, "
                                        "admins"),
                               ("roles", "contributors and custom roles")):
            rows = [i for i in IDENTITIES if i.profile == profile]
            width = max(len(i.kind) for i in IDENTITIES)
            actor_width = max(len(i.actor) for i in IDENTITIES)
            lines += [f"    @{profile}", f"    Examples: {title}",
                      f"      | {'identity':<{width}} | {'actor':<{actor_width}} | "
                      f"{'expected':<15} |"]
            for identity in rows:
                lines.append(f"      | {identity.kind:<{width}} | {identity.actor:<{actor_width}}"
                             f" | {item.expected(identity):<15} |")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.matrix",
                                     description="write features/api_matrix.feature")
    parser.add_argument("--specs", type=Path, default=None,
                        help=f"folder of the swagger files (default ${SPECS_ENV} or "
                             "../shared/specs)")
    parser.add_argument("--check", action="store_true",
                        help="only check that the committed feature is current")
    args = parser.parse_args(argv)
    operations = swagger_operations(args.specs)
    problems = unclassified(operations)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 2
    text = render_feature(operations)
    if args.check:
        current = FEATURE_FILE.read_text() if FEATURE_FILE.exists() else ""
        if current != text:
            print(f"{FEATURE_FILE} is stale: run python -m conformance.matrix", file=sys.stderr)
            return 1
        return 0
    FEATURE_FILE.write_text(text)
    print(f"wrote {FEATURE_FILE} ({len(PROBES)} operations x {len(IDENTITIES)} identities)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The v1beta1 REST surface (``/apis/v1beta1``): resource references, slash verbs, jobs."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.errors import invalid_input
from emulator.http import uploads
from emulator.http import wire_v1 as wire
from emulator.http.common import (
    body_of,
    credentials,
    guarded,
    json_response,
    list_args,
    query,
    query_enum,
    run_async,
)
from emulator.http.encoding import EncodedMemo, page_json
from emulator.http.routes_v2 import trigger_from
from emulator.http.routing import Router
from emulator.http.wire_v2 import page as page_of
from emulator.http.wire_v2 import run_fingerprint
from emulator.kfp import messages
from emulator.kfp.auth_check import AUTH_RESOURCES, AUTH_VERBS
from emulator.kfp.models import PipelineSource, Run, RunMetric
from emulator.kfp.pipelines import VersionRequest
from emulator.kfp.recurring import RecurringRunRequest
from emulator.kfp.runs import RunRequest
from emulator.kfp.server import KfpApiServer
from emulator.modes import MODE_HEADER

API = "v1beta1"
# The server's model.ResourceType of each v1 API type (api_converter.go:toModelResourceTypeV1):
# what its messages print when they format a reference key.
MODEL_RESOURCE_TYPES = {"NAMESPACE": "Namespace", "EXPERIMENT": "Experiment",
                        "PIPELINE": "pipeline", "PIPELINE_VERSION": "PipelineVersion",
                        "JOB": "Job"}
PREFIX = "/apis/v1beta1"


def first_reference(references: list[dict[str, Any]], kind: str,
                    relationship: str | None = None) -> str | None:
    for reference in references:
        key = reference.get("key") or {}
        if key.get("type") == kind and (relationship is None
                                        or reference.get("relationship") == relationship):
            return str(key.get("id", ""))
    return None


def source_from_v1(body: dict[str, Any]) -> PipelineSource:
    spec = body.get("pipeline_spec") or {}
    references = body.get("resource_references") or []
    config = spec.get("runtime_config") or {}
    return PipelineSource(
        workflow_manifest=spec.get("workflow_manifest", ""),
        pipeline_manifest=spec.get("pipeline_manifest", ""),
        pipeline_id=spec.get("pipeline_id", ""),
        pipeline_version_id=first_reference(references, "PIPELINE_VERSION") or "",
        pipeline_name=spec.get("pipeline_name", ""),
        parameters=[dict(p) for p in spec.get("parameters", [])],
        runtime_parameters=dict(config.get("parameters") or {}),
        pipeline_root=config.get("pipeline_root", ""),
    )


def run_list_scope(kind: str | None, ref_id: str, top: str) -> tuple[str, str]:
    """(namespace, experiment_id): runs and jobs are listed by an EXPERIMENT or NAMESPACE key;
    other known types scope nothing (so multi-user mode answers 400) and an UNKNOWN type is
    rejected outright."""
    if kind == "UNKNOWN_RESOURCE_TYPE":
        raise invalid_input(f"Unrecognized resource reference type {kind}").wrap(top)
    return (ref_id if kind == "NAMESPACE" else "", ref_id if kind == "EXPERIMENT" else "")


def register(router: Router, server: KfpApiServer) -> None:
    def add(method: str, path: str, handler: Any) -> None:
        router.add(method, PREFIX + path, run_async(handler))

    def reference_key(request: Request) -> tuple[str | None, str]:
        kind = query_enum(request, "resource_reference_key.type", messages.V1_RESOURCE_TYPE)
        ref_id = query(request, "resource_reference_key.id")
        if kind is None and "resource_reference_key.id" in request.query_params:
            kind = "UNKNOWN_RESOURCE_TYPE"
        return kind, ref_id

    def experiment_name(experiment_id: str) -> str:
        experiment = server.state.experiments.get(experiment_id)
        return experiment.name if experiment is not None else ""

    def latest_version(pipeline_id: str) -> Any:
        return server.state.versions.latest(pipeline_id)

    async def healthz(request: Request) -> Response:
        return json_response({"commit_sha": server.config.commit_sha,
                              "tag_name": server.config.tag_name,
                              "multi_user": server.config.multiuser},
                             headers={MODE_HEADER: server.mode.value})

    add("GET", "/healthz", healthz)

    # -- experiments ---------------------------------------------------------------------------

    experiments = server.experiments

    async def create_experiment(request: Request) -> Response:
        body = await body_of(request, messages.V1_EXPERIMENT)
        creds = credentials(request, server)
        namespace = first_reference(body.get("resource_references") or [], "NAMESPACE") or ""
        return await guarded(server, lambda: experiments.create(
            creds, body.get("name", ""), body.get("description", ""), namespace, api=API),
            wire.experiment)

    async def list_experiments(request: Request) -> Response:
        creds = credentials(request, server)
        kind, ref_id = reference_key(request)

        def operation() -> Any:
            if kind not in (None, "NAMESPACE"):
                raise invalid_input(
                    "Failed to list v1beta1 experiment due to invalid resource reference key. It "
                    "must be of type 'Namespace' and contain an existing or empty namespace, but "
                    f"you provided {ref_id} of type {MODEL_RESOURCE_TYPES.get(kind, kind)}"
                ).wrap("List v1beta1 experiments failed")
            return experiments.list(creds, ref_id, **list_args(request, API))
        return await guarded(server, operation,
                             lambda page: page_of("experiments", page, wire.experiment))

    def experiment_action(action: Any, render: Any = None) -> Any:
        async def handler(request: Request, id: str) -> Response:
            creds = credentials(request, server)
            if render is None:
                return await guarded(server, lambda: action(creds, id, api=API))
            return await guarded(server, lambda: action(creds, id, api=API), render)
        return handler

    add("POST", "/experiments", create_experiment)
    add("GET", "/experiments", list_experiments)
    add("GET", "/experiments/{id}", experiment_action(experiments.get, wire.experiment))
    add("DELETE", "/experiments/{id}", experiment_action(experiments.delete))
    add("POST", "/experiments/{id}:archive", experiment_action(experiments.archive))
    add("POST", "/experiments/{id}:unarchive", experiment_action(experiments.unarchive))

    # -- runs ----------------------------------------------------------------------------------

    runs = server.runs

    run_json: EncodedMemo[Run] = EncodedMemo(
        lambda r: wire.run(r, experiment_name(r.experiment_id)),
        lambda r: (*run_fingerprint(r), len(r.metrics), experiment_name(r.experiment_id)),
        lambda r: r.id, lambda: server.state.generation)

    def render_run_detail(run: Any) -> Any:
        return wire.run_detail(run, experiment_name(run.experiment_id),
                               server.state.executor.workflow_manifest(run))

    async def create_run(request: Request) -> Response:
        body = await body_of(request, messages.V1_RUN)
        creds = credentials(request, server)
        references = body.get("resource_references") or []
        spec = body.get("pipeline_spec") or {}
        run_request = RunRequest(
            name=body.get("name", "") or spec.get("pipeline_name", ""),
            experiment_id=first_reference(references, "EXPERIMENT") or "",
            source=source_from_v1(body),
            description=body.get("description", ""),
            service_account=body.get("service_account", ""),
            namespace=first_reference(references, "NAMESPACE") or "",
        )
        return await guarded(server, lambda: runs.create(creds, run_request, api=API),
                             render_run_detail)

    async def list_runs(request: Request) -> Response:
        creds = credentials(request, server)
        kind, ref_id = reference_key(request)

        def operation() -> Any:
            namespace, experiment_id = run_list_scope(kind, ref_id, "Failed to list v1beta1 runs")
            return runs.list(creds, namespace=namespace, experiment_id=experiment_id,
                             **list_args(request, API))
        return await guarded(server, operation, lambda page: page_json("runs", page, run_json))

    def run_action(action: Any, render: Any = None) -> Any:
        async def handler(request: Request, **params: str) -> Response:
            creds = credentials(request, server)
            run_id = params.get("run_id") or params["id"]
            if render is None:
                return await guarded(server, lambda: action(creds, run_id, api=API))
            return await guarded(server, lambda: action(creds, run_id, api=API), render)
        return handler

    async def report_metrics(request: Request, run_id: str) -> Response:
        body = await body_of(request, messages.V1_REPORT_RUN_METRICS)
        creds = credentials(request, server)
        metrics = [RunMetric(m.get("name", ""), m.get("node_id", ""),
                             float(m.get("number_value", 0.0)), m.get("format", "UNSPECIFIED"))
                   for m in body.get("metrics", [])]

        def render(results: Any) -> Any:
            if not results:
                return {}
            return {"results": [
                {k: v for k, v in (("metric_name", r.name), ("metric_node_id", r.node_id),
                                   ("status", r.status), ("message", r.message)) if v}
                for r in results]}
        return await guarded(server, lambda: runs.report_metrics(creds, run_id, metrics), render)

    add("POST", "/runs", create_run)
    add("GET", "/runs", list_runs)
    add("GET", "/runs/{run_id}", run_action(runs.get, render_run_detail))
    add("DELETE", "/runs/{id}", run_action(runs.delete))
    add("POST", "/runs/{id}:archive", run_action(runs.archive))
    add("POST", "/runs/{id}:unarchive", run_action(runs.unarchive))
    add("POST", "/runs/{run_id}/terminate", run_action(runs.terminate))
    add("POST", "/runs/{run_id}/retry", run_action(runs.retry))
    add("POST", "/runs/{run_id}:reportMetrics", report_metrics)

    # -- jobs ----------------------------------------------------------------------------------

    jobs = server.recurring_runs

    def render_job(job: Any) -> Any:
        return wire.job(job, experiment_name(job.experiment_id))

    async def create_job(request: Request) -> Response:
        body = await body_of(request, messages.V1_JOB)
        creds = credentials(request, server)
        references = body.get("resource_references") or []
        job_request = RecurringRunRequest(
            name=body.get("name", ""),
            experiment_id=first_reference(references, "EXPERIMENT") or "",
            source=source_from_v1(body),
            trigger=trigger_from(body.get("trigger", {})),
            description=body.get("description", ""),
            service_account=body.get("service_account", ""),
            max_concurrency=int(body.get("max_concurrency", 1) or 1),
            no_catchup=body.get("no_catchup", False),
            enabled=body.get("enabled", False),
            namespace=first_reference(references, "NAMESPACE") or "",
        )
        return await guarded(server, lambda: jobs.create(creds, job_request, api=API),
                             render_job)

    async def list_jobs(request: Request) -> Response:
        creds = credentials(request, server)
        kind, ref_id = reference_key(request)

        def operation() -> Any:
            namespace, experiment_id = run_list_scope(kind, ref_id, "Failed to list jobs")
            return jobs.list(creds, namespace=namespace, experiment_id=experiment_id,
                             **list_args(request, API))
        return await guarded(server, operation,
                             lambda page: page_of("jobs", page, render_job))

    def job_action(action: Any, render: Any = None) -> Any:
        async def handler(request: Request, id: str) -> Response:
            creds = credentials(request, server)
            if render is None:
                return await guarded(server, lambda: action(creds, id, api=API))
            return await guarded(server, lambda: action(creds, id, api=API), render)
        return handler

    add("POST", "/jobs", create_job)
    add("GET", "/jobs", list_jobs)
    add("GET", "/jobs/{id}", job_action(jobs.get, render_job))
    add("DELETE", "/jobs/{id}", job_action(jobs.delete))
    add("POST", "/jobs/{id}/enable", job_action(jobs.enable))
    add("POST", "/jobs/{id}/disable", job_action(jobs.disable))

    # -- pipelines and versions ----------------------------------------------------------------

    pipelines = server.pipelines

    def render_pipeline(pipeline: Any) -> Any:
        return wire.pipeline(pipeline, latest_version(pipeline.id))

    async def create_pipeline(request: Request) -> Response:
        body = await body_of(request, messages.V1_PIPELINE)
        creds = credentials(request, server)
        namespace = first_reference(body.get("resource_references") or [], "NAMESPACE") or ""
        url = (body.get("url") or {}).get("pipeline_url", "")
        version = VersionRequest(name=body.get("name", ""), description=body.get("description",
                                                                                 ""),
                                 package_url=url)
        return await guarded(server, lambda: pipelines.create(
            creds, name=body.get("name", ""), description=body.get("description", ""),
            namespace=namespace, version=version, api=API)[0], render_pipeline)

    async def list_pipelines(request: Request) -> Response:
        creds = credentials(request, server)
        kind, ref_id = reference_key(request)

        def operation() -> Any:
            if kind not in (None, "NAMESPACE"):
                raise invalid_input(
                    "Failed to list pipelines (v1beta1) due to invalid resource references for "
                    f"pipelines: &{{{MODEL_RESOURCE_TYPES.get(kind, kind)} {ref_id}}}"
                ).wrap("Failed to list v1beta1 pipelines")
            return pipelines.list(creds, ref_id, **list_args(request, API))
        return await guarded(server, operation,
                             lambda page: page_of("pipelines", page, render_pipeline))

    async def get_pipeline(request: Request, id: str) -> Response:
        creds = credentials(request, server)
        return await guarded(server, lambda: pipelines.get(creds, id, api=API), render_pipeline)

    async def get_pipeline_by_name(request: Request, namespace: str, name: str) -> Response:
        creds = credentials(request, server)
        return await guarded(server, lambda: pipelines.get_by_name(creds, name, namespace,
                                                                   api=API), render_pipeline)

    async def delete_pipeline(request: Request, id: str) -> Response:
        creds = credentials(request, server)
        # v1 DeletePipeline removes the versions with the pipeline.
        return await guarded(server, lambda: pipelines.delete(creds, id, cascade=True, api=API))

    async def pipeline_template(request: Request, id: str) -> Response:
        creds = credentials(request, server)
        return await guarded(server, lambda: pipelines.template(creds, pipeline_id=id),
                             lambda text: {"template": text} if text else {})

    async def set_default_version(request: Request, pipeline_id: str,
                                  version_id: str) -> Response:
        creds = credentials(request, server)
        return await guarded(server, lambda: pipelines.set_default_version(
            creds, pipeline_id, version_id))

    add("POST", "/pipelines", create_pipeline)
    add("GET", "/pipelines", list_pipelines)
    add("POST", "/pipelines/upload", uploads.pipeline_handler(server, render_pipeline))
    add("POST", "/pipelines/upload_version", uploads.version_handler(server, wire.pipeline_version))
    add("GET", "/pipelines/{id}", get_pipeline)
    add("DELETE", "/pipelines/{id}", delete_pipeline)
    add("GET", "/pipelines/{id}/templates", pipeline_template)
    add("POST", "/pipelines/{pipeline_id}/default_version/{version_id}", set_default_version)
    add("GET", "/namespaces/{namespace}/pipelines/{name}", get_pipeline_by_name)

    async def create_version(request: Request) -> Response:
        body = await body_of(request, messages.V1_PIPELINE_VERSION)
        creds = credentials(request, server)
        pipeline_id = first_reference(body.get("resource_references") or [], "PIPELINE",
                                      "OWNER")
        package = (body.get("package_url") or {}).get("pipeline_url", "")
        version = VersionRequest(name=body.get("name", ""),
                                 description=body.get("description", ""), package_url=package,
                                 code_source_url=body.get("code_source_url", ""))

        def operation() -> Any:
            if pipeline_id is None:
                # The real handler returns a nil error and a nil object: an empty 200.
                return None
            return pipelines.create_version(creds, pipeline_id, version, api=API)
        return await guarded(server, operation,
                             lambda v: wire.pipeline_version(v) if v is not None else {})

    async def list_versions(request: Request) -> Response:
        creds = credentials(request, server)
        pipeline_id = query(request, "resource_key.id")

        def operation() -> Any:
            if not pipeline_id:
                raise invalid_input("Failed to list pipeline versions (v1beta1) due to missing "
                                    "pipeline id").wrap("Failed to list v1beta1 pipeline "
                                                        "versions")
            return pipelines.list_versions(creds, pipeline_id, **list_args(request, API))
        return await guarded(server, operation,
                             lambda page: page_of("versions", page, wire.pipeline_version))

    async def get_version(request: Request, version_id: str) -> Response:
        creds = credentials(request, server)
        return await guarded(server, lambda: pipelines.get_version(creds, version_id, api=API),
                             wire.pipeline_version)

    async def delete_version(request: Request, version_id: str) -> Response:
        creds = credentials(request, server)
        return await guarded(server, lambda: pipelines.delete_version(creds, version_id,
                                                                      api=API))

    async def version_template(request: Request, version_id: str) -> Response:
        creds = credentials(request, server)
        return await guarded(server, lambda: pipelines.template(creds, version_id=version_id),
                             lambda text: {"template": text} if text else {})

    add("POST", "/pipeline_versions", create_version)
    add("GET", "/pipeline_versions", list_versions)
    add("GET", "/pipeline_versions/{version_id}", get_version)
    add("DELETE", "/pipeline_versions/{version_id}", delete_version)
    add("GET", "/pipeline_versions/{version_id}/templates", version_template)

    # -- auth (used by the UI) -----------------------------------------------------------------

    async def authorize(request: Request) -> Response:
        creds = credentials(request, server)
        namespace = query(request, "namespace")
        resources = query_enum(request, "resources", AUTH_RESOURCES) or AUTH_RESOURCES.values[0]
        verb = query_enum(request, "verb", AUTH_VERBS) or AUTH_VERBS.values[0]
        return await guarded(server, lambda: server.authorize_viewers(creds, namespace,
                                                                      resources, verb))

    add("GET", "/auth", authorize)


"""The v2beta1 REST surface (``/apis/v2beta1``) of the emulated API server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.errors import invalid_input
from emulator.http import uploads
from emulator.http import wire_v2 as wire
from emulator.http.common import (
    body_of,
    credentials,
    guarded,
    json_response,
    list_args,
    not_found_response,
    query,
    query_bool,
    run_async,
)
from emulator.http.encoding import EncodedMemo, PageMemo, RawJSON, page_json
from emulator.http.routing import Router
from emulator.kfp import messages
from emulator.kfp.listing import Page
from emulator.kfp.models import ChangeCounter, PipelineSource, Run, Trigger
from emulator.kfp.pipelines import VersionRequest
from emulator.kfp.recurring import RecurringRunRequest
from emulator.kfp.runs import RunRequest
from emulator.kfp.server import KfpApiServer
from emulator.modes import MODE_HEADER

API = "v2beta1"
PREFIX = "/apis/v2beta1"


def source_from_v2(body: dict[str, Any]) -> PipelineSource:
    reference = body.get("pipeline_version_reference") or {}
    config = body.get("runtime_config") or {}
    return PipelineSource(
        pipeline_spec=body.get("pipeline_spec"),
        pipeline_id=reference.get("pipeline_id", ""),
        pipeline_version_id=reference.get("pipeline_version_id", "")
        or body.get("pipeline_version_id", ""),
        runtime_parameters=dict(config.get("parameters") or {}),
        pipeline_root=config.get("pipeline_root", ""),
    )


def trigger_from(body: dict[str, Any]) -> Trigger:
    if "cron_schedule" in body:
        cron = body["cron_schedule"]
        return Trigger(cron=cron.get("cron", "") or " ", start_time=cron.get("start_time", 0.0),
                       end_time=cron.get("end_time", 0.0))
    periodic = body.get("periodic_schedule", {})
    return Trigger(interval_seconds=int(periodic.get("interval_second", 0)),
                   start_time=periodic.get("start_time", 0.0),
                   end_time=periodic.get("end_time", 0.0))


def register(router: Router, server: KfpApiServer) -> None:
    def add(method: str, path: str, handler: Any) -> None:
        router.add(method, PREFIX + path, run_async(handler))

    # -- healthz -------------------------------------------------------------------------------

    async def healthz(request: Request) -> Response:
        return json_response({"commit_sha": server.config.commit_sha,
                              "tag_name": server.config.tag_name,
                              "multi_user": server.config.multiuser,
                              "pipeline_store": "database"},
                             headers={MODE_HEADER: server.mode.value})

    add("GET", "/healthz", healthz)

    # -- experiments ---------------------------------------------------------------------------

    experiments = server.experiments

    async def create_experiment(request: Request) -> Response:
        body = await body_of(request, messages.V2_EXPERIMENT)
        creds = credentials(request, server)
        return await guarded(server, lambda: experiments.create(
            creds, body.get("display_name", ""), body.get("description", ""),
            body.get("namespace", "")), wire.experiment)

    async def list_experiments(request: Request) -> Response:
        creds = credentials(request, server)
        return await guarded(server, lambda: experiments.list(
            creds, query(request, "namespace"), **list_args(request, API)),
            lambda page: wire.page("experiments", page, wire.experiment))

    async def get_experiment(request: Request, experiment_id: str) -> Response:
        creds = credentials(request, server)
        return await guarded(server, lambda: experiments.get(creds, experiment_id),
                             wire.experiment)

    async def delete_experiment(request: Request, experiment_id: str) -> Response:
        creds = credentials(request, server)
        return await guarded(server, lambda: experiments.delete(creds, experiment_id))

    async def archive_experiment(request: Request, experiment_id: str) -> Response:
        creds = credentials(request, server)
        return await guarded(server, lambda: experiments.archive(creds, experiment_id))

    async def unarchive_experiment(request: Request, experiment_id: str) -> Response:
        creds = credentials(request, server)
        return await guarded(server, lambda: experiments.unarchive(creds, experiment_id))

    add("POST", "/experiments", create_experiment)
    add("GET", "/experiments", list_experiments)
    add("GET", "/experiments/{experiment_id}", get_experiment)
    add("DELETE", "/experiments/{experiment_id}", delete_experiment)
    add("POST", "/experiments/{experiment_id}:archive", archive_experiment)
    add("POST", "/experiments/{experiment_id}:unarchive", unarchive_experiment)

    # -- runs ----------------------------------------------------------------------------------

    runs = server.runs
    executor = server.state

    def run_with_details(r: Run) -> dict[str, Any]:
        return wire.run(r, executor.executor.run_details(r))

    def run_fingerprint(r: Run) -> tuple[Any, ...]:
        return (*wire.run_fingerprint(r), executor.executor.details_revision(r))

    run_json = EncodedMemo(run_with_details, run_fingerprint, lambda r: r.id,
                           lambda: server.state.generation)

    pages = PageMemo()

    def render_run(run: Run) -> RawJSON:
        return RawJSON(run_json(run, remember=False))

    async def create_run(request: Request) -> Response:
        body = await body_of(request, messages.V2_RUN)
        creds = credentials(request, server)
        run_request = RunRequest(
            name=body.get("display_name", ""),
            experiment_id=body.get("experiment_id", ""),
            source=source_from_v2(body),
            description=body.get("description", ""),
            service_account=body.get("service_account", ""),
        )
        return await guarded(server, lambda: runs.create(creds, run_request), render_run)

    async def list_runs(request: Request) -> Response:
        creds = credentials(request, server)

        def present(compute: Callable[[], Page[Run]]) -> RawJSON:
            # A page is the same for every caller allowed to list it, so once the list (and its
            # authorization) succeeded, a page encoded while no run changed is sent again.
            key = (request.scope["query_string"], ChangeCounter.value,
                   server.state.runs.revision, server.state.generation)
            return pages.get(key, lambda: page_json("runs", compute(), run_json))
        return await guarded(server, lambda: runs.list(
            creds, namespace=query(request, "namespace"),
            experiment_id=query(request, "experiment_id"), present=present,
            **list_args(request, API)), lambda response: response)

    async def get_run(request: Request, run_id: str) -> Response:
        creds = credentials(request, server)
        return await guarded(server, lambda: runs.get(creds, run_id), render_run)

    def run_action(action: Any) -> Any:
        async def handler(request: Request, run_id: str) -> Response:
            creds = credentials(request, server)
            return await guarded(server, lambda: action(creds, run_id))
        handler.__name__ = f"run_{action.__name__}"
        return handler

    add("POST", "/runs", create_run)
    add("GET", "/runs", list_runs)
    add("GET", "/runs/{run_id}", get_run)
    add("DELETE", "/runs/{run_id}", run_action(runs.delete))
    add("POST", "/runs/{run_id}:archive", run_action(runs.archive))
    add("POST", "/runs/{run_id}:unarchive", run_action(runs.unarchive))
    add("POST", "/runs/{run_id}:terminate", run_action(runs.terminate))
    add("POST", "/runs/{run_id}:retry", run_action(runs.retry))

    # -- recurring runs ------------------------------------------------------------------------

    recurring = server.recurring_runs

    async def create_recurring_run(request: Request) -> Response:
        body = await body_of(request, messages.V2_RECURRING_RUN)
        creds = credentials(request, server)
        recurring_request = RecurringRunRequest(
            name=body.get("display_name", ""),
            experiment_id=body.get("experiment_id", ""),
            source=source_from_v2(body),
            trigger=trigger_from(body.get("trigger", {})),
            description=body.get("description", ""),
            service_account=body.get("service_account", ""),
            max_concurrency=int(body.get("max_concurrency", 1) or 1),
            no_catchup=body.get("no_catchup", False),
            enabled=body.get("mode", "ENABLE") != "DISABLE",
            namespace=body.get("namespace", ""),
        )
        return await guarded(server, lambda: recurring.create(creds, recurring_request),
                             wire.recurring_run)

    async def list_recurring_runs(request: Request) -> Response:
        creds = credentials(request, server)
        return await guarded(server, lambda: recurring.list(
            creds, namespace=query(request, "namespace"),
            experiment_id=query(request, "experiment_id"), **list_args(request, API)),
            lambda page: wire.page("recurringRuns", page, wire.recurring_run))

    async def get_recurring_run(request: Request, recurring_run_id: str) -> Response:
        creds = credentials(request, server)
        return await guarded(server, lambda: recurring.get(creds, recurring_run_id),
                             wire.recurring_run)

    def recurring_action(action: Any) -> Any:
        async def handler(request: Request, recurring_run_id: str) -> Response:
            creds = credentials(request, server)
            return await guarded(server, lambda: action(creds, recurring_run_id))
        handler.__name__ = f"recurring_{action.__name__}"
        return handler

    add("POST", "/recurringruns", create_recurring_run)
    add("GET", "/recurringruns", list_recurring_runs)
    add("GET", "/recurringruns/{recurring_run_id}", get_recurring_run)
    add("DELETE", "/recurringruns/{recurring_run_id}", recurring_action(recurring.delete))
    add("POST", "/recurringruns/{recurring_run_id}:enable", recurring_action(recurring.enable))
    add("POST", "/recurringruns/{recurring_run_id}:disable", recurring_action(recurring.disable))

    # -- pipelines -----------------------------------------------------------------------------

    pipelines = server.pipelines

    async def create_pipeline(request: Request) -> Response:
        body = await body_of(request, messages.V2_PIPELINE)
        creds = credentials(request, server)
        return await guarded(server, lambda: pipelines.create(
            creds, name=body.get("name", ""), display_name=body.get("display_name", ""),
            description=body.get("description", ""), namespace=body.get("namespace", ""),
            tags=body.get("tags"))[0], wire.pipeline)

    async def create_pipeline_and_version(request: Request) -> Response:
        body = await body_of(request, messages.V2_CREATE_PIPELINE_AND_VERSION)
        creds = credentials(request, server)
        pipeline = body.get("pipeline") or {}
        version = _version_request(body.get("pipeline_version") or {})

        def operation() -> Any:
            if not body.get("pipeline"):
                raise invalid_input("Failed to create a pipeline and a pipeline version due to "
                                    "missing pipeline")
            return pipelines.create(
                creds, name=pipeline.get("name", ""),
                display_name=pipeline.get("display_name", ""),
                description=pipeline.get("description", ""),
                namespace=pipeline.get("namespace", ""), tags=pipeline.get("tags"),
                version=version)[0]
        return await guarded(server, operation, wire.pipeline)

    async def list_pipelines(request: Request) -> Response:
        creds = credentials(request, server)
        return await guarded(server, lambda: pipelines.list(
            creds, query(request, "namespace"), **list_args(request, API)),
            lambda page: wire.page("pipelines", page, wire.pipeline))

    async def get_pipeline(request: Request, pipeline_id: str) -> Response:
        creds = credentials(request, server)
        return await guarded(server, lambda: pipelines.get(creds, pipeline_id), wire.pipeline)

    async def get_pipeline_by_name(request: Request, name: str) -> Response:
        creds = credentials(request, server)
        return await guarded(server, lambda: pipelines.get_by_name(
            creds, name, query(request, "namespace")), wire.pipeline)

    async def update_pipeline(request: Request, pipeline_pipeline_id: str) -> Response:
        body = await body_of(request, messages.V2_PIPELINE)
        creds = credentials(request, server)
        return await guarded(server, lambda: pipelines.update(
            creds, pipeline_pipeline_id, body), wire.pipeline)

    async def delete_pipeline(request: Request, pipeline_id: str) -> Response:
        creds = credentials(request, server)
        cascade = query_bool(request, "cascade")
        return await guarded(server, lambda: pipelines.delete(creds, pipeline_id, cascade))

    add("POST", "/pipelines", create_pipeline)
    add("POST", "/pipelines/create", create_pipeline_and_version)
    add("POST", "/pipelines/upload", uploads.pipeline_handler(server, wire.pipeline))
    add("GET", "/pipelines", list_pipelines)
    add("GET", "/pipelines/names/{name}", get_pipeline_by_name)
    add("GET", "/pipelines/{pipeline_id}", get_pipeline)
    add("PATCH", "/pipelines/{pipeline.pipeline_id}", update_pipeline)
    add("DELETE", "/pipelines/{pipeline_id}", delete_pipeline)

    # -- pipeline versions ---------------------------------------------------------------------

    async def create_version(request: Request, pipeline_id: str) -> Response:
        body = await body_of(request, messages.V2_PIPELINE_VERSION)
        creds = credentials(request, server)

        def operation() -> Any:
            if not body.get("pipeline_id"):
                raise invalid_input("Failed to create a pipeline version due to missing pipeline "
                                    "id")
            return pipelines.create_version(creds, pipeline_id, _version_request(body))
        return await guarded(server, operation, wire.pipeline_version)

    async def list_versions(request: Request, pipeline_id: str) -> Response:
        creds = credentials(request, server)
        return await guarded(server, lambda: pipelines.list_versions(
            creds, pipeline_id, **list_args(request, API)),
            lambda page: wire.page("pipeline_versions", page, wire.pipeline_version))

    async def get_version(request: Request, pipeline_id: str,
                          pipeline_version_id: str) -> Response:
        creds = credentials(request, server)
        # The path pipeline_id is not cross-checked (upstream tests acknowledge this).
        return await guarded(server, lambda: pipelines.get_version(creds, pipeline_version_id),
                             wire.pipeline_version)

    async def delete_version(request: Request, pipeline_id: str,
                             pipeline_version_id: str) -> Response:
        creds = credentials(request, server)
        return await guarded(server, lambda: pipelines.delete_version(
            creds, pipeline_version_id))

    async def update_version(request: Request, pipeline_version_pipeline_id: str,
                             pipeline_version_pipeline_version_id: str) -> Response:
        body = await body_of(request, messages.V2_PIPELINE_VERSION)
        creds = credentials(request, server)
        return await guarded(server, lambda: pipelines.update_version(
            creds, pipeline_version_pipeline_version_id, body), wire.pipeline_version)

    add("POST", "/pipelines/upload_version", uploads.version_handler(server, wire.pipeline_version))
    add("POST", "/pipelines/{pipeline_id}/versions", create_version)
    add("GET", "/pipelines/{pipeline_id}/versions", list_versions)
    add("GET", "/pipelines/{pipeline_id}/versions/{pipeline_version_id}", get_version)
    add("DELETE", "/pipelines/{pipeline_id}/versions/{pipeline_version_id}", delete_version)
    add("PATCH", "/pipelines/{pipeline_version.pipeline_id}/versions/"
                 "{pipeline_version.pipeline_version_id}", update_version)

    # -- documented in the swagger but not registered by the real server -----------------------

    async def unregistered(request: Request, **_: str) -> Response:
        return not_found_response()

    add("GET", "/auth", unregistered)
    add("POST", "/visualizations/{namespace}", unregistered)


def _version_request(body: dict[str, Any]) -> VersionRequest:
    package = body.get("package_url") or {}
    return VersionRequest(
        name=body.get("name", ""),
        display_name=body.get("display_name", ""),
        description=body.get("description", ""),
        package_url=package.get("pipeline_url", ""),
        code_source_url=body.get("code_source_url", ""),
        tags=dict(body.get("tags") or {}),
    )


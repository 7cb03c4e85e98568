"""v1beta1 JSON: the legacy shapes with resource references (spec sections 7 and 8)."""

from __future__ import annotations

import json
from typing import Any

from emulator.clock import rfc3339
from emulator.http.wire_v2 import _put, trigger
from emulator.kfp.models import (
    V1_RUN_STATUS,
    Experiment,
    Pipeline,
    PipelineSource,
    PipelineVersion,
    RecurringRun,
    Run,
    RuntimeState,
    StorageState,
)

V1_STORAGE = {StorageState.AVAILABLE: "STORAGESTATE_AVAILABLE",
              StorageState.ARCHIVED: "STORAGESTATE_ARCHIVED"}


def reference(kind: str, ref_id: str, relationship: str, name: str = "") -> dict[str, Any]:
    key: dict[str, Any] = {"type": kind}
    _put(key, "id", ref_id)
    out: dict[str, Any] = {"key": key}
    _put(out, "name", name)
    out["relationship"] = relationship
    return out


def experiment(e: Experiment) -> dict[str, Any]:
    out: dict[str, Any] = {"id": e.id, "name": e.name}
    _put(out, "description", e.description)
    out["created_at"] = rfc3339(e.created_at)
    out["resource_references"] = [reference("NAMESPACE", e.namespace, "OWNER")]
    out["storage_state"] = V1_STORAGE[e.storage_state]
    return out


def _manifest_key(source: PipelineSource) -> str:
    """v2 IR travels as ``pipeline_manifest``, an Argo Workflow as ``workflow_manifest``."""
    spec = source.pipeline_spec
    v2 = spec is None or "pipelineInfo" in spec or isinstance(spec.get("pipeline_spec"), dict)
    return "pipeline_manifest" if v2 else "workflow_manifest"


def manifest_text(source: PipelineSource) -> str:
    if source.workflow_manifest or source.pipeline_manifest:
        return source.workflow_manifest or source.pipeline_manifest
    return json.dumps(source.pipeline_spec) if source.pipeline_spec is not None else ""


def pipeline_spec(source: PipelineSource) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _put(out, "pipeline_id", source.pipeline_id)
    _put(out, "pipeline_name", source.pipeline_name)
    if not source.pipeline_version_id:
        _put(out, _manifest_key(source), manifest_text(source))
    _put(out, "parameters", source.parameters)
    config: dict[str, Any] = {}
    _put(config, "parameters", source.runtime_parameters)
    _put(config, "pipeline_root", source.pipeline_root)
    if config:
        out["runtime_config"] = config
    return out


def _source_references(source: PipelineSource) -> list[dict[str, Any]]:
    if source.pipeline_version_id:
        return [reference("PIPELINE_VERSION", source.pipeline_version_id, "CREATOR",
                          source.pipeline_name)]
    return []


def run(r: Run, experiment_name: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"id": r.id, "name": r.name}
    if r.storage_state != StorageState.AVAILABLE:  # AVAILABLE is the v1 enum's zero value
        out["storage_state"] = V1_STORAGE[r.storage_state]
    _put(out, "description", r.description)
    out["pipeline_spec"] = pipeline_spec(r.source)
    references = [reference("EXPERIMENT", r.experiment_id, "OWNER", experiment_name)]
    if r.namespace:
        references.append(reference("NAMESPACE", r.namespace, "OWNER"))
    if r.recurring_run_id:
        references.append(reference("JOB", r.recurring_run_id, "CREATOR"))
    references.extend(_source_references(r.source))
    out["resource_references"] = references
    _put(out, "service_account", r.service_account)
    out["created_at"] = rfc3339(r.created_at)
    out["scheduled_at"] = rfc3339(r.scheduled_at)
    out["finished_at"] = rfc3339(r.finished_at)
    out["status"] = V1_RUN_STATUS[r.state]
    if r.state == RuntimeState.FAILED:
        _put(out, "error", r.error_message)
    if r.metrics:
        out["metrics"] = [_metric(m) for m in r.metrics]
    return out


def _metric(m: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": m.name, "node_id": m.node_id, "number_value": m.number_value}
    if m.format != "UNSPECIFIED":
        out["format"] = m.format
    return out


def run_detail(r: Run, experiment_name: str = "",
               workflow: dict[str, Any] | None = None) -> dict[str, Any]:
    """``workflow``: the run's Argo Workflow, served as ``workflow_manifest`` (the runtime
    manifest the persistence agent stores) once it exists."""
    runtime: dict[str, Any] = {}
    _put(runtime, _manifest_key(r.source), manifest_text(r.source))
    if workflow is not None:
        runtime["workflow_manifest"] = json.dumps(workflow, separators=(",", ":"))
    return {"run": run(r, experiment_name), "pipeline_runtime": runtime}


def job(j: RecurringRun, experiment_name: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"id": j.id, "name": j.name}
    _put(out, "description", j.description)
    out["pipeline_spec"] = pipeline_spec(j.source)
    references = [reference("EXPERIMENT", j.experiment_id, "OWNER", experiment_name)]
    if j.namespace:
        references.append(reference("NAMESPACE", j.namespace, "OWNER"))
    references.extend(_source_references(j.source))
    out["resource_references"] = references
    _put(out, "service_account", j.service_account)
    out["max_concurrency"] = str(j.max_concurrency)
    out["trigger"] = trigger(j.trigger)
    out["mode"] = "ENABLED" if j.enabled else "DISABLED"
    out["created_at"] = rfc3339(j.created_at)
    out["updated_at"] = rfc3339(j.updated_at)
    out["status"] = "Enabled" if j.enabled else "Disabled"
    _put(out, "enabled", j.enabled)
    _put(out, "no_catchup", j.no_catchup)
    return out


def pipeline_version(v: PipelineVersion) -> dict[str, Any]:
    out: dict[str, Any] = {"id": v.id, "name": v.name, "created_at": rfc3339(v.created_at)}
    _put(out, "parameters", v.parameters)
    _put(out, "code_source_url", v.code_source_url)
    if v.package_url:
        out["package_url"] = {"pipeline_url": v.package_url}
    out["resource_references"] = [reference("PIPELINE", v.pipeline_id, "OWNER")]
    _put(out, "description", v.description)
    return out


def pipeline(p: Pipeline, latest: PipelineVersion | None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": p.id, "created_at": rfc3339(p.created_at), "name": p.name}
    _put(out, "description", p.description)
    if latest is not None:
        _put(out, "parameters", latest.parameters)
        if latest.package_url:
            out["url"] = {"pipeline_url": latest.package_url}
        out["default_version"] = pipeline_version(latest)
    if p.namespace:
        out["resource_references"] = [reference("NAMESPACE", p.namespace, "OWNER")]
    return out

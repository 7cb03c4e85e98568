"""v2beta1 JSON: protojson with proto field names, zero values omitted (spec section 8)."""

from __future__ import annotations

from typing import Any

from emulator.clock import rfc3339
from emulator.errors import GrpcCode
from emulator.kfp.listing import Page
from emulator.kfp.models import (
    Experiment,
    Pipeline,
    PipelineSource,
    PipelineVersion,
    RecurringRun,
    Run,
    RuntimeState,
    Trigger,
)


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    if value not in ("", None, [], {}, False, 0):
        out[key] = value


def experiment(e: Experiment) -> dict[str, Any]:
    out: dict[str, Any] = {"experiment_id": e.id, "display_name": e.name}
    _put(out, "description", e.description)
    out["created_at"] = rfc3339(e.created_at)
    _put(out, "namespace", e.namespace)
    out["storage_state"] = e.storage_state.value
    out["last_run_created_at"] = rfc3339(e.last_run_created_at)
    return out


def _source(out: dict[str, Any], source: PipelineSource) -> None:
    """The oneof pipeline_source: a version reference wins over an inline spec."""
    if source.pipeline_version_id:
        out["pipeline_version_reference"] = {"pipeline_id": source.pipeline_id,
                                             "pipeline_version_id": source.pipeline_version_id}
    elif source.pipeline_spec is not None:
        out["pipeline_spec"] = source.pipeline_spec
    config: dict[str, Any] = {}
    _put(config, "parameters", source.runtime_parameters)
    _put(config, "pipeline_root", source.pipeline_root)
    if config:
        out["runtime_config"] = config


def run(r: Run, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """``details``: the executor's ``RunDetails`` (task details), once tasks ran."""
    out: dict[str, Any] = {"experiment_id": r.experiment_id, "run_id": r.id,
                           "display_name": r.name, "storage_state": r.storage_state.value}
    _put(out, "description", r.description)
    _source(out, r.source)
    _put(out, "service_account", r.service_account)
    out["created_at"] = rfc3339(r.created_at)
    out["scheduled_at"] = rfc3339(r.scheduled_at)
    out["finished_at"] = rfc3339(r.finished_at)
    out["state"] = r.state.value
    if r.state == RuntimeState.FAILED and r.error_message:
        out["error"] = {"code": int(GrpcCode.UNKNOWN), "message": r.error_message}
    out["run_details"] = details or {}
    _put(out, "recurring_run_id", r.recurring_run_id)
    if r.state_history:
        out["state_history"] = [{"update_time": rfc3339(s.at), "state": s.state.value}
                                for s in r.state_history]
    return out


def run_fingerprint(r: Run) -> tuple[Any, ...]:
    """Everything about a run that can change after it was created."""
    return (r.state, r.storage_state, r.finished_at, len(r.state_history), r.error_message)


def trigger(t: Trigger) -> dict[str, Any]:
    schedule: dict[str, Any] = {}
    if t.start_time:
        schedule["start_time"] = rfc3339(t.start_time)
    if t.end_time:
        schedule["end_time"] = rfc3339(t.end_time)
    if t.is_cron:
        schedule["cron"] = t.cron
        return {"cron_schedule": schedule}
    schedule["interval_second"] = str(t.interval_seconds)
    return {"periodic_schedule": schedule}


def recurring_run(j: RecurringRun) -> dict[str, Any]:
    out: dict[str, Any] = {"recurring_run_id": j.id, "display_name": j.name}
    _put(out, "description", j.description)
    _source(out, j.source)
    _put(out, "service_account", j.service_account)
    out["max_concurrency"] = str(j.max_concurrency)
    out["trigger"] = trigger(j.trigger)
    out["mode"] = "ENABLE" if j.enabled else "DISABLE"
    out["created_at"] = rfc3339(j.created_at)
    out["updated_at"] = rfc3339(j.updated_at)
    out["status"] = "ENABLED" if j.enabled else "DISABLED"
    _put(out, "no_catchup", j.no_catchup)
    _put(out, "namespace", j.namespace)
    _put(out, "experiment_id", j.experiment_id)
    return out


def pipeline(p: Pipeline) -> dict[str, Any]:
    out: dict[str, Any] = {"pipeline_id": p.id, "display_name": p.display_name or p.name,
                           "name": p.name}
    _put(out, "description", p.description)
    out["created_at"] = rfc3339(p.created_at)
    _put(out, "namespace", p.namespace)
    _put(out, "tags", p.tags)
    return out


def pipeline_version(v: PipelineVersion) -> dict[str, Any]:
    out: dict[str, Any] = {"pipeline_id": v.pipeline_id, "pipeline_version_id": v.id,
                           "display_name": v.display_name or v.name, "name": v.name}
    _put(out, "description", v.description)
    out["created_at"] = rfc3339(v.created_at)
    if v.package_url:
        out["package_url"] = {"pipeline_url": v.package_url}
    _put(out, "code_source_url", v.code_source_url)
    if v.pipeline_spec is not None:
        out["pipeline_spec"] = v.pipeline_spec
    _put(out, "tags", v.tags)
    return out


def page(items_key: str, result: Page[Any], convert: Any) -> dict[str, Any]:
    """An empty page is ``{}``: no list key, no total_size (EmitUnpopulated=false)."""
    out: dict[str, Any] = {}
    if result.items:
        out[items_key] = [convert(item) for item in result.items]
    _put(out, "total_size", result.total_size)
    _put(out, "next_page_token", result.next_page_token)
    return out

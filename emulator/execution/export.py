"""The engine's records as snapshot JSON (``workloads`` of ``GET /_emulator/state``) and back.

A Workflow and its Pods are rendered on read from a :class:`RunExecution`, so the record is
what a snapshot keeps: its fields, and per task its pod's fields.  The task graph is not
exported: it is read again from the run's pipeline spec, which the snapshot's ``kfp`` part
holds, and the tasks are matched to it by name.  A pod's log text rides along for whoever reads
the snapshot; it is rendered from the record and is not read back.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from emulator.execution.records import NO_PARAMETERS, ArtifactOutput, RunExecution, TaskRun
from emulator.execution.spec import PipelineGraph
from emulator.snapshot_fields import count as _count
from emulator.snapshot_fields import flag as _flag
from emulator.snapshot_fields import number as _number
from emulator.snapshot_fields import text as _text

_RECORD_TEXT = ("run_id", "run_name", "namespace", "workflow_name", "generate_name", "uid",
                "service_account", "pipeline_root", "recurring_run_id", "phase", "message")
_RECORD_TIMES = ("created_at", "started_at", "finished_at")
_RECORD_COUNTS = ("resource_version", "revision", "pipeline_context_id", "run_context_id")
_TASK_TEXT = ("pod_name", "pod_uid", "phase", "message", "mount_failure", "log_key")
_TASK_TIMES = ("pod_created_at", "started_at", "finished_at")


def record_json(record: RunExecution, log: Callable[[TaskRun], str]) -> dict[str, Any]:
    out: dict[str, Any] = {name: getattr(record, name) for name in _RECORD_TEXT}
    out.update((name, getattr(record, name)) for name in _RECORD_TIMES)
    out.update((name, getattr(record, name)) for name in _RECORD_COUNTS)
    out["terminating"] = record.terminating
    out["refused"] = list(record.refused) if record.refused is not None else None
    out["tasks"] = [_task_json(task, log) for task in record.tasks]
    return out


def _task_json(task: TaskRun, log: Callable[[TaskRun], str]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": task.spec.name}
    out.update((name, getattr(task, name)) for name in _TASK_TEXT)
    out.update((name, getattr(task, name)) for name in _TASK_TIMES)
    out["pod_deleted"] = task.pod_deleted
    out["waiting"] = list(task.waiting) if task.waiting is not None else None
    out["artifacts"] = [{"name": a.name, "schema_title": a.schema_title, "uri": a.uri,
                         "bucket": a.bucket, "key": a.key, "artifact_id": a.artifact_id}
                        for a in task.artifacts]
    out["parameters"] = dict(task.parameters)
    out["execution_id"] = task.execution_id
    out["failed_pods"] = list(task.failed_pods)
    if task.has_pod:
        out["log"] = log(task)
    return out


def record_from_json(data: dict[str, Any], graph: PipelineGraph) -> RunExecution:
    """The record ``data`` describes, its tasks bound to ``graph``'s (``ValueError`` when the
    task names differ: the snapshot's run spec does not match its workflow)."""
    fields: dict[str, Any] = {name: _text(data[name]) for name in _RECORD_TEXT}
    fields.update((name, _number(data[name])) for name in _RECORD_TIMES)
    fields.update((name, _count(data[name])) for name in _RECORD_COUNTS)
    record = RunExecution(graph=graph, terminating=_flag(data["terminating"]),
                          refused=_pair(data["refused"]), **fields)
    tasks = list(data["tasks"])
    names = [_text(t["name"]) for t in tasks]
    if names != [spec.name for spec in graph.tasks]:
        raise ValueError(f"workflow {record.workflow_name}: tasks {names} do not match the "
                         f"run's pipeline ({[spec.name for spec in graph.tasks]})")
    record.tasks = [_task_from(entry, spec, record)
                    for entry, spec in zip(tasks, graph.tasks, strict=True)]
    return record


def _task_from(data: dict[str, Any], spec: Any, record: RunExecution) -> TaskRun:
    fields: dict[str, Any] = {name: _text(data[name]) for name in _TASK_TEXT}
    fields.update((name, _number(data[name])) for name in _TASK_TIMES)
    parameters = copy.deepcopy(dict(data["parameters"]))
    return TaskRun(
        spec=spec, run_id=record.run_id, workflow_name=record.workflow_name,
        pod_deleted=_flag(data["pod_deleted"]), waiting=_pair(data["waiting"]),
        artifacts=tuple(ArtifactOutput(_text(a["name"]), _text(a["schema_title"]),
                                       _text(a["uri"]), _text(a["bucket"]), _text(a["key"]),
                                       _count(a["artifact_id"]))
                        for a in data["artifacts"]),
        parameters=parameters or NO_PARAMETERS,
        execution_id=_count(data["execution_id"]),
        failed_pods=tuple(_text(p) for p in data["failed_pods"]), **fields)


def _pair(value: Any) -> tuple[str, str] | None:
    if value is None:
        return None
    first, second = value
    return _text(first), _text(second)

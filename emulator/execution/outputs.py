"""A task's simulated results: believable bytes for artifacts, typed parameter values, logs.

Everything is derived from (run, task, output) so the same run always produces the same
content, and the content names what produced it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from typing import Any

from emulator.execution.spec import OutputArtifact, OutputParameter, TaskSpec

METRICS = "system.Metrics"
CLASSIFICATION_METRICS = "system.ClassificationMetrics"


def _fraction(*parts: str) -> float:
    """A stable number in [0.5, 1.0) for a (run, task, name)."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return round(0.5 + int.from_bytes(digest[:4], "big") / 2**33, 4)


def metric_values(run_id: str, task: TaskSpec, artifact: OutputArtifact) -> dict[str, float]:
    """The scalar metrics a ``system.Metrics`` output logs (also its MLMD custom properties)."""
    return {"accuracy": _fraction(run_id, task.name, artifact.name, "accuracy"),
            "loss": round(1 - _fraction(run_id, task.name, artifact.name, "loss"), 4)}


def artifact_body(run_id: str, task: TaskSpec, artifact: OutputArtifact) -> tuple[bytes, str]:
    """(bytes, content type) of one output artifact."""
    body: dict[str, Any]
    if artifact.schema_title == METRICS:
        body = {"metrics": [{"name": name, "numberValue": value} for name, value
                            in metric_values(run_id, task, artifact).items()]}
        return json.dumps(body, indent=2).encode(), "application/json"
    if artifact.schema_title == CLASSIFICATION_METRICS:
        hit = int(_fraction(run_id, task.name, artifact.name) * 100)
        body = {"confusionMatrix": {"annotationSpecs": [{"displayName": "yes"},
                                                        {"displayName": "no"}],
                                    "rows": [{"row": [hit, 100 - hit]},
                                             {"row": [100 - hit, hit]}]}}
        return json.dumps(body, indent=2).encode(), "application/json"
    if artifact.schema_title == "system.Model":
        body = {"model": artifact.name, "task": task.name, "run": run_id,
                "weights": [_fraction(run_id, task.name, str(i)) for i in range(4)]}
        return json.dumps(body).encode(), "application/json"
    if artifact.schema_title == "system.Dataset":
        rows = [f"{i},{_fraction(run_id, task.name, artifact.name, str(i))}" for i in range(5)]
        return (f"# {artifact.name}: written by task {task.name} of run {run_id}\nid,value\n"
                + "\n".join(rows) + "\n").encode(), "text/csv"
    if artifact.schema_title in ("system.HTML",):
        return (f"<html><body><h1>{artifact.name}</h1><p>written by task {task.name} of run "
                f"{run_id}</p></body></html>\n").encode(), "text/html"
    return (f"{artifact.name}: written by task {task.name} of run {run_id}\n").encode(), \
        "text/plain"


def parameter_value(run_id: str, task: TaskSpec, parameter: OutputParameter) -> Any:
    """A value of the declared type (PipelineSpec ParameterType)."""
    fraction = _fraction(run_id, task.name, parameter.name)
    kind = parameter.type
    if kind == "NUMBER_INTEGER":
        return int(fraction * 100)
    if kind == "NUMBER_DOUBLE":
        return fraction
    if kind == "BOOLEAN":
        return fraction >= 0.75
    if kind == "LIST":
        return [task.name, parameter.name, int(fraction * 100)]
    if kind == "STRUCT":
        return {"task": task.name, "output": parameter.name, "score": fraction}
    return f"{parameter.name} of {task.name}"


def argo_value(value: Any) -> str:
    """Argo keeps every parameter value as a string (JSON for non-strings)."""
    return value if isinstance(value, str) else json.dumps(value)


def argo_tgz(name: str, data: bytes, mtime: float) -> bytes:
    """An Argo output artifact: one file, tarred and gzipped (``<name>.tgz``)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = int(mtime)
        archive.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue(), mtime=int(mtime))

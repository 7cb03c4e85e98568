"""Where a task's results go: the object store (KFP's key layout) and ML Metadata.

Key layout (docs/upstream/kfp-data-plane.md 2.1):

- v2 artifacts: ``<pipeline root>/<pipeline name>/<run id>/<task name>/<uuid>/<output name>``,
  the root being the run's ``pipeline_root``, else the IR's ``defaultPipelineRoot``, else the
  namespace's ``kfp-launcher`` ConfigMap (``minio://mlpipeline/private-artifacts/<ns>/v2/
  artifacts`` in multi-user mode, KFP >= 2.15), else ``minio://mlpipeline/v2/artifacts``;
- Argo (v1 outputs and every pod's ``main.log``): ``private-artifacts/<ns>/<workflow>/<Y>/<m>/
  <d>/<pod>/<name>`` (the workflow controller's keyFormat since KFP 2.15).

ML Metadata (``backend/src/v2/metadata/client.go``): contexts ``system.Pipeline`` (pipeline
name) and ``system.PipelineRun`` (run id; ``namespace``, ``resource_name``, ``pipeline_root``),
one ``system.ContainerExecution`` per task, output artifacts with OUTPUT events.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emulator.clock import rfc3339
from emulator.execution import outputs
from emulator.execution.records import ArtifactOutput, RunExecution, TaskRun
from emulator.execution.spec import OutputArtifact, TaskSpec
from emulator.kube.cluster import Cluster

BUCKET = "mlpipeline"
BUILTIN_ROOT = f"minio://{BUCKET}/v2/artifacts"
LAUNCHER_CONFIG_MAP = "kfp-launcher"
STORED_SCHEMES = ("minio", "s3")


def launcher_root(cluster: Cluster, namespace: str) -> str:
    config_map = cluster.config_maps.get(namespace, {}).get(LAUNCHER_CONFIG_MAP)
    return (config_map.data.get("defaultPipelineRoot", "") if config_map else "") or ""


def pipeline_root(cluster: Cluster, namespace: str, run_root: str, ir_root: str) -> str:
    return run_root or ir_root or launcher_root(cluster, namespace) or BUILTIN_ROOT


def join_uri(root: str, *parts: str) -> str:
    """``GenerateOutputURI``: the root without its trailing slash, then the joined parts."""
    base, _, query = root.partition("?")
    path = base.rstrip("/") + "/" + "/".join(p.strip("/") for p in parts if p)
    return path + (f"?{query}" if query else "")


def locate(uri: str) -> tuple[str, str]:
    """(bucket, key) of a URI the emulated object store holds, or ("", "") if it holds none."""
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme not in STORED_SCHEMES:
        return "", ""
    bucket, _, key = rest.partition("/")
    key = key.partition("?")[0]
    return (bucket, key) if bucket == BUCKET and key else ("", "")


def argo_key(record: RunExecution, pod_name: str, name: str) -> str:
    created = time.gmtime(record.created_at)
    return (f"private-artifacts/{record.namespace}/{record.workflow_name}/"
            f"{created.tm_year:04d}/{created.tm_mon:02d}/{created.tm_mday:02d}/"
            f"{pod_name}/{name}")


# -- what is stored: recipes the object store renders on read (deterministic, immutable) ----------


@dataclass(frozen=True, slots=True)
class ArtifactRecipe:
    """A v2 output artifact's bytes (``outputs.artifact_body``)."""

    run_id: str
    spec: TaskSpec
    artifact: OutputArtifact

    def render(self) -> bytes:
        return outputs.artifact_body(self.run_id, self.spec, self.artifact)[0]


@dataclass(frozen=True, slots=True)
class TgzRecipe:
    """A v1 (Argo) output artifact: the artifact's file in a ``.tgz`` stamped ``mtime``."""

    name: str
    inner: ArtifactRecipe
    mtime: float

    def render(self) -> bytes:
        return outputs.argo_tgz(self.name, self.inner.render(), self.mtime)


@dataclass(frozen=True, slots=True)
class LogRecipe:
    """A pod's ``main.log`` as it was when the pod ended: what ran and what it produced (no
    secret values).  Holds only values fixed by then (a retry assigns the task new lists)."""

    stamp: float
    run_id: str
    workflow_name: str
    pod_name: str
    spec: TaskSpec
    described: tuple[str, ...]  # platform.describe: what the pod received (key names)
    artifacts: tuple[ArtifactOutput, ...]
    parameters: Mapping[str, Any]
    failed: bool  # exited 1

    def text(self) -> str:
        spec = self.spec
        stamp = rfc3339(self.stamp)
        lines = [f"{stamp} task {spec.name} of run {self.run_id} "
                 f"(workflow {self.workflow_name}, pod {self.pod_name})",
                 f"{stamp} image {spec.image or '-'}, command {spec.command[:1]}"]
        lines += [f"{stamp} {line}" for line in self.described]
        for artifact in self.artifacts:
            lines.append(f"{stamp} wrote output artifact {artifact.name} to {artifact.uri}")
        for name, value in self.parameters.items():
            lines.append(f"{stamp} output parameter {name} = {value!r}")
        if self.failed:
            lines.append(f"{stamp} task {spec.name} failed with exit code 1")
        return "\n".join(lines) + "\n"

    def render(self) -> bytes:
        return self.text().encode()


class Recorder:
    """Writes results where the emulator keeps them; either store may be missing (None)."""

    def __init__(self, object_store: Any, metadata: Any) -> None:
        self.object_store = object_store
        self.metadata = metadata

    def _put(self, bucket: str, key: str, recipe: Any, content_type: str) -> None:
        if self.object_store is not None and bucket and key:
            self.object_store.put_generated(bucket, key, recipe, content_type)

    # -- ML Metadata -----------------------------------------------------------------------------

    def contexts(self, record: RunExecution) -> None:
        if self.metadata is None or not record.graph.is_v2 or record.run_context_id:
            return
        record.pipeline_context_id = self.metadata.put_context(
            "system.Pipeline", record.graph.pipeline_name, {})
        record.run_context_id = self.metadata.put_context(
            "system.PipelineRun", record.run_id,
            {"namespace": record.namespace, "resource_name": record.workflow_name,
             "pipeline_root": record.pipeline_root})

    def _execution(self, record: RunExecution, task: TaskRun, state: str) -> None:
        if self.metadata is None or not record.graph.is_v2:
            return
        self.contexts(record)
        context_ids = [c for c in (record.pipeline_context_id, record.run_context_id) if c]
        properties: dict[str, Any] = {"display_name": task.spec.display_name,
                                      "task_name": task.spec.name,
                                      "namespace": record.namespace, "pod_name": task.pod_name,
                                      "image": task.spec.image}
        if task.parameters:
            properties["outputs"] = {k: v for k, v in task.parameters.items()}
        task.execution_id = self.metadata.put_execution(
            "system.ContainerExecution", "", state, properties, context_ids)
        for input_name, producer, output in task.spec.input_artifacts:
            upstream = record.task(producer)
            found = next((a for a in upstream.artifacts if a.name == output), None) \
                if upstream else None
            if found is not None and found.artifact_id:
                self.metadata.put_event(task.execution_id, found.artifact_id, "INPUT",
                                        input_name)
        for artifact in task.artifacts:
            properties = {"display_name": artifact.name}
            if artifact.schema_title == outputs.METRICS:
                spec = next(a for a in task.spec.artifacts if a.name == artifact.name)
                properties.update(outputs.metric_values(record.run_id, task.spec, spec))
            artifact.artifact_id = self.metadata.put_artifact(
                artifact.schema_title, artifact.uri, properties, context_ids)
            self.metadata.put_event(task.execution_id, artifact.artifact_id, "OUTPUT",
                                    artifact.name)

    # -- a task's end ----------------------------------------------------------------------------

    def succeeded(self, record: RunExecution, task: TaskRun, salt: str) -> None:
        """Outputs of a task that succeeded: artifacts, parameters, metadata."""
        run_id, spec = record.run_id, task.spec
        task.parameters = {p.name: outputs.parameter_value(run_id, spec, p)
                           for p in spec.parameters}
        produced = []
        for artifact in spec.artifacts:
            recipe = ArtifactRecipe(run_id, spec, artifact)
            if record.graph.is_v2:
                uri = join_uri(record.pipeline_root, spec.name, salt, artifact.name)
                bucket, key = locate(uri)
                self._put(bucket, key, recipe,
                          outputs.artifact_body(run_id, spec, artifact)[1])
            else:
                bucket, key = BUCKET, argo_key(record, task.pod_name, f"{artifact.name}.tgz")
                uri = f"minio://{bucket}/{key}"
                self._put(bucket, key, TgzRecipe(artifact.path.rsplit("/", 1)[-1]
                                                 or artifact.name, recipe, task.finished_at),
                          "application/gzip")
            produced.append(ArtifactOutput(artifact.name, artifact.schema_title, uri, bucket,
                                           key))
        task.artifacts = tuple(produced)
        self._execution(record, task, "COMPLETE")

    def ended(self, record: RunExecution, task: TaskRun, log: LogRecipe, state: str) -> None:
        """Every pod that ran leaves its ``main.log``; a failed or stopped one its execution."""
        task.log_key = argo_key(record, task.pod_name, "main.log")
        self._put(BUCKET, task.log_key, log, "text/plain")
        if state != "COMPLETE":
            self._execution(record, task, state)

"""What a run executes, read into one flat task graph.

Two inputs: the KFP v2 IR (``PipelineSpec``, with an optional kfp-kubernetes ``PlatformSpec``)
and the Argo Workflow YAML the kfp 1.8 compiler writes.  Both become a :class:`PipelineGraph`:
container tasks in dependency order, each with its image, its declared outputs and, for v2, its
kfp-kubernetes executor settings.

Nested DAGs (v2 sub-pipelines, ``dsl.ParallelFor``/``Condition`` groups; v1 DAG templates) are
flattened: their container tasks become tasks of the graph under their own task names, and
inherit the DAG task's dependencies.  Loops run once and conditions always hold.  Anything
malformed is skipped rather than refused: the API server accepted the spec already.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from emulator.kfp.models import PipelineSource

V2_EXECUTOR_TEMPLATE = "system-container-impl"


@dataclass(frozen=True)
class OutputArtifact:
    name: str
    schema_title: str  # system.Artifact, system.Dataset, system.Model, system.Metrics, ...
    path: str = ""  # v1: where the container writes it


@dataclass(frozen=True)
class OutputParameter:
    name: str
    # PipelineSpec ParameterType: STRING, NUMBER_INTEGER, NUMBER_DOUBLE, BOOLEAN, LIST, STRUCT
    type: str = "STRING"


@dataclass(frozen=True)
class KeyToEnv:
    key: str
    env_var: str


@dataclass(frozen=True)
class SourceRef:
    """One kfp-kubernetes secret or config map use (``kind``: "secret" or "configmap")."""

    kind: str
    name: str
    optional: bool = False
    keys: tuple[KeyToEnv, ...] = ()  # as env vars
    mount_path: str = ""  # as a volume


@dataclass(frozen=True)
class ExecutorConfig:
    """``KubernetesExecutorConfig``: the parts the emulator applies."""

    env_from: tuple[SourceRef, ...] = ()
    volumes: tuple[SourceRef, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.env_from and not self.volumes


@dataclass(frozen=True)
class TaskSpec:
    name: str  # the DAG task name: the artifact key segment and the MLMD task_name
    display_name: str
    template: str  # v1: the Argo template; v2: the executor label
    image: str = ""
    command: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()
    artifacts: tuple[OutputArtifact, ...] = ()
    parameters: tuple[OutputParameter, ...] = ()
    # (input name, producer task, producer's output name)
    input_artifacts: tuple[tuple[str, str, str], ...] = ()
    kubernetes: ExecutorConfig = field(default_factory=ExecutorConfig)


@dataclass(frozen=True)
class PipelineGraph:
    pipeline_name: str
    is_v2: bool
    tasks: tuple[TaskSpec, ...] = ()
    # The IR's ``defaultPipelineRoot`` (``dsl.pipeline(pipeline_root=...)``).
    default_pipeline_root: str = ""
    # v1: the compiled Workflow, the template of what runs.
    argo_workflow: dict[str, Any] | None = None

    def task(self, name: str) -> TaskSpec | None:
        return next((t for t in self.tasks if t.name == name), None)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in _list(value))


def topological(tasks: list[TaskSpec]) -> tuple[TaskSpec, ...]:
    """Dependencies first; declaration order otherwise; unknown dependencies ignored."""
    names = {t.name for t in tasks}
    done: set[str] = set()
    ordered: list[TaskSpec] = []
    pending = list(tasks)
    while pending:
        ready = [t for t in pending
                 if all(d in done or d not in names or d == t.name for d in t.dependencies)]
        if not ready:  # a cycle: keep the rest in declaration order
            ready = pending[:1]
        for task in ready:
            ordered.append(task)
            done.add(task.name)
        pending = [t for t in pending if t.name not in done]
    return tuple(ordered)


# -- KFP v2 IR -----------------------------------------------------------------------------------


def split_struct(spec: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The API's struct form ``{"pipeline_spec": ..., "platform_spec": ...}`` or a bare IR."""
    spec = _dict(spec)
    if isinstance(spec.get("pipeline_spec"), dict):
        return spec["pipeline_spec"], _dict(spec.get("platform_spec"))
    return spec, {}


def _name_of(parameter: dict[str, Any], plain: str) -> str:
    """``secretNameParameter.runtimeValue.constant`` (current) or ``secretName`` (deprecated)."""
    constant = _dict(_dict(parameter).get("runtimeValue")).get("constant")
    return str(constant) if isinstance(constant, str) and constant else plain


def _refs(entries: Any, kind: str, as_env: bool) -> tuple[SourceRef, ...]:
    field_name = "secretName" if kind == "secret" else "configMapName"
    key_name = "secretKey" if kind == "secret" else "configMapKey"
    refs = []
    for entry in _list(entries):
        entry = _dict(entry)
        name = _name_of(entry.get(field_name + "Parameter", {}), str(entry.get(field_name, "")))
        if not name:
            continue
        keys = tuple(KeyToEnv(str(k.get(key_name, "")), str(k.get("envVar", "")))
                     for k in map(_dict, _list(entry.get("keyToEnv"))) if k.get("envVar"))
        refs.append(SourceRef(kind, name, bool(entry.get("optional", False)),
                              keys if as_env else (),
                              "" if as_env else str(entry.get("mountPath", ""))))
    return tuple(refs)


def executor_config(platform_spec: dict[str, Any] | None, executor: str) -> ExecutorConfig:
    """``platforms.kubernetes.deploymentSpec.executors.<executor>`` of a PlatformSpec."""
    kubernetes = _dict(_dict(_dict(platform_spec).get("platforms")).get("kubernetes"))
    config = _dict(_dict(_dict(kubernetes.get("deploymentSpec")).get("executors")).get(executor))
    return ExecutorConfig(
        env_from=_refs(config.get("secretAsEnv"), "secret", True)
        + _refs(config.get("configMapAsEnv"), "configmap", True),
        volumes=_refs(config.get("secretAsVolume"), "secret", False)
        + _refs(config.get("configMapAsVolume"), "configmap", False),
    )


def _v2_tasks(dag: dict[str, Any], components: dict[str, Any], executors: dict[str, Any],
              platform: dict[str, Any], inherited: tuple[str, ...], depth: int,
              out: list[TaskSpec]) -> None:
    if depth > 20:
        return
    first = len(out)
    expansions: dict[str, tuple[str, ...]] = {}  # a sub-DAG task -> its container tasks
    for task_name, task in _dict(dag.get("tasks")).items():
        task = _dict(task)
        component = _dict(components.get(_dict(task.get("componentRef")).get("name", "")))
        dependencies = inherited + _strings(task.get("dependentTasks"))
        inner = _dict(component.get("dag"))
        if inner:
            start = len(out)
            _v2_tasks(inner, components, executors, platform, dependencies, depth + 1, out)
            expansions[str(task_name)] = tuple(t.name for t in out[start:])
            continue
        label = str(component.get("executorLabel", ""))
        executor = _dict(executors.get(label))
        container = _dict(executor.get("container"))
        outputs = _dict(component.get("outputDefinitions"))
        artifacts = tuple(
            OutputArtifact(str(name), str(_dict(_dict(d).get("artifactType")).get(
                "schemaTitle", "system.Artifact")))
            for name, d in _dict(outputs.get("artifacts")).items())
        parameters = tuple(OutputParameter(str(name), str(_dict(d).get("parameterType",
                                                                         "STRING")))
                           for name, d in _dict(outputs.get("parameters")).items())
        inputs = []
        for input_name, source in _dict(_dict(task.get("inputs")).get("artifacts")).items():
            producer = _dict(_dict(source).get("taskOutputArtifact"))
            if producer.get("producerTask"):
                inputs.append((str(input_name), str(producer["producerTask"]),
                               str(producer.get("outputArtifactKey", ""))))
        image = str(container.get("image", ""))
        if not container and "importer" in executor:
            image = "importer"
        out.append(TaskSpec(
            name=str(task_name),
            display_name=str(_dict(task.get("taskInfo")).get("name") or task_name),
            template=label,
            image=image,
            command=_strings(container.get("command")) + _strings(container.get("args")),
            dependencies=dependencies,
            artifacts=artifacts,
            parameters=parameters,
            input_artifacts=tuple(inputs),
            kubernetes=executor_config(platform, label),
        ))
    if expansions:  # depending on a sub-DAG means depending on every task in it
        for index in range(first, len(out)):
            task_spec = out[index]
            deps = tuple(name for d in task_spec.dependencies
                         for name in expansions.get(d, (d,)))
            out[index] = replace(task_spec, dependencies=tuple(dict.fromkeys(deps)))


def graph_of_ir(pipeline_spec: dict[str, Any], platform_spec: dict[str, Any] | None = None
                ) -> PipelineGraph:
    spec, embedded = split_struct(pipeline_spec)
    platform = _dict(platform_spec) or embedded
    tasks: list[TaskSpec] = []
    _v2_tasks(_dict(_dict(spec.get("root")).get("dag")), _dict(spec.get("components")),
              _dict(_dict(spec.get("deploymentSpec")).get("executors")), platform, (), 0, tasks)
    return PipelineGraph(
        pipeline_name=str(_dict(spec.get("pipelineInfo")).get("name", "")),
        is_v2=True,
        tasks=topological(tasks),
        default_pipeline_root=str(spec.get("defaultPipelineRoot", "") or ""),
    )


# -- Argo Workflow (kfp 1.8) -----------------------------------------------------------------------

_DEPENDS_NAME = re.compile(r"[A-Za-z0-9][-A-Za-z0-9_]*(?=\.|\s|\)|$)")


def _depends(task: dict[str, Any]) -> tuple[str, ...]:
    """``dependencies: [a, b]`` or ``depends: "a.Succeeded && (b || c)"``."""
    names = list(_strings(task.get("dependencies")))
    depends = task.get("depends")
    if isinstance(depends, str):
        for token in re.split(r"[&|!()\s]+", depends):
            name = token.split(".", 1)[0]
            if name and name not in names:
                names.append(name)
    return tuple(names)


def _v1_tasks(template: dict[str, Any], templates: dict[str, dict[str, Any]],
              inherited: tuple[str, ...], depth: int, out: list[TaskSpec]) -> None:
    if depth > 20:
        return
    for task in map(_dict, _list(_dict(template.get("dag")).get("tasks"))):
        name = str(task.get("name", ""))
        target = templates.get(str(task.get("template", "")))
        if not name or target is None:
            continue
        dependencies = inherited + _depends(task)
        if "dag" in target:
            _v1_tasks(target, templates, dependencies, depth + 1, out)
            continue
        container = _dict(target.get("container"))
        outputs = _dict(target.get("outputs"))
        artifacts = tuple(OutputArtifact(str(a.get("name")), "system.Artifact",
                                         str(a.get("path", "")))
                          for a in map(_dict, _list(outputs.get("artifacts"))) if a.get("name"))
        parameters = tuple(OutputParameter(str(p.get("name")))
                           for p in map(_dict, _list(outputs.get("parameters")))
                           if p.get("name"))
        out.append(TaskSpec(
            name=name, display_name=name, template=str(target.get("name", "")),
            image=str(container.get("image", "")),
            command=_strings(container.get("command")) + _strings(container.get("args")),
            dependencies=dependencies, artifacts=artifacts, parameters=parameters))


def graph_of_argo(workflow: dict[str, Any]) -> PipelineGraph:
    spec = _dict(workflow.get("spec"))
    templates = {str(t.get("name")): t for t in map(_dict, _list(spec.get("templates")))
                 if t.get("name")}
    entry = templates.get(str(spec.get("entrypoint", "")), {})
    tasks: list[TaskSpec] = []
    if "dag" in entry:
        _v1_tasks(entry, templates, (), 0, tasks)
    elif "container" in entry:
        tasks.append(TaskSpec(name=str(entry["name"]), display_name=str(entry["name"]),
                              template=str(entry["name"]),
                              image=str(_dict(entry.get("container")).get("image", ""))))
    metadata = _dict(workflow.get("metadata"))
    name = str(metadata.get("generateName", "")).rstrip("-") or str(metadata.get("name", ""))
    return PipelineGraph(pipeline_name=name, is_v2=False, tasks=topological(tasks),
                         argo_workflow=workflow)


# -- a run's source --------------------------------------------------------------------------------


def _first_document(text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        documents = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    except yaml.YAMLError:
        return {}, {}
    platform: dict[str, Any] = {}
    for document in documents[1:]:
        platform.update(document)
    return (documents[0] if documents else {}), platform


def graph_of_source(source: PipelineSource) -> PipelineGraph:
    """What a run (or recurring run) executes, whichever way its spec was given."""
    spec, embedded = split_struct(source.pipeline_spec)
    platform = source.platform_spec or embedded
    if not spec and (source.workflow_manifest or source.pipeline_manifest):
        spec, extra = _first_document(source.workflow_manifest or source.pipeline_manifest)
        platform = platform or extra
    if spec.get("kind") == "Workflow":
        return graph_of_argo(spec)
    return graph_of_ir(spec, platform)

"""The Argo Workflow and the Pods of a run, rendered from the engine's record.

Shapes follow what the KFP API server submits (``backend/src/v2/compiler/argocompiler``,
``resource_manager.go CreateRun``; docs/upstream/kfp-data-plane.md 1.1) and what the Argo
controller writes back in ``status``.  Simplifications: a v2 task is one executor pod
(``system-container-impl``); the driver pods and the DAG/driver nodes are not modelled.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from emulator.clock import rfc3339
from emulator.execution.outputs import argo_value
from emulator.execution.platform import ResolvedPod
from emulator.execution.records import FINAL_PHASES, RunExecution, TaskRun
from emulator.execution.spec import V2_EXECUTOR_TEMPLATE
from emulator.kube.workloads import ARGO_VERSION, Pod, Workflow

RUN_ID_LABEL = "pipeline/runid"
RUN_NAME_ANNOTATION = "pipelines.kubeflow.org/run_name"
WORKFLOW_LABEL = "workflows.argoproj.io/workflow"
PHASE_LABEL = "workflows.argoproj.io/phase"
COMPLETED_LABEL = "workflows.argoproj.io/completed"
V2_COMPONENT = "pipelines.kubeflow.org/v2_component"
ISTIO_INJECT = "sidecar.istio.io/inject"
NODE_ID_ANNOTATION = "workflows.argoproj.io/node-id"
NODE_NAME_ANNOTATION = "workflows.argoproj.io/node-name"
LAUNCHER_IMAGE = "ghcr.io/kubeflow/kfp-launcher:2.17.0"
EXECUTOR_IMAGE = "quay.io/argoproj/argoexec:v3.7.3"


def fnv32a(text: str) -> int:
    """Argo's node id hash (``hash/fnv`` 32-bit FNV-1a)."""
    value = 0x811C9DC5
    for byte in text.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def node_name(record_name: str, task: str, is_v2: bool) -> str:
    return f"{record_name}.root.{task}.executor" if is_v2 else f"{record_name}.{task}"


def node_id(workflow_name: str, name: str) -> str:
    return f"{workflow_name}-{fnv32a(name)}"


def pod_name(workflow_name: str, template: str, name: str) -> str:
    """Argo's POD_NAMES=v2 pod name: ``<workflow>-<template>-<hash of the node name>``."""
    prefix = f"{workflow_name}-{template}"
    if len(prefix) > 253 - 11:
        prefix = prefix[:242]
    return f"{prefix}-{fnv32a(name)}"


def _timed(out: dict[str, Any], started: float, finished: float) -> dict[str, Any]:
    """Argo omits the times a node does not have yet."""
    if started:
        out["startedAt"] = rfc3339(started)
    if finished:
        out["finishedAt"] = rfc3339(finished)
    return out


def _completed(phase: str) -> str:
    return "true" if phase in FINAL_PHASES else "false"


# -- the Workflow -------------------------------------------------------------------------------


def _v2_spec(record: RunExecution) -> dict[str, Any]:
    graph = record.graph
    tasks = [{"name": t.spec.name, "template": V2_EXECUTOR_TEMPLATE,
              **({"depends": " && ".join(f"{d}.Succeeded" for d in t.spec.dependencies)}
                 if t.spec.dependencies else {})}
             for t in record.tasks]
    return {
        "entrypoint": "entrypoint",
        "serviceAccountName": record.service_account,
        "arguments": {"parameters": [{"name": "components-root",
                                      "value": json.dumps({"pipeline": graph.pipeline_name})}]},
        "podMetadata": {"labels": {RUN_ID_LABEL: record.run_id, V2_COMPONENT: "true"},
                        "annotations": {V2_COMPONENT: "true"}},
        "securityContext": {"runAsNonRoot": True,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "templates": [
            {"name": "entrypoint", "dag": {"tasks": [{"name": "root", "template": "root"}]},
             "metadata": {"annotations": {ISTIO_INJECT: "false"}}},
            {"name": "root", "dag": {"tasks": tasks},
             "metadata": {"annotations": {ISTIO_INJECT: "false"}}},
            {"name": V2_EXECUTOR_TEMPLATE,
             "container": {"name": "", "image": "gcr.io/ml-pipeline/should-be-overridden-during-"
                                                "runtime", "command": ["should-be-overridden"]},
             "podSpecPatch": "{{inputs.parameters.pod-spec-patch}}",
             "metadata": {"annotations": {ISTIO_INJECT: "false",
                                          "pipelines.kubeflow.org/runtime-role": "launcher"}}},
        ],
    }


def _v1_spec(record: RunExecution) -> dict[str, Any]:
    source = record.graph.argo_workflow or {}
    spec = copy.deepcopy(source.get("spec") or {})
    spec["serviceAccountName"] = record.service_account
    return spec if isinstance(spec, dict) else {}


def _node(record: RunExecution, task: TaskRun, children: list[str]) -> dict[str, Any]:
    is_v2 = record.graph.is_v2
    node: dict[str, Any] = {
        "id": task.node_id,
        "name": node_name(record.workflow_name, task.spec.name, is_v2),
        "displayName": task.spec.display_name if not is_v2 else task.spec.name,
        "type": "Pod",
        "templateName": V2_EXECUTOR_TEMPLATE if is_v2 else task.spec.template,
        "phase": task.phase or "Pending",
        "boundaryID": record.workflow_name,
    }
    if task.message:
        node["message"] = task.message
    if task.started_at:
        node["startedAt"] = rfc3339(task.started_at)
    if task.finished_at:
        node["finishedAt"] = rfc3339(task.finished_at)
    if task.pod_uid:
        node["hostNodeName"] = "emulated-node"
    outputs = _node_outputs(record, task)
    if outputs:
        node["outputs"] = outputs
    if children:
        node["children"] = children
    return node


def _node_outputs(record: RunExecution, task: TaskRun) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if task.phase != "Succeeded" and not task.log_key:
        return out
    artifacts = []
    if not record.graph.is_v2:
        for artifact in task.artifacts:
            if artifact.key:
                artifacts.append({"name": artifact.name, "s3": {"key": artifact.key}})
    if task.log_key:
        artifacts.append({"name": "main-logs", "s3": {"key": task.log_key}})
    if artifacts:
        out["artifacts"] = artifacts
    if task.parameters and task.phase == "Succeeded":
        out["parameters"] = [{"name": name, "value": argo_value(value)}
                             for name, value in task.parameters.items()]
    if task.phase in ("Succeeded", "Failed"):
        out["exitCode"] = "0" if task.phase == "Succeeded" else "1"
    return out


def workflow(record: RunExecution) -> Workflow:
    phase = record.phase
    labels = {RUN_ID_LABEL: record.run_id}
    if phase:
        labels[PHASE_LABEL] = phase
    if phase in FINAL_PHASES:
        labels[COMPLETED_LABEL] = "true"
    spec = _v2_spec(record) if record.graph.is_v2 else _v1_spec(record)
    if record.terminating:
        spec["activeDeadlineSeconds"] = 0
    nodes: dict[str, Any] = {}
    dependents: dict[str, list[str]] = {}
    for task in record.tasks:
        for dependency in task.spec.dependencies:
            dependents.setdefault(dependency, []).append(task.node_id)
    started = [t for t in record.tasks if t.phase]
    roots = [t.node_id for t in started if not t.spec.dependencies]
    if record.refused is not None:
        refused_name = record.refused[0]
        refused_id = node_id(record.workflow_name, refused_name)
        nodes[refused_id] = {"id": refused_id, "name": refused_name,
                             "displayName": refused_name.rsplit(".", 1)[-1], "type": "Pod",
                             "phase": "Error", "message": record.message,
                             "boundaryID": record.workflow_name,
                             "startedAt": rfc3339(record.started_at),
                             "finishedAt": rfc3339(record.finished_at)}
        roots = [refused_id]
    if phase:
        nodes[record.workflow_name] = _timed({
            "id": record.workflow_name, "name": record.workflow_name,
            "displayName": record.workflow_name, "type": "DAG",
            "templateName": "entrypoint" if record.graph.is_v2 else str(spec.get("entrypoint")),
            "phase": phase, "children": roots}, record.started_at, record.finished_at)
        for task in started:
            nodes[task.node_id] = _node(record, task, [
                d for d in dependents.get(task.spec.name, [])
                if any(t.node_id == d and t.phase for t in record.tasks)])
    status: dict[str, Any] = {}
    if phase:
        status["phase"] = phase
        _timed(status, record.started_at, record.finished_at)
        done = sum(1 for t in record.tasks if t.phase == "Succeeded")
        status["progress"] = f"{done}/{len(record.tasks)}"
        if record.message:
            status["message"] = record.message
        status["nodes"] = nodes
        status["artifactRepositoryRef"] = {"configMap": "artifact-repositories",
                                           "key": "default-namespaced",
                                           "namespace": record.namespace,
                                           "artifactRepository": {"archiveLogs": True}}
    obj = Workflow(record.namespace, record.workflow_name,
                   body={"spec": spec, "status": status},
                   labels=labels,
                   annotations={RUN_NAME_ANNOTATION: record.run_name},
                   uid=record.uid, created_at=record.created_at,
                   resource_version=record.resource_version,
                   metadata_extra={"generateName": record.generate_name})
    return obj


# -- Pods -----------------------------------------------------------------------------------------


def _container_state(record: RunExecution, task: TaskRun) -> dict[str, Any]:
    if task.phase == "Pending" or task.waiting is not None:
        reason, message = task.waiting or ("ContainerCreating", "")
        waiting = {"reason": reason}
        if message:
            waiting["message"] = message
        return {"waiting": waiting}
    if task.phase == "Running":
        return {"running": {"startedAt": rfc3339(task.started_at)}}
    code = 0 if task.phase == "Succeeded" else 1
    terminated = {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                  "startedAt": rfc3339(task.started_at or task.pod_created_at),
                  "finishedAt": rfc3339(task.finished_at or task.started_at)}
    return {"terminated": terminated}


def _image_id(image: str, state: dict[str, Any]) -> str:
    """Empty until the image is pulled (a container still waiting), then a digest."""
    if "waiting" in state:
        return ""
    digest = hashlib.sha256(image.encode()).hexdigest()
    return f"{image.partition(':')[0]}@sha256:{digest}"


def pod(record: RunExecution, task: TaskRun, resolved: ResolvedPod) -> Pod:
    is_v2 = record.graph.is_v2
    name = node_name(record.workflow_name, task.spec.name, is_v2)
    labels = {WORKFLOW_LABEL: record.workflow_name,
              COMPLETED_LABEL: _completed(task.phase), RUN_ID_LABEL: record.run_id}
    annotations = {NODE_ID_ANNOTATION: task.node_id, NODE_NAME_ANNOTATION: name,
                   ISTIO_INJECT: "false", "kubectl.kubernetes.io/default-container": "main"}
    if is_v2:
        labels[V2_COMPONENT] = "true"
        annotations[V2_COMPONENT] = "true"
    main: dict[str, Any] = {"name": "main", "image": task.spec.image or "busybox",
                            "command": list(task.spec.command[:1]),
                            "args": list(task.spec.command[1:])}
    if resolved.env:
        main["env"] = resolved.env
    if resolved.mounts:
        main["volumeMounts"] = resolved.mounts
    spec: dict[str, Any] = {
        "serviceAccountName": record.service_account,
        "restartPolicy": "Never",
        "containers": [{"name": "wait", "image": EXECUTOR_IMAGE, "command": ["argoexec"],
                        "args": ["wait", "--loglevel", "info"]}, main],
    }
    if is_v2:
        spec["initContainers"] = [{"name": "kfp-launcher", "image": LAUNCHER_IMAGE,
                                   "command": ["launcher-v2", "--copy", "/kfp-launcher/launch"]}]
    if resolved.volumes:
        spec["volumes"] = resolved.volumes
    phase = task.phase if task.phase in ("Pending", "Running", "Succeeded", "Failed") \
        else "Failed"
    state = _container_state(record, task)
    status: dict[str, Any] = {
        "phase": phase,
        "containerStatuses": [
            {"name": "main", "image": main["image"], "imageID": _image_id(main["image"], state),
             "ready": phase == "Running", "restartCount": 0, "started": phase == "Running",
             "state": state},
        ],
        "startTime": rfc3339(task.pod_created_at),
    }
    conditions = [{"type": "PodScheduled", "status": "True"}]
    if task.mount_failure:
        # kubectl describe shows it as an event; the emulator has no events, so the pod
        # carries it as a condition too.
        conditions.append({"type": "ContainersReady", "status": "False",
                           "reason": "FailedMount", "message": task.mount_failure})
    status["conditions"] = conditions
    return Pod(record.namespace, task.pod_name, body={"spec": spec, "status": status},
               labels=labels, annotations=annotations, uid=task.pod_uid,
               created_at=task.pod_created_at, resource_version=record.resource_version,
               metadata_extra={"ownerReferences": [owner_reference(record)]})


def owner_reference(record: RunExecution) -> dict[str, Any]:
    return {"apiVersion": ARGO_VERSION, "kind": "Workflow", "name": record.workflow_name,
            "uid": record.uid, "controller": True, "blockOwnerDeletion": True}

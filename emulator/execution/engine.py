"""The execution engine: Argo and the kubelet for the runs the API server accepted.

Driven by the run lifecycle (``emulator.kfp.execution_hooks``): the Workflow is created in the
run's namespace when the run is (PENDING), its task pods appear when the run goes RUNNING, and
they finish with the run, leaving their outputs in the object store and ML Metadata.

Choices, where the real system has timing the emulator does not:

- every task's pod is created at RUNNING (tasks run side by side) unless an upstream task's pod
  cannot start; they all end when the run ends.  A failing run fails its last task;
- the ServiceAccount check (``admission``) runs when the workflow is created: a refused first
  pod makes the workflow ``Error`` and the run FAILED at its next step;
- a pod whose kfp-kubernetes secret/config map is missing in the run's namespace stays Pending
  (``platform``) and holds the run in RUNNING, as a real cluster does; the reference is looked
  up again at every step, so creating the secret lets the run finish; terminate stops it.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from emulator.clock import rfc3339
from emulator.execution import export, platform, recording
from emulator.execution.admission import service_account_refusal
from emulator.execution.records import FINAL_PHASES, RunExecution, TaskRun
from emulator.execution.spec import V2_EXECUTOR_TEMPLATE, PipelineGraph, graph_of_source
from emulator.execution.workflow import node_name, pod, pod_name, workflow
from emulator.kfp.models import ChangeCounter, PipelineSource, Run, RuntimeState
from emulator.kube.manifests import to_manifest
from emulator.kube.workloads import ConfigMap, Pod, Workflow

# k8s ``names.SimpleNameGenerator``: five characters of this alphabet after generateName.
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_MAX_GENERATE_NAME = 58
POD_PREFIX_LIMIT = 242  # workflow.pod_name cuts ``<workflow>-<template>`` there
DEADLINE_MESSAGE = "Step exceeded its deadline"
FAILED_MESSAGE = "Error (exit code 1)"
GRAPH_CACHE = 256
STANDALONE_RUNNER = "pipeline-runner"


def generate_name(pipeline_name: str) -> str:
    """``<last "/"-segment of pipelineInfo.name>-``, made a valid name prefix."""
    last = pipeline_name.rstrip("/").rsplit("/", 1)[-1].lower()
    base = re.sub(r"[^a-z0-9.-]+", "-", last).strip("-.") or "pipeline"
    return base[:_MAX_GENERATE_NAME - 1] + "-"


def uuid4_text(bits: int) -> str:
    """``str(uuid.UUID(int=bits, version=4))`` without building the UUID."""
    bits = (bits & ~(0xF000 << 64) | 0x4000 << 64) & ~(0xC000 << 48) | 0x8000 << 48
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class ExecutionEngine:
    """``Emulator.execution``: runs as Workflows and Pods in their namespace."""

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator
        self.cluster = emulator.cluster
        self.config = emulator.config
        self._runs: dict[str, RunExecution] = {}
        # namespace -> workflow name -> run id (a pod is found from its name's workflow)
        self._workflows: dict[str, dict[str, str]] = {}
        self._graphs: dict[tuple[int, int, str], tuple[Any, PipelineGraph]] = {}
        self._random = random.Random()
        emulator.kfp.state.executor = self
        self.cluster.workloads = self
        self.cluster.namespace_deleted.append(self.drop_namespace)
        self.cluster.profile_reconciled.append(self.provision_namespace)

    @property
    def _lock(self) -> Any:
        return self.emulator.kfp.state.lock

    def _recorder(self) -> recording.Recorder:
        return recording.Recorder(getattr(self.emulator, "object_store", None),
                                  getattr(self.emulator, "metadata", None))

    # -- the interface the UI server uses -----------------------------------------------------

    def workflow_of_run(self, run_id: str) -> dict[str, Any] | None:
        """The run's Workflow manifest as the Kubernetes API serves it (None: no workflow)."""
        with self._lock:
            record = self._runs.get(run_id)
            return None if record is None else to_manifest(workflow(record))

    def pods_of_run(self, run_id: str) -> list[dict[str, Any]]:
        with self._lock:
            record = self._runs.get(run_id)
            if record is None:
                return []
            return [to_manifest(self._pod(record, t)) for t in record.tasks if t.has_pod]

    def pod_log(self, namespace: str, pod_name: str) -> str | None:
        """The main container's log (None: no such pod in that namespace)."""
        with self._lock:
            found = self._task_of_pod(namespace, pod_name)
            if found is None:
                return None
            record, task = found
            return self._log(record, task)

    def node_artifact_key(self, run_id: str, node_id: str, artifact_name: str) -> str | None:
        """The object key of an Argo node output artifact (``:read``), as
        ``FindObjectStoreArtifactKeyOrEmpty`` finds it in the workflow status."""
        with self._lock:
            record = self._runs.get(run_id)
            if record is None:
                return None
            for task in record.tasks:
                if task.node_id != node_id:
                    continue
                if artifact_name == "main-logs" and task.log_key:
                    return task.log_key
                if not record.graph.is_v2:
                    for artifact in task.artifacts:
                        if artifact.name == artifact_name and artifact.key:
                            return artifact.key
            return None

    def container_env(self, namespace: str, pod_name: str) -> dict[str, str] | None:
        """What the pod's main container sees from kfp-kubernetes env settings (resolved
        values; for tests and debugging, never rendered into a manifest or a log)."""
        with self._lock:
            found = self._task_of_pod(namespace, pod_name)
            if found is None:
                return None
            record, task = found
            return dict(platform.resolve(self.cluster, record.namespace,
                                         task.spec.kubernetes).values)

    def execution_of_run(self, run_id: str) -> RunExecution | None:
        return self._runs.get(run_id)

    # -- the Kubernetes surface (WorkloadSource) ------------------------------------------------

    def _task_of_pod(self, namespace: str, name: str) -> tuple[RunExecution, TaskRun] | None:
        """A pod is named ``<workflow>-<template>-<hash>``: its workflow's name is a prefix
        of it ending before a "-" (unless Argo cut the name short: then every workflow of the
        namespace is a candidate)."""
        workflows = self._workflows.get(namespace)
        if not workflows:
            return None
        if len(name) > POD_PREFIX_LIMIT:
            candidates: Iterable[str] = list(workflows)
        else:
            candidates = (name[:i] for i, c in enumerate(name) if c == "-")
        for candidate in candidates:
            run_id = workflows.get(candidate)
            record = self._runs.get(run_id) if run_id else None
            if record is not None:
                for task in record.tasks:
                    if task.pod_name == name and task.has_pod:
                        return record, task
        return None

    def _workflow_run(self, namespace: str, name: str) -> RunExecution | None:
        run_id = self._workflows.get(namespace, {}).get(name)
        return self._runs.get(run_id) if run_id else None

    def _pod(self, record: RunExecution, task: TaskRun) -> Pod:
        resolved = platform.resolve(self.cluster, record.namespace, task.spec.kubernetes)
        return pod(record, task, resolved)

    def list_pods(self, namespace: str) -> list[Pod]:
        return [self._pod(r, t) for r in self._in(namespace) for t in r.tasks if t.has_pod]

    def get_pod(self, namespace: str, name: str) -> Pod | None:
        found = self._task_of_pod(namespace, name)
        return None if found is None else self._pod(*found)

    def delete_pod(self, namespace: str, name: str) -> Pod | None:
        found = self._task_of_pod(namespace, name)
        if found is None:
            return None
        record, task = found
        gone = self._pod(record, task)
        task.pod_deleted = True
        self._changed(record)
        return gone

    def list_workflows(self, namespace: str) -> list[Workflow]:
        return [workflow(r) for r in self._in(namespace)]

    def get_workflow(self, namespace: str, name: str) -> Workflow | None:
        record = self._workflow_run(namespace, name)
        return None if record is None else workflow(record)

    def delete_workflow(self, namespace: str, name: str) -> Workflow | None:
        record = self._workflow_run(namespace, name)
        if record is None:
            return None
        gone = workflow(record)
        self._forget(record)
        return gone

    def _in(self, namespace: str) -> list[RunExecution]:
        """The namespace's records ("": all), in creation order."""
        if not namespace:
            return list(self._runs.values())
        found = (self._runs.get(i) for i in self._workflows.get(namespace, {}).values())
        return [r for r in found if r is not None]

    # -- what the profile controller adds -------------------------------------------------------

    def provision_namespace(self, namespace: str) -> None:
        """The pipelines-profile-controller's ConfigMaps (sync.py, KFP >= 2.15)."""
        if not self.config.multiuser:
            return
        domain = ".svc.cluster.local"
        wanted = {
            "kfp-launcher": {
                "defaultPipelineRoot":
                    f"minio://{recording.BUCKET}/private-artifacts/{namespace}/v2/artifacts",
                "clusterDomain": domain},
            "metadata-grpc-configmap": {
                "METADATA_GRPC_SERVICE_HOST": "metadata-grpc-service.kubeflow",
                "METADATA_GRPC_SERVICE_PORT": "8080"},
            "artifact-repositories": {"default-namespaced": (
                '{"archiveLogs": true, "s3": {"endpoint": "seaweedfs.kubeflow' + domain
                + ':9000", "bucket": "mlpipeline", "keyFormat": "private-artifacts/'
                + namespace + '/{{workflow.name}}/{{workflow.creationTimestamp.Y}}/'
                '{{workflow.creationTimestamp.m}}/{{workflow.creationTimestamp.d}}/'
                '{{pod.name}}", "insecure": true, "accessKeySecret": {"name": '
                '"mlpipeline-minio-artifact", "key": "accesskey"}, "secretKeySecret": '
                '{"name": "mlpipeline-minio-artifact", "key": "secretkey"}}}')},
        }
        existing = self.cluster.config_maps.get(namespace, {})
        for name, data in wanted.items():
            if name not in existing:
                annotations = {"workflows.argoproj.io/default-artifact-repository":
                               "default-namespaced"} if name == "artifact-repositories" else {}
                self.cluster.create_config_map(ConfigMap(namespace, name, data,
                                                         annotations=annotations))

    # -- the lifecycle's hooks (RunExecutor) ------------------------------------------------------

    def run_moved(self, run: Run, state: RuntimeState, at: float) -> None:
        record = self._runs.get(run.id)
        if state == RuntimeState.PENDING:
            if record is None:
                self._create(run, at)
            elif record.phase in FINAL_PHASES:
                self._retry(record, run, at)
            return
        if record is None:  # a run restored from a snapshot
            record = self._create(run, at)
        if state == RuntimeState.RUNNING:
            self._start(record, at)
        elif state == RuntimeState.CANCELING:
            record.terminating = True
        elif state == RuntimeState.CANCELED:
            self._stop(record, at)
        elif state in (RuntimeState.SUCCEEDED, RuntimeState.SKIPPED):
            self._finish(record, at, failed=False)
        elif state == RuntimeState.FAILED and record.phase != "Error":
            self._finish(record, at, failed=True)
        self._changed(record)

    def next_state(self, run: Run, target: RuntimeState) -> RuntimeState | None:
        record = self._runs.get(run.id)
        if record is None:
            return target
        if record.refused is not None and target not in (RuntimeState.CANCELING,
                                                         RuntimeState.CANCELED):
            return RuntimeState.FAILED
        if run.state == RuntimeState.RUNNING and target in (
                RuntimeState.SUCCEEDED, RuntimeState.FAILED, RuntimeState.SKIPPED):
            self._schedule(record, self.emulator.clock.now())
            if any(t.phase == "Pending" for t in record.tasks):
                return None
        return target

    def run_deleted(self, run: Run) -> None:
        record = self._runs.get(run.id)
        if record is not None:
            self._forget(record)

    def run_details(self, run: Run) -> dict[str, Any] | None:
        record = self._runs.get(run.id)
        if record is None or not record.tasks or not any(t.phase for t in record.tasks):
            return None
        details: dict[str, Any] = {}
        if record.pipeline_context_id:
            details["pipeline_context_id"] = str(record.pipeline_context_id)
        if record.run_context_id:
            details["pipeline_run_context_id"] = str(record.run_context_id)
        details["task_details"] = [self._task_detail(record, t) for t in record.tasks
                                   if t.phase]
        return details

    def workflow_manifest(self, run: Run) -> dict[str, Any] | None:
        record = self._runs.get(run.id)
        return None if record is None else to_manifest(workflow(record))

    def details_revision(self, run: Run) -> int:
        record = self._runs.get(run.id)
        return 0 if record is None else record.revision

    def clear(self) -> None:
        self._runs.clear()
        self._workflows.clear()
        self._graphs.clear()

    def drop_namespace(self, namespace: str) -> None:
        for record in self._in(namespace):
            self._forget(record)

    # -- snapshot (emulator/snapshot.py) ---------------------------------------------------------

    def export_workloads(self) -> dict[str, Any]:
        """Every run's workflow record with its pods (and their log text), in creation order."""
        def log_of(record: RunExecution) -> Callable[[TaskRun], str]:
            return lambda task: self._log(record, task)
        return {"workflows": [export.record_json(r, log_of(r)) for r in self._runs.values()]}

    def workloads_restorer(self, data: Any, runs: Mapping[str, Run]) -> Callable[[], None]:
        """Read an :meth:`export_workloads` whose runs are ``runs`` (by id; ``ValueError``,
        ``KeyError`` or ``TypeError`` when malformed); the returned call replaces the engine's
        records with it.  Task graphs are read again from the runs' specs, once per spec."""
        graphs: dict[str, PipelineGraph] = {}
        records: list[RunExecution] = []
        seen: set[tuple[str, str]] = set()
        for entry in data["workflows"]:
            run = runs.get(entry["run_id"])
            if run is None:
                raise ValueError(f"workflow {entry.get('workflow_name')!r} of unknown run "
                                 f"{entry['run_id']!r}")
            source = run.source
            key = json.dumps([source.pipeline_spec, source.platform_spec,
                              source.workflow_manifest, source.pipeline_manifest],
                             sort_keys=True, default=str)
            graph = graphs.get(key)
            if graph is None:
                graph = graphs[key] = graph_of_source(source)
            record = export.record_from_json(entry, graph)
            where = (record.namespace, record.workflow_name)
            if where in seen:
                raise ValueError(f"workflow {where} listed twice")
            seen.add(where)
            records.append(record)
        if len({r.run_id for r in records}) != len(records):
            raise ValueError("a run has two workflows")

        def install() -> None:
            self.clear()
            for record in records:
                self._runs[record.run_id] = record
                self._workflows.setdefault(record.namespace, {})[
                    record.workflow_name] = record.run_id
            ChangeCounter.tick()
        return install

    # -- building ---------------------------------------------------------------------------------

    def _graph(self, source: PipelineSource) -> PipelineGraph:
        """Parsed once per spec object: runs of one version share their spec and graph."""
        key = (id(source.pipeline_spec), id(source.platform_spec),
               source.workflow_manifest[:64] if source.pipeline_spec is None else "")
        cached = self._graphs.get(key)
        if cached is not None and cached[0] is source.pipeline_spec:
            return cached[1]
        graph = graph_of_source(source)
        if len(self._graphs) >= GRAPH_CACHE:
            self._graphs.pop(next(iter(self._graphs)))
        self._graphs[key] = (source.pipeline_spec, graph)
        return graph

    def _uid(self) -> str:
        """A random (version 4) UUID as text: object uids and the driver's output salt.  From
        the engine's generator (seeded from the OS), a few times cheaper than ``uuid4``."""
        return uuid4_text(self._random.getrandbits(128))

    def _unique_name(self, namespace: str, prefix: str) -> str:
        while True:
            suffix = "".join(self._random.choice(_SUFFIX_ALPHABET) for _ in range(5))
            name = prefix + suffix
            if name not in self._workflows.get(namespace, {}):
                return name

    def _create(self, run: Run, at: float) -> RunExecution:
        graph = self._graph(run.source)
        namespace = run.namespace or self.config.pod_namespace
        if graph.is_v2:
            prefix = generate_name(graph.pipeline_name)
        else:
            metadata = (graph.argo_workflow or {}).get("metadata") or {}
            given = str(metadata.get("generateName") or "") if isinstance(metadata, dict) \
                else ""
            prefix = given if given.endswith("-") else generate_name(graph.pipeline_name)
        name = self._unique_name(namespace, prefix)
        root = recording.pipeline_root(self.cluster, namespace, run.source.pipeline_root,
                                       graph.default_pipeline_root)
        record = RunExecution(
            run_id=run.id, run_name=run.name, namespace=namespace, workflow_name=name,
            generate_name=prefix, uid=self._uid(),
            service_account=self._service_account(run),
            graph=graph, created_at=at,
            pipeline_root=recording.join_uri(root, graph.pipeline_name, run.id),
            recurring_run_id=run.recurring_run_id, phase="Pending")
        for spec in graph.tasks:
            full = node_name(name, spec.name, graph.is_v2)
            template = V2_EXECUTOR_TEMPLATE if graph.is_v2 else spec.template
            record.tasks.append(TaskRun(spec=spec, run_id=run.id, workflow_name=name,
                                        pod_name=pod_name(name, template, full)))
        self._runs[run.id] = record
        self._workflows.setdefault(namespace, {})[name] = run.id
        run.workflow_name = name
        self._admit(record, run, at)
        self._changed(record)
        return record

    def _service_account(self, run: Run) -> str:
        """The run's account; a standalone deployment runs in its own namespace under KFP's
        ``pipeline-runner`` (the Go default of DEFAULTPIPELINERUNNERSERVICEACCOUNT, which the
        emulator's multi-user default ``default-editor`` stands in for)."""
        account = run.service_account or self.config.default_runner_service_account
        if not self.config.multiuser and account == self.config.default_runner_service_account:
            account = STANDALONE_RUNNER
            self.cluster.create_service_account(self.config.pod_namespace, account,
                                                exist_ok=True)
        return account

    def _admit(self, record: RunExecution, run: Run, at: float) -> None:
        """Argo creates the first pod at once: ServiceAccount admission may refuse it."""
        if record.graph.is_v2:
            first = f"{record.workflow_name}.root-driver"
            first_pod = pod_name(record.workflow_name, "system-dag-driver", first)
        elif record.tasks:
            first_pod = record.tasks[0].pod_name
            first = node_name(record.workflow_name, record.tasks[0].spec.name, False)
        else:
            return
        refusal = service_account_refusal(self.cluster, record.namespace,
                                          record.service_account, first_pod)
        if refusal is None:
            record.refused = None
            return
        record.refused = (first, first_pod)
        record.phase, record.message = "Error", refusal
        record.started_at = record.finished_at = at
        run.outcome = RuntimeState.FAILED
        run.error_message = refusal

    # -- moving ---------------------------------------------------------------------------------

    def _changed(self, record: RunExecution) -> None:
        record.revision += 1
        self.cluster.resource_version += 1
        record.resource_version = self.cluster.resource_version
        ChangeCounter.tick()

    def _start(self, record: RunExecution, at: float) -> None:
        if record.refused is not None:
            return
        record.phase = "Running"
        record.started_at = record.started_at or at
        self._recorder().contexts(record)
        self._schedule(record, at)

    def _schedule(self, record: RunExecution, at: float) -> None:
        """Create the pods whose upstream tasks are under way; retry pods that could not
        start (their secret or config map may exist now)."""
        if record.refused is not None or record.phase in FINAL_PHASES:
            return
        changed = False
        for task in record.tasks:
            if task.phase == "Pending":
                resolved = platform.resolve(self.cluster, record.namespace,
                                            task.spec.kubernetes)
                if resolved.waiting is None:
                    task.phase, task.message, task.waiting = "Running", "", None
                    task.mount_failure = ""
                    task.started_at = at
                    changed = True
                continue
            if task.phase:
                continue
            upstream = [record.task(d) for d in task.spec.dependencies]
            if any(u is not None and u.phase in ("", "Pending") for u in upstream):
                continue
            self._create_pod(record, task, at)
            changed = True
        if changed:
            self._changed(record)

    def _create_pod(self, record: RunExecution, task: TaskRun, at: float) -> None:
        task.pod_uid, task.pod_created_at, task.pod_deleted = self._uid(), at, False
        resolved = platform.resolve(self.cluster, record.namespace, task.spec.kubernetes)
        if resolved.waiting is None:
            task.phase, task.started_at = "Running", at
            return
        reason, message = resolved.waiting
        task.phase, task.waiting, task.mount_failure = "Pending", resolved.waiting, \
            resolved.mount_failure
        task.message = f"{reason}: {message}" if message else reason

    def _finish(self, record: RunExecution, at: float, failed: bool) -> None:
        if record.phase in FINAL_PHASES:
            return
        record.phase = "Running"
        self._schedule(record, at)
        recorder = self._recorder()
        recorder.contexts(record)
        runnable = [t for t in record.tasks if t.phase in ("", "Running")]
        failing = runnable[-1] if failed and runnable else None
        for task in record.tasks:
            if task.phase == "Pending":  # reported finished while it could not start
                task.phase, task.finished_at = "Failed", at
                continue
            if task.phase not in ("", "Running"):
                continue
            if not task.pod_uid:
                self._create_pod(record, task, at)
                task.phase = "Running"
            task.started_at = task.started_at or at
            task.finished_at = at
            if task is failing:
                task.phase, task.message = "Failed", FAILED_MESSAGE
                recorder.ended(record, task, self._log_recipe(record, task), "FAILED")
            else:
                task.phase = "Succeeded"
                recorder.succeeded(record, task, self._uid())
                recorder.ended(record, task, self._log_recipe(record, task), "COMPLETE")
        record.phase = "Failed" if failed else "Succeeded"
        record.finished_at = at
        if failing is not None:
            record.message = f"child '{failing.node_id}' failed"

    def _stop(self, record: RunExecution, at: float) -> None:
        """Terminated (``activeDeadlineSeconds: 0``): whatever still runs is failed."""
        if record.phase in FINAL_PHASES and record.refused is None:
            return
        recorder = self._recorder()
        for task in record.tasks:
            if task.phase in ("Running", "Pending"):
                ran = task.phase == "Running"
                task.phase, task.message, task.finished_at = "Failed", DEADLINE_MESSAGE, at
                if ran:
                    recorder.ended(record, task, self._log_recipe(record, task), "CANCELED")
        if record.refused is None:
            record.phase, record.message = "Failed", DEADLINE_MESSAGE
            record.finished_at = at

    def _retry(self, record: RunExecution, run: Run, at: float) -> None:
        """KFP's retry resubmits the workflow: failed nodes run again, new pods."""
        for task in record.tasks:
            if task.phase == "Succeeded":
                continue
            if task.pod_uid:
                task.failed_pods = (*task.failed_pods, task.pod_name)
            task.phase, task.message, task.waiting, task.mount_failure = "", "", None, ""
            task.pod_uid, task.started_at, task.finished_at = "", 0.0, 0.0
        record.phase, record.message, record.finished_at = "Pending", "", 0.0
        record.terminating = False
        self._admit(record, run, at)
        self._changed(record)

    def _forget(self, record: RunExecution) -> None:
        self._runs.pop(record.run_id, None)
        workflows = self._workflows.get(record.namespace, {})
        workflows.pop(record.workflow_name, None)
        if not workflows:
            self._workflows.pop(record.namespace, None)
        self.cluster.resource_version += 1
        ChangeCounter.tick()

    # -- rendering ------------------------------------------------------------------------------

    def _log(self, record: RunExecution, task: TaskRun) -> str:
        """The main container's output: what ran and what it produced (no secret values)."""
        return self._log_recipe(record, task).text()

    def _log_recipe(self, record: RunExecution, task: TaskRun) -> recording.LogRecipe:
        """The log as of now, as the object store keeps it (rendered on read)."""
        spec = task.spec
        resolved = platform.resolve(self.cluster, record.namespace, spec.kubernetes)
        return recording.LogRecipe(
            task.started_at or task.pod_created_at, record.run_id, record.workflow_name,
            task.pod_name, spec, tuple(platform.describe(spec.kubernetes, resolved)),
            tuple(task.artifacts), task.parameters,
            task.phase == "Failed" and task.message == FAILED_MESSAGE)

    def _task_detail(self, record: RunExecution, task: TaskRun) -> dict[str, Any]:
        state = _TASK_STATES.get(task.phase, "RUNTIME_STATE_UNSPECIFIED")
        created = task.pod_created_at or record.created_at
        detail: dict[str, Any] = {
            "run_id": record.run_id, "task_id": task.task_id,
            "display_name": task.spec.display_name,
            "create_time": rfc3339(created),
            "start_time": rfc3339(task.started_at),
            "end_time": rfc3339(task.finished_at),
            "state": state,
        }
        if task.execution_id:
            detail["execution_id"] = str(task.execution_id)
        if task.phase in ("Failed", "Error") and task.message:
            detail["error"] = {"code": 2, "message": task.message}
        detail["executor_detail"] = {"main_job": task.pod_name} | (
            {"failed_main_jobs": list(task.failed_pods)} if task.failed_pods else {})
        outputs = {a.name: {"artifact_ids": [str(a.artifact_id)]}
                   for a in task.artifacts if a.artifact_id}
        if outputs:
            detail["outputs"] = outputs
        inputs = {}
        for input_name, producer, output in task.spec.input_artifacts:
            upstream = record.task(producer)
            found = next((a for a in upstream.artifacts if a.name == output), None) \
                if upstream else None
            if found is not None and found.artifact_id:
                inputs[input_name] = {"artifact_ids": [str(found.artifact_id)]}
        if inputs:
            detail["inputs"] = inputs
        history = [{"update_time": rfc3339(created), "state": "PENDING"}]
        if task.started_at:
            history.append({"update_time": rfc3339(task.started_at), "state": "RUNNING"})
        if task.finished_at and state != "RUNNING":
            history.append({"update_time": rfc3339(task.finished_at), "state": state})
        detail["state_history"] = history
        children = [t.pod_name for t in record.tasks
                    if task.spec.name in t.spec.dependencies and t.pod_uid]
        if children:
            detail["child_tasks"] = [{"pod_name": name} for name in children]
        return detail


_TASK_STATES = {"Pending": "PENDING", "Running": "RUNNING", "Succeeded": "SUCCEEDED",
                "Failed": "FAILED", "Error": "FAILED", "Omitted": "SKIPPED",
                "Skipped": "SKIPPED"}

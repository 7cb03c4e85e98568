"""Stand-ins, holding what a test chooses, installed with monkeypatch: the execution engine's
read side the API server uses (``emulator.execution``: Workflows by run, node artifact keys) and
the cluster's workloads the UI server reads through the Kubernetes API
(``emulator.cluster.workloads``: pod logs, Workflows by name)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator.kube.workloads import NoWorkloads, Workflow


@dataclass
class FakeExecution:
    workflows: dict[str, dict[str, Any]] = field(default_factory=dict)  # run id -> Workflow
    artifact_keys: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def workflow_of_run(self, run_id: str) -> dict[str, Any] | None:
        return self.workflows.get(run_id)

    def node_artifact_key(self, run_id: str, node_id: str, artifact_name: str) -> str | None:
        return self.artifact_keys.get((run_id, node_id, artifact_name))


def archived_workflow(name: str, namespace: str, node_id: str, log_key: str) -> dict[str, Any]:
    """A finished Workflow whose status names the node's archived ``main-logs``."""
    return {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
        "metadata": {"name": name, "namespace": namespace},
        "status": {
            "phase": "Succeeded",
            "artifactRepositoryRef": {"artifactRepository": {
                "archiveLogs": True,
                "s3": {"bucket": "mlpipeline", "endpoint": "seaweedfs.kubeflow:9000",
                       "insecure": True, "key": "unused"}}},
            "nodes": {node_id: {"id": node_id, "outputs": {"artifacts": [
                {"name": "main-logs", "s3": {"key": log_key}}]}}},
        },
    }


@dataclass
class FakeWorkloads(NoWorkloads):
    logs: dict[tuple[str, str], str] = field(default_factory=dict)  # (namespace, pod) -> text
    workflows: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def pod_log(self, namespace: str, pod_name: str) -> str | None:
        return self.logs.get((namespace, pod_name))

    def get_workflow(self, namespace: str, name: str) -> Workflow | None:
        found = self.workflows.get((namespace, name))
        if found is None:
            return None
        return Workflow(namespace, name, body={k: v for k, v in found.items()
                                               if k in ("spec", "status")})

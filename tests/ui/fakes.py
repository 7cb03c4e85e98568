"""A stand-in for the execution engine's read side (``emulator.execution``), holding the
Workflows, pod logs and node artifact keys a test chooses; installed with monkeypatch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FakeExecution:
    workflows: dict[str, dict[str, Any]] = field(default_factory=dict)  # run id -> Workflow
    logs: dict[tuple[str, str], str] = field(default_factory=dict)  # (namespace, pod) -> text
    artifact_keys: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def workflow_of_run(self, run_id: str) -> dict[str, Any] | None:
        return self.workflows.get(run_id)

    def pods_of_run(self, run_id: str) -> list[dict[str, Any]]:
        return []

    def pod_log(self, namespace: str, pod_name: str) -> str | None:
        return self.logs.get((namespace, pod_name))

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

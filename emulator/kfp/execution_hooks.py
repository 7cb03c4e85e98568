"""How the API server's run lifecycle tells whoever executes runs what happened.

The API server itself never runs anything: on a real cluster it creates an Argo Workflow and
the persistence agent reports the workflow's phase back.  The emulator's lifecycle plays the
persistence agent; a :class:`RunExecutor` (``emulator.execution.engine.ExecutionEngine``) plays
Argo and Kubernetes.  Without one attached nothing executes and runs only change state.
"""

from __future__ import annotations

from typing import Any, Protocol

from emulator.kfp.models import Run, RuntimeState


class RunExecutor(Protocol):
    def run_moved(self, run: Run, state: RuntimeState, at: float) -> None:
        """The run entered ``state`` (PENDING first: the workflow is created then)."""

    def next_state(self, run: Run, target: RuntimeState) -> RuntimeState | None:
        """The state the run really reaches when the lifecycle would move it to ``target``:
        ``target`` itself, another (a pod was refused: FAILED), or None (the run is held where
        it is, e.g. a pod that cannot start; the lifecycle asks again later)."""

    def run_deleted(self, run: Run) -> None:
        """The run is gone: so are its workflow and pods."""

    def run_details(self, run: Run) -> dict[str, Any] | None:
        """v2beta1 ``RunDetails`` (task details) as JSON, or None when nothing ran yet."""

    def workflow_manifest(self, run: Run) -> dict[str, Any] | None:
        """The run's Workflow as the Kubernetes API serves it, or None."""

    def details_revision(self, run: Run) -> int:
        """Changes whenever ``run_details`` or ``workflow_manifest`` would change."""

    def clear(self) -> None:
        """Forget every execution (the API server's state was replaced)."""


class NoExecutor:
    """Nothing executes runs: they only change state on the lifecycle's clock."""

    def run_moved(self, run: Run, state: RuntimeState, at: float) -> None:
        return None

    def next_state(self, run: Run, target: RuntimeState) -> RuntimeState | None:
        return target

    def run_deleted(self, run: Run) -> None:
        return None

    def run_details(self, run: Run) -> dict[str, Any] | None:
        return None

    def workflow_manifest(self, run: Run) -> dict[str, Any] | None:
        return None

    def details_revision(self, run: Run) -> int:
        return 0

    def clear(self) -> None:
        return None

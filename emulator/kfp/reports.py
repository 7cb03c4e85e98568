"""ReportService: the persistence agent reports Argo Workflows and ScheduledWorkflows.

Authorized cluster-wide (namespace ``""``) with verb ``report`` on ``workflows`` /
``scheduledworkflows`` (spec section 3.6); a reported workflow updates the state of the run named
by its ``pipeline/runid`` label.
"""

from __future__ import annotations

import json
from typing import Any

from emulator import bugs
from emulator.errors import KfpError, invalid_input, not_found
from emulator.kfp.access import Credentials
from emulator.kfp.lifecycle import Lifecycle
from emulator.kfp.models import TERMINAL_STATES, RuntimeState
from emulator.kfp.state import KfpState
from emulator.kube.rbac import ResourceAttributes

RUN_ID_LABEL = "pipeline/runid"
PHASES = {
    "Pending": RuntimeState.PENDING,
    "Running": RuntimeState.RUNNING,
    "Succeeded": RuntimeState.SUCCEEDED,
    "Failed": RuntimeState.FAILED,
    "Error": RuntimeState.FAILED,
}


def _manifest(text: str, kind: str, subject: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise invalid_input(f"Could not unmarshal {kind}: {exc}: {text}") from None
    metadata = data.get("metadata") if isinstance(data, dict) else None
    if not isinstance(metadata, dict):
        raise invalid_input(f"Could not unmarshal {kind}: expected an object with metadata: "
                            f"{text}")
    for key in ("name", "namespace", "uid"):
        if not metadata.get(key):
            raise invalid_input(f"The {subject} must have a {'UID' if key == 'uid' else key}")
    return data


class ReportService:
    def __init__(self, state: KfpState, lifecycle: Lifecycle) -> None:
        self.state = state
        self.lifecycle = lifecycle

    def _authorize(self, creds: Credentials, resource: str, name: str) -> None:
        if bugs.on(self.state.config, "ISO-003"):
            return  # ISO-003: through 2.0.1 ReportService neither authenticated nor authorized.
        try:
            self.state.access.authorize(creds, ResourceAttributes(
                namespace="", verb="report", resource=resource))
        except KfpError as error:
            raise error.wrap(f"Failed to report {resource} `{name}` due to authorization "
                             "error.") from None

    def report_workflow(self, creds: Credentials, text: str) -> None:
        try:
            workflow = _manifest(text, "workflow", "workflow")
        except KfpError as error:
            raise error.wrap("Report workflow failed") from None
        metadata = workflow["metadata"]
        self._authorize(creds, "workflows", metadata["name"])
        labels = metadata.get("labels") or {}
        run_id = labels.get(RUN_ID_LABEL) if isinstance(labels, dict) else None
        if not run_id:
            raise invalid_input(f"Workflow[{metadata['name']}] missing the Run ID label").wrap(
                "Failed to report workflow")
        run = self.state.runs.get(str(run_id))
        if run is None or run.state in TERMINAL_STATES:
            return  # the real server tolerates reports for unknown or finished runs
        status = workflow.get("status") or {}
        phase = PHASES.get(status.get("phase", "") if isinstance(status, dict) else "")
        if phase is not None and phase != run.state:
            if phase in TERMINAL_STATES:
                self.lifecycle.finish(run, phase)
            else:
                self.lifecycle.move(run, phase)

    def report_scheduled_workflow(self, creds: Credentials, text: str) -> None:
        try:
            swf = _manifest(text, "scheduled workflow", "resource")
        except KfpError as error:
            raise error.wrap("Report scheduled workflow failed") from None
        self._authorize(creds, "scheduledworkflows", swf["metadata"]["name"])
        # The report updates the recurring run the ScheduledWorkflow stands for (its uid); the
        # emulator keeps no ScheduledWorkflow status, so only the lookup has an effect.
        uid = str(swf["metadata"]["uid"])
        if self.state.recurring_runs.get(uid) is None:
            raise not_found("Job", uid).wrap(
                f"Failed to report scheduled workflow due to error retrieving recurring run {uid}"
            ).wrap("Report scheduled workflow failed")

"""The emulated KFP API server: its state and the resource services that act on it."""

from __future__ import annotations

from emulator.clock import Clock
from emulator.config import EmulatorConfig
from emulator.kfp.access import AccessControl, Credentials
from emulator.kfp.auth_check import authorize_viewers
from emulator.kfp.experiments import ExperimentService
from emulator.kfp.lifecycle import Lifecycle
from emulator.kfp.models import RecurringRun, Run
from emulator.kfp.packages import fetch_package
from emulator.kfp.pipelines import PipelineService
from emulator.kfp.recurring import RecurringRunService
from emulator.kfp.reports import ReportService
from emulator.kfp.runs import RunService
from emulator.kfp.state import KfpState
from emulator.kube.cluster import Cluster
from emulator.modes import Mode


class KfpApiServer:
    """One KFP deployment's API server, bound to a cluster and a clock."""

    def __init__(self, config: EmulatorConfig, cluster: Cluster, clock: Clock,
                 mode: Mode | None = None) -> None:
        # How the deployment is reached; healthz names it (the emulator's loud mode statement).
        self.mode = mode or Mode.for_multiuser(config.multiuser)
        self.state = KfpState(config=config, clock=clock, cluster=cluster,
                              access=AccessControl(config, cluster, clock.now))
        self.experiments = ExperimentService(self.state)
        self.pipelines = PipelineService(self.state, fetch_package)
        self.lifecycle = Lifecycle(self.state, self._create_scheduled_run)
        self.runs = RunService(self.state, self.experiments, self.pipelines, self.lifecycle)
        self.recurring_runs = RecurringRunService(self.state, self.runs, self.pipelines,
                                                  self.lifecycle)
        self.reports = ReportService(self.state, self.lifecycle)
        cluster.namespace_deleted.append(self.state.drop_namespace)
        self.start()

    @property
    def config(self) -> EmulatorConfig:
        return self.state.config

    def _create_scheduled_run(self, recurring: RecurringRun, slot: float,
                              index: int) -> Run | None:
        return self.runs.create_scheduled(recurring, slot, index)

    def start(self) -> None:
        """What ``main.go`` does at startup: single-user mode gets its default experiment."""
        if not self.config.multiuser:
            self.experiments.ensure_default()

    def authorize_viewers(self, creds: Credentials, namespace: str, resources: str,
                          verb: str) -> None:
        authorize_viewers(self.state, creds, namespace, resources, verb)

    def reset(self) -> None:
        self.state.clear()
        self.start()

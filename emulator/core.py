"""The emulator: one cluster, one clock and one KFP API server, with the controls tests need."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from emulator.clock import Clock
from emulator.config import EmulatorConfig
from emulator.execution.engine import ExecutionEngine
from emulator.gateway.config import GatewayConfig
from emulator.gateway.sessions import LoginState
from emulator.kfp.models import RuntimeState
from emulator.kfp.server import KfpApiServer
from emulator.kube.cluster import EDITOR_SA, ROLE_TO_CLUSTER_ROLE, Cluster
from emulator.kube.rbac import ClusterRoleBinding, Decision
from emulator.mlmd.store import MetadataStore
from emulator.modes import Mode
from emulator.objectstore.models import ArtifactCredentials, ObjectStore
from emulator.objectstore.provisioning import provision_namespace
from emulator.snapshot import export_state, import_state, resume_timers


@dataclass(frozen=True)
class ProfileSpec:
    """A Profile to provision: owner plus contributors as (email, role) pairs."""

    name: str
    owner: str
    contributors: tuple[tuple[str, str], ...] = ()


# Kubeflow's default static user signs in with this password (Dex staticPasswords).
DEFAULT_PASSWORD = "12341234"


class Emulator:
    """A Kubeflow Pipelines deployment held in memory: multi-user (full Kubeflow) by default.

    ``mode`` says which of the four ways in clients use; a standalone mode turns ``MULTIUSER``
    off.  ``login_users`` are the gateway's static users (email -> password); by default every
    person named by ``profiles`` may sign in with :data:`DEFAULT_PASSWORD`.
    ``gateway_config`` sets the gateway's JWT audiences and session lifetime; ``kfam_admins`` are
    KFAM's ``-cluster-admin`` users.
    """

    def __init__(self, config: EmulatorConfig | None = None, *, clock: Clock | None = None,
                 profiles: list[ProfileSpec] | None = None, mode: Mode | None = None,
                 login_users: dict[str, str] | None = None,
                 gateway_config: GatewayConfig | None = None,
                 kfam_admins: list[str] | None = None,
                 expose_kfam: bool = False) -> None:
        config = config or EmulatorConfig()
        if mode is not None and mode.multiuser != config.multiuser:
            config = dataclasses.replace(config, multiuser=mode.multiuser)
        self.config = config
        self.mode = mode or Mode.for_multiuser(config.multiuser)
        self.clock = clock or Clock()
        self.cluster = Cluster(self.config.pod_namespace, self.clock.now)
        self.kfp = KfpApiServer(self.config, self.cluster, self.clock, self.mode)
        # The artifact store (MinIO / SeaweedFS); the pipelines-profile-controller gives each
        # profile namespace its credentials, which die with the namespace.
        self.object_store = ObjectStore(self.clock.now,
                                        ArtifactCredentials(self.config.artifact_credentials))
        self.cluster.profile_reconciled.append(self._provision_object_store)
        self.cluster.namespace_deleted.append(self.object_store.forget_namespace)
        # ML Metadata (metadata-grpc-service): one store shared by every tenant, as upstream.
        self.metadata = MetadataStore(self.clock.now)
        # Argo and the kubelet: runs become Workflows and Pods in their namespace.
        self.execution = ExecutionEngine(self)
        self._initial_profiles = list(profiles or [])
        self._initial_admins: list[str] = []
        for spec in self._initial_profiles:
            self.add_profile(spec)
        if login_users is None:
            people = [p for spec in self._initial_profiles
                      for p in (spec.owner, *(email for email, _ in spec.contributors))]
            login_users = dict.fromkeys(people, DEFAULT_PASSWORD)
        self.login_users: dict[str, str] = dict(login_users)
        self.gateway_config = gateway_config or GatewayConfig()
        # KFAM's ``-cluster-admin`` flag values (no Kubernetes lookup behind them).
        self.kfam_admins: list[str] = list(kfam_admins or [])
        self.expose_kfam = expose_kfam
        # Gateway login sessions and Dex requests; signed out by reset().
        self.login_state = LoginState()

    # -- provisioning --------------------------------------------------------------------------

    def add_profile(self, spec: ProfileSpec) -> None:
        unknown = sorted({role for _, role in spec.contributors} - set(ROLE_TO_CLUSTER_ROLE))
        if unknown:  # checked first: a bad role must not leave a half-made Profile behind
            raise ValueError(f"profile {spec.name}: unknown contributor role(s) "
                             f"{', '.join(unknown)}; use one of {sorted(ROLE_TO_CLUSTER_ROLE)}")
        with self.kfp.state.lock:
            self.cluster.create_profile(spec.name, spec.owner)
            for email, role in spec.contributors:
                self.cluster.add_contributor(spec.name, email, role)

    def _provision_object_store(self, namespace: str) -> None:
        provision_namespace(self.cluster, self.object_store, namespace)

    def make_cluster_admin(self, user: str) -> ClusterRoleBinding:
        """Bind ``user`` to ``cluster-admin`` (kept across :meth:`reset`)."""
        with self.kfp.state.lock:
            if user not in self._initial_admins:
                self._initial_admins.append(user)
            return self.cluster.make_cluster_admin(user)

    def admin_token(self, ttl_seconds: int = 365 * 24 * 3600) -> str:
        """The kubeconfig credential: cluster-admin on the Kubernetes API by group."""
        with self.kfp.state.lock:
            return self.cluster.mint_admin_token(self.clock.now(), ttl_seconds)

    def user_token(self, username: str, ttl_seconds: int | None = None,
                   audiences: list[str] | None = None) -> str:
        with self.kfp.state.lock:
            return self.cluster.mint_token(
                username, self.clock.now(), ttl_seconds or self.config.token_ttl_seconds,
                audiences or [self.config.token_review_audience])

    def login_session(self, email: str) -> str:
        """A signed-in gateway session for ``email`` (the ``oauth2_proxy_kubeflow`` cookie
        value), as the login flow would leave it; no password is checked."""
        with self.kfp.state.lock:
            return self.login_state.open_session(email, self.clock.now(),
                                                 self.gateway_config.session_seconds)

    def service_account_token(self, namespace: str, name: str = EDITOR_SA,
                              ttl_seconds: int | None = None,
                              audiences: list[str] | None = None) -> str:
        """A projected ServiceAccount token, as a pod in ``namespace`` would mount it."""
        with self.kfp.state.lock:
            return self.cluster.mint_service_account_token(
                namespace, name, self.clock.now(), ttl_seconds or self.config.token_ttl_seconds,
                audiences or [self.config.token_review_audience])

    # -- controls ------------------------------------------------------------------------------

    def advance(self, seconds: float) -> int:
        with self.kfp.state.lock:
            return self.clock.advance(seconds)

    def set_run_outcome(self, run_id: str, outcome: str) -> None:
        state = RuntimeState(outcome)
        if state not in (RuntimeState.SUCCEEDED, RuntimeState.FAILED, RuntimeState.SKIPPED):
            raise ValueError("a run's outcome is SUCCEEDED, FAILED or SKIPPED")
        with self.kfp.state.lock:
            self.kfp.runs.set_outcome(run_id, state)

    def decisions(self, since: int = 0) -> list[Decision]:
        return self.cluster.authorizer.decisions(since)

    def reset(self) -> None:
        """Forget every KFP object and every cluster change; keep the initial profiles."""
        with self.kfp.state.lock:
            self.kfp.state.clear()
            self.login_state.clear()
            self.object_store.clear()
            self.metadata.clear()
            # User tokens stay valid; ServiceAccount tokens die with their recreated accounts.
            self.cluster.reset()
            for spec in self._initial_profiles:
                self.add_profile(spec)
            for user in self._initial_admins:
                self.cluster.make_cluster_admin(user)
            self.kfp.start()

    def export_state(self) -> dict[str, Any]:
        return export_state(self.cluster, self.kfp, self.clock.now())

    def import_state(self, data: Any) -> None:
        with self.kfp.state.lock:
            snapshot_time = import_state(self.cluster, self.kfp, data)
            now = self.clock.now()
            if snapshot_time > now:
                self.clock.advance(snapshot_time - now)
            resume_timers(self.kfp)

"""Live targets: connect to what a target file describes, or start the embedded emulator.

Three kinds, one interface (:class:`Connection`):

- ``inprocess``: an emulator started in this process (the default of ``certify``);
- ``url``: an emulator already running elsewhere (``serve --write-target`` wrote its file);
- ``cluster``: a real deployment (its target file names the kubeconfig and the KFP endpoints).

A connection hands out HTTP sessions per caller: a person (the identity header on the direct
endpoint inside the cluster, a login session through the gateway outside), a ServiceAccount (a
token from the TokenRequest API, minted through the kubeconfig), or nobody.  The suite never
reaches into an emulator's internals, so it runs the same against a real cluster.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kubernetes import client as k8s
from kubernetes import config as k8s_config

from conformance.detection import resolve
from conformance.login import login_cookies
from conformance.provisioning import EDITOR_SA, request_token
from conformance.target import LoginUser, Target, TargetError
from emulator.config import EmulatorConfig
from emulator.core import Emulator
from emulator.modes import Mode
from emulator.serving import EmulatorServer
from emulator.testing import IdentitySession

USERID_HEADER = "kubeflow-userid"
TARGET_KINDS = ("inprocess", "url", "cluster")


@dataclass(frozen=True)
class Person:
    email: str


@dataclass(frozen=True)
class ServiceAccount:
    namespace: str
    name: str = EDITOR_SA
    audience: str = "pipelines.kubeflow.org"


@dataclass(frozen=True)
class Nobody:
    pass


Caller = Person | ServiceAccount | Nobody


@dataclass
class Connection:
    """A target one can talk to: its description and a Kubernetes client with admin rights."""

    target: Target
    kube: k8s.ApiClient
    _tokens: dict[ServiceAccount, str] = field(default_factory=dict)
    _cookies: dict[str, str] = field(default_factory=dict)
    _sessions: dict[tuple[Caller, bool], IdentitySession] = field(default_factory=dict)
    # What was found out about the target once (conformance.requirements): reason or None.
    probed: dict[str, str | None] = field(default_factory=dict)

    @property
    def mode(self) -> Mode:
        if self.target.mode is None:
            raise TargetError(f"target {self.target.name}: its mode was not resolved")
        return self.target.mode

    def session(self, caller: Caller, *, outside: bool | None = None) -> IdentitySession:
        """A session for ``caller`` through the mode's door (or the one asked for)."""
        outside = self.mode.access == "outside" if outside is None else outside
        host = self.target.kfp_gateway if outside else self.target.kfp_direct
        if not host:
            raise TargetError(f"target {self.target.name} has no "
                              f"{'gateway' if outside else 'direct'} KFP endpoint")
        session = IdentitySession(host, {}, _label(caller))
        if isinstance(caller, ServiceAccount):
            session.headers["Authorization"] = f"Bearer {self.token(caller)}"
        elif isinstance(caller, Person) and self.mode.multiuser:
            if outside:
                session.headers["Cookie"] = self.login(caller.email)
            else:
                # Inside the cluster a system component speaks for the person with the
                # identity header the API server trusts (spec section 2.2).
                session.headers[USERID_HEADER] = caller.email
        return session

    def pooled_session(self, caller: Caller, *, outside: bool) -> IdentitySession:
        """One kept-alive session per caller and door for the whole run (scenarios are many
        and short; a fresh connection per scenario would dominate the suite's time)."""
        key = (caller, outside)
        if key not in self._sessions:
            self._sessions[key] = self.session(caller, outside=outside)
        return self._sessions[key]

    def token(self, account: ServiceAccount) -> str:
        """A TokenRequest token for the account, minted once per connection."""
        if account not in self._tokens:
            self._tokens[account] = request_token(self.kube, account.namespace, account.name,
                                                  audiences=[account.audience])
        return self._tokens[account]

    def minted_token(self, account: ServiceAccount) -> str | None:
        """The token already minted for the account, if any (never mints one)."""
        return self._tokens.get(account)

    def held_secrets(self) -> list[str]:
        """Every token and session cookie this connection holds, for redaction."""
        return [*self._tokens.values(), *self._cookies.values()]

    def password(self, email: str) -> str:
        """The password of a static user of the target file (never logged)."""
        user = next((u for u in self.target.users if u.email == email), None)
        if user is None:
            raise TargetError(f"target {self.target.name} has no login user {email}")
        return user.resolve_password()

    def login(self, email: str) -> str:
        """The gateway session cookie of a static user of the target file."""
        if email not in self._cookies:
            self._cookies[email] = login_cookies(self.target.kfp_gateway, email,
                                                 self.password(email))
        return self._cookies[email]

    def forget_credentials(self) -> None:
        """Drop cached tokens and sessions (after a reset, or to test their expiry)."""
        self._tokens.clear()
        self._cookies.clear()
        self.close_sessions()

    def close_sessions(self) -> None:
        for session in self._sessions.values():
            session.close()
        self._sessions.clear()


def _label(caller: Caller) -> str:
    if isinstance(caller, Person):
        return caller.email
    if isinstance(caller, ServiceAccount):
        return f"system:serviceaccount:{caller.namespace}:{caller.name}"
    return "anonymous"


IN_CLUSTER = "in-cluster"  # the kubeconfig word: the pod's own ServiceAccount


def kube_client(kubeconfig: str) -> k8s.ApiClient:
    """A client from a kubeconfig file, or from the pod's ServiceAccount when the target says
    ``kubeconfig: in-cluster`` (``certify --in-cluster``: the suite runs as a Job)."""
    if not kubeconfig:
        raise TargetError("the target names no kubeconfig: provisioning needs one")
    if kubeconfig == IN_CLUSTER:
        configuration = k8s.Configuration()
        try:
            k8s_config.load_incluster_config(client_configuration=configuration)
        except k8s_config.ConfigException as exc:
            raise TargetError(f"kubeconfig {IN_CLUSTER}: this is not a pod with a "
                              f"ServiceAccount token ({exc})") from None
        return k8s.ApiClient(configuration)
    try:
        return k8s_config.new_client_from_config(config_file=kubeconfig)
    except (OSError, k8s_config.ConfigException) as exc:
        raise TargetError(f"cannot use kubeconfig {kubeconfig}: {exc}") from None


def describe_emulator(server: EmulatorServer, kubeconfig: Path | None) -> Target:
    """The target file describing a running emulator (what ``serve --write-target`` writes)."""
    emulator = server.emulator
    with emulator.kfp.state.lock:
        login_users = sorted(emulator.login_users.items())
    return Target(
        name="kfp-isolation-emulator",
        mode=emulator.mode,
        kfp_direct=server.url,
        kfp_gateway=server.gateway_url + "/pipeline",
        gateway=server.gateway_url,
        kubeconfig=str(kubeconfig.resolve()) if kubeconfig else "",
        users=tuple(LoginUser(email, password) for email, password in login_users),
        emulator_controls=server.url + "/_emulator",
        object_store=server.object_store_url,
        metadata=server.metadata_url,
    )


@contextlib.contextmanager
def connect(target: Target) -> Iterator[Connection]:
    """A connection to a running target (``url`` or ``cluster``), its mode detected or
    confirmed from the deployment's own answers first."""
    target = resolve(target)
    api = kube_client(target.kubeconfig)
    connection = Connection(target, api)
    try:
        yield connection
    finally:
        connection.close_sessions()
        close_client(api)


def close_client(api: k8s.ApiClient) -> None:
    """Close the client and its kept-alive connections (``ApiClient.close`` keeps them: a
    server then waits on them when it shuts down)."""
    api.close()
    api.rest_client.pool_manager.clear()


@contextlib.contextmanager
def inprocess(mode: Mode = Mode.FULL_INSIDE, login_users: dict[str, str] | None = None,
              config: EmulatorConfig | None = None) -> Iterator[Connection]:
    """The embedded emulator, empty (the suite provisions its own tenants), in ``mode``, with
    the static users the suite will sign in as."""
    emulator = Emulator(config, profiles=[], mode=mode, login_users=dict(login_users or {}))
    with tempfile.TemporaryDirectory(prefix="kfp-iso-target-") as folder, \
            EmulatorServer(emulator) as server:
        kubeconfig = server.write_kubeconfig(Path(folder) / "kubeconfig")
        with connect(describe_emulator(server, kubeconfig)) as connection:
            yield connection


@contextlib.contextmanager
def open_target(kind: str, target_file: Path | None = None, mode: Mode = Mode.FULL_INSIDE,
                login_users: dict[str, str] | None = None,
                config: EmulatorConfig | None = None) -> Iterator[Connection]:
    """``inprocess`` starts the emulator (with ``config``); ``url`` and ``cluster`` read
    ``target_file``."""
    if kind not in TARGET_KINDS:
        raise TargetError(f"target kind must be one of {', '.join(TARGET_KINDS)}")
    if kind == "inprocess":
        with inprocess(mode, login_users, config) as connection:
            yield connection
        return
    if target_file is None:
        raise TargetError(f"a {kind} target needs a target file")
    target = Target.load(target_file)
    if kind == "url" and not target.is_emulator:
        raise TargetError(f"{target_file} describes no emulator (no emulator.controls); "
                          "use --target cluster")
    with connect(target) as connection:
        yield connection

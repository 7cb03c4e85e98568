"""``cluster up|down|status``: the steps, with the binaries behind an injected :class:`Runner`.

``up`` follows the kubeflow/manifests README (``26.03``): a kind cluster with the
ServiceAccount issuer settings (:mod:`conformance.cluster.commands`), then
``kustomize build <kustomization> | kubectl apply --server-side --force-conflicts -f -``
retried until it succeeds (custom resources fail until their CRDs are served), then what the
suite needs Available, found by the labels upstream gives it (:data:`commands.READY`: KFP by
``application-crd-id=kubeflow-pipelines``, the profile controller and KFAM, Istio, Dex,
oauth2-proxy, cert-manager; not Katib, KServe or Knative).  The manifests come from a checkout
(``--manifests DIR`` with ``--kustomization``, default ``example``), any kustomization
(``--kustomize DIR|URL``, built as it is) or, by default, kubeflow/manifests at the pinned ref
as a kustomize remote target.  KFP's own ``platform-agnostic-multi-user`` environment is not
enough by itself: it expects Istio, the Profile controller and the login stack to be there
already, so it is a ``--kustomize`` choice on top of them, not the default.

The manifests' ``example`` signs people in through Dex only (oauth2-proxy overlay
``m2m-dex-only``); the suite's outside-mode callers also present ServiceAccount tokens at the
gateway, which the ``m2m-dex-and-kind`` overlay allows.  So a manifests source is installed
through a small overlay written into the state directory (:func:`commands.m2m_overlay`): the
example plus that overlay's two components, its RequestAuthentication pointed at the issuer
the kind config sets.  ``git`` is always required: kustomize fetches remote bases with it, and
even a local checkout has some (KFP's manifests take Argo's CRDs from github.com — found by
building ``example`` of ``26.03`` offline).

Then, through the Kubernetes API with the same code the suite uses: the cast's Dex users
(:mod:`conformance.cluster.dex`), two tenant profiles (:func:`provisioning.create_profile`),
a port-forward of ``svc/istio-ingressgateway`` (port 80), a sign-in as alice through the
gateway, and the target file ``certify`` reads.  Every step is idempotent, so ``up`` again
repairs or refreshes (new passwords, a new port-forward) a cluster that exists.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from conformance import cast
from conformance.cluster import commands, dex, versions
from conformance.cluster.runner import Runner
from conformance.detection import HEALTHZ
from conformance.login import LoginError, login_cookies
from conformance.provisioning import (
    PROFILE_GROUP,
    PROFILE_PLURAL,
    PROFILE_VERSION,
    create_profile,
    wait_for,
    wait_for_profile,
)
from conformance.target import LoginUser, Target
from conformance.targets import close_client, kube_client

TENANTS = (("kfp-isolation-alice", cast.PEOPLE["alice"]),
           ("kfp-isolation-bob", cast.PEOPLE["bob"]))
SIGN_IN_AS = cast.PEOPLE["alice"]
PID_FILE = "port-forward.pid"
LOG_FILE = "port-forward.log"
STATE_FILE = "state.yaml"
STEPS = ("tools", "kind config", "cluster", "install", "readiness", "dex users",
         "tenant profiles", "port-forward", "gateway sign-in", "target")


class ClusterError(Exception):
    """A configuration the recipe cannot use (exit 2): the message says what is wrong."""


class StepFailed(RuntimeError):
    """A step did not succeed in time (exit 1): the message names the step and why."""


RegisterUsers = Callable[[k8s.ApiClient, Mapping[str, str]], None]
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    name: str = "kfp-isolation"
    manifests: Path | None = None
    kustomize: str = ""
    kustomization: str = "example"
    state_dir: Path = Path(".kfp-isolation")
    write_target: Path = Path("kfp-isolation-cluster.yaml")
    gateway_port: int = 8080
    node_image: str = versions.KIND_NODE_IMAGE
    timeout: float = 1800.0  # per waiting step
    retry_interval: float = 20.0  # between apply attempts, as the manifests README's loop

    @property
    def state(self) -> Path:
        """This cluster's own state (kind config, kubeconfig, port-forward pid and log)."""
        return self.state_dir / self.name

    @property
    def kubeconfig(self) -> Path:
        return (self.state / "kubeconfig").resolve()

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def source(self) -> Source:
        """What ``kustomize build`` renders, checked before anything is created."""
        if self.manifests is not None and self.kustomize:
            raise ClusterError("give --manifests or --kustomize, not both")
        if self.manifests is not None:
            if not self.manifests.is_dir():
                raise ClusterError(f"--manifests {self.manifests}: no such directory")
            path = self.manifests / self.kustomization
            if not _has_kustomization(path):
                raise ClusterError(f"--manifests {self.manifests}: {path} has no "
                                   "kustomization.yaml (--kustomization names the directory "
                                   "inside the checkout, default example)")
            components = [self.manifests.resolve() / c for c in commands.M2M_COMPONENTS]
            if not all(_has_kustomization(c) for c in components):
                return Source(str(path.resolve()), note="no m2m components in this checkout: "
                              "the gateway will not accept ServiceAccount tokens")
            return Source(str(path.resolve()), tuple(str(c) for c in components))
        if self.kustomize:
            if _remote(self.kustomize):
                return Source(self.kustomize)
            path = Path(self.kustomize)
            if not _has_kustomization(path):
                raise ClusterError(f"--kustomize {self.kustomize}: not a directory with a "
                                   "kustomization.yaml, nor a remote target (https://...)")
            return Source(str(path.resolve()))
        return Source(versions.manifests_url(self.kustomization),
                      tuple(versions.manifests_url(c) for c in commands.M2M_COMPONENTS))

    def check(self) -> Options:
        if not self.name or not all(c.isalnum() or c in "-." for c in self.name):
            raise ClusterError(f"--name {self.name!r}: use letters, digits, '-' and '.'")
        if not 0 < self.gateway_port < 65536:
            raise ClusterError(f"--gateway-port {self.gateway_port}: not a TCP port")
        if self.timeout <= 0:
            raise ClusterError(f"--timeout {self.timeout}: must be positive")
        self.source()
        return self


def _remote(source: str) -> bool:
    return "://" in source or source.startswith(("github.com/", "git@"))


def _has_kustomization(path: Path) -> bool:
    return any((path / name).is_file()
               for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"))


@dataclass(frozen=True)
class Source:
    """A kustomization to install (a directory or a remote target) and, for kubeflow/manifests,
    the m2m components an overlay adds to it (:func:`commands.m2m_overlay`)."""

    resource: str
    components: tuple[str, ...] = ()
    note: str = ""

    def overlay(self, directory: Path) -> str:
        """Write the overlay into ``directory``; what to build (the resource without one)."""
        if not self.components:
            return self.resource
        directory.mkdir(parents=True, exist_ok=True)

        def relative(where: str) -> str:
            return where if _remote(where) else os.path.relpath(where, directory.resolve())
        (directory / "kustomization.yaml").write_text(commands.m2m_overlay(
            relative(self.resource), [relative(c) for c in self.components]))
        return str(directory.resolve())


@dataclass
class Outcome:
    """What ``up`` made: where the target file is and what to run next."""

    target_file: Path
    target: Target
    created: bool  # False: the cluster existed already


def up(options: Options, runner: Runner, *, which: Callable[[str], str | None] = shutil.which,
       register_users: RegisterUsers = dex.register, progress: Progress = print) -> Outcome:
    """Create (or refresh) the cluster and write the target file."""
    options.check()
    source = options.source()
    steps = _Steps(progress)

    with steps("tools"):
        # git: kustomize fetches remote bases with it (KFP's own manifests take Argo's CRDs
        # from github.com), so a local checkout needs it too.
        tools = commands.Tools.find(need_git=True, which=which)
        if register_users is dex.register:
            dex.require_bcrypt()  # before a cluster is made, not twenty minutes later

    with steps("kind config"):
        options.state.mkdir(parents=True, exist_ok=True)
        config = options.state / "kind-config.yaml"
        config.write_text(commands.kind_config(options.name))

    with steps("cluster") as step:
        created = not _cluster_exists(runner, tools, options.name)
        if created:
            _check(runner.run(commands.kind_create(tools, options.name, config, options.kubeconfig,
                                               options.node_image)), "kind create cluster")
            step.note = f"created {options.name}"
        else:
            _check(runner.run(commands.kind_export_kubeconfig(tools, options.name,
                                                          options.kubeconfig)),
                   "kind export kubeconfig")
            step.note = f"{options.name} exists already"
        _write_state(options)

    with steps("install") as step:
        step.note = _install(runner, tools, options, source.overlay(options.state / "install"))
        if source.note:
            step.note += f"; {source.note}"

    with steps("readiness") as step:
        waits = readiness(source)
        for ready in waits:
            _wait_ready(runner, tools, options, ready)
        step.note = ", ".join(dict.fromkeys(ready.what for ready in waits))

    passwords = dex.fresh_passwords(list(cast.PEOPLE.values()))
    api = kube_client(str(options.kubeconfig))
    try:
        with steps("dex users") as step:
            register_users(api, passwords)
            _check(runner.run(commands.kubectl(
                tools, options.kubeconfig, "rollout", "status", "-n", dex.DEX_NAMESPACE,
                f"deployment/{dex.DEX_DEPLOYMENT}", f"--timeout={int(options.timeout)}s")),
                "kubectl rollout status deployment/dex")
            step.note = f"{len(passwords)} users"
        with steps("tenant profiles") as step:
            for name, owner in TENANTS:
                ensure_profile(api, name, owner, timeout=options.timeout)
            step.note = ", ".join(name for name, _ in TENANTS)
    finally:
        close_client(api)

    with steps("port-forward") as step:
        pid = start_port_forward(runner, tools, options)
        step.note = f"{options.gateway} (pid {pid})"

    with steps("gateway sign-in") as step:
        step.note = wait_for_sign_in(options.gateway + "/pipeline", SIGN_IN_AS,
                                     passwords[SIGN_IN_AS], options.timeout,
                                     forwarding=lambda: _forwarding(runner, options, pid))

    with steps("target") as step:
        target = Target(name=f"kind-{options.name}", mode=None,
                        kfp_gateway=options.gateway + "/pipeline", gateway=options.gateway,
                        kubeconfig=str(options.kubeconfig),
                        users=tuple(LoginUser(email, password)
                                    for email, password in passwords.items()))
        target_file = target.dump(options.write_target).resolve()
        _write_state(options, target_file)
        step.note = str(target_file)
    return Outcome(target_file, target, created)


class _Steps:
    """One progress line per step: ``[3/10] cluster: created kfp-isolation``."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.note = ""
        self._name = ""

    def __call__(self, name: str) -> _Steps:
        self._name = name
        self.note = ""
        return self

    def __enter__(self) -> _Steps:
        return self

    def __exit__(self, kind_: object, exc: object, tb: object) -> None:
        number = STEPS.index(self._name) + 1
        status = "failed" if exc is not None else (self.note or "ok")
        self.progress(f"[{number}/{len(STEPS)}] {self._name}: {status}")


def _check(done: subprocess.CompletedProcess[str], what: str) -> None:
    if done.returncode != 0:
        raise StepFailed(f"{what} failed (exit {done.returncode}): {_tail(done.stderr)}")


def _tail(text: str | None, lines: int = 5) -> str:
    return " | ".join((text or "").strip().splitlines()[-lines:]) or "no output"


def _cluster_exists(runner: Runner, tools: commands.Tools, name: str) -> bool:
    listed = runner.run(commands.kind_get_clusters(tools))
    _check(listed, "kind get clusters")
    return name in commands.clusters_listed(listed.stdout or "")


def _install(runner: Runner, tools: commands.Tools, options: Options, source: str) -> str:
    built = runner.run(commands.build(tools, source))
    _check(built, f"building {source}")
    attempts: list[subprocess.CompletedProcess[str]] = []

    def applied() -> bool:
        attempts.append(runner.run(commands.apply_server_side(tools, options.kubeconfig),
                                   input=built.stdout))
        return attempts[-1].returncode == 0
    try:
        wait_for("kubectl apply", applied, options.timeout, options.retry_interval)
    except TimeoutError:
        raise StepFailed(f"kubectl apply still failing after {len(attempts)} attempts: "
                         f"{_tail(attempts[-1].stderr)}") from None
    return f"{source} applied (attempt {len(attempts)})"


def readiness(source: Source) -> tuple[commands.Ready, ...]:
    """What must be up before the suite can run: :data:`commands.READY`, and the JWKS proxy
    when the recipe's overlay adds it."""
    return commands.READY + ((commands.READY_M2M,) if source.components else ())


def _wait_ready(runner: Runner, tools: commands.Tools, options: Options,
                ready: commands.Ready) -> None:
    """One ``kubectl wait``; any failure fails the step, nothing selected included (the
    kustomization did not install what the suite needs, or labels it otherwise)."""
    done = runner.run(commands.wait_ready(tools, options.kubeconfig, ready,
                                          int(options.timeout)))
    what = f"{ready.what} ({ready.resource} -l {ready.selector} -n {ready.namespace})"
    if done.returncode != 0 and "no matching resources" in (done.stderr or ""):
        raise StepFailed(f"nothing installed matches {what}: is it in the kustomization?")
    _check(done, f"waiting for {what}")


def ensure_profile(api: k8s.ApiClient, name: str, owner: str, *, timeout: float) -> bool:
    """The Profile, created with the suite's own :func:`create_profile` unless it exists
    already (then its namespace and editor are awaited the same way); True if created."""
    try:
        k8s.CustomObjectsApi(api).get_cluster_custom_object(
            PROFILE_GROUP, PROFILE_VERSION, PROFILE_PLURAL, name)
    except ApiException as exc:
        if exc.status != 404:
            raise
        create_profile(api, name, owner, timeout=timeout)
        return True
    wait_for_profile(api, name, timeout=timeout)
    return False


def start_port_forward(runner: Runner, tools: commands.Tools, options: Options) -> int:
    """A fresh ``kubectl port-forward`` of the gateway (the previous one of this state, if
    any, is stopped first); its pid goes to the state directory."""
    stop_port_forward(runner, options)
    pid = runner.start_background(commands.port_forward(tools, options.kubeconfig,
                                                    options.gateway_port),
                                  options.state / LOG_FILE)
    (options.state / PID_FILE).write_text(f"{pid}\n")
    return pid


def stop_port_forward(runner: Runner, options: Options) -> bool:
    pid = _pid(options)
    if pid is None:
        return False
    stopped = runner.alive(pid)
    if stopped:
        runner.stop(pid)
    (options.state / PID_FILE).unlink(missing_ok=True)
    return stopped


def _pid(options: Options) -> int | None:
    try:
        return int((options.state / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def _forwarding(runner: Runner, options: Options, pid: int) -> None:
    """Fail at once, with its log, when the port-forward ended (a port already taken, the
    Service missing) instead of waiting out the sign-in timeout."""
    if not runner.alive(pid):
        try:
            log = (options.state / LOG_FILE).read_text()
        except OSError:
            log = ""
        raise StepFailed(f"kubectl port-forward (pid {pid}) exited: {_tail(log)} "
                         f"(log: {options.state / LOG_FILE})")


def wait_for_sign_in(kfp_host: str, email: str, password: str, timeout: float,
                     interval: float = 2.0,
                     forwarding: Callable[[], None] = lambda: None) -> str:
    """Sign in through the gateway (Dex restarts, the port-forward connects) and ask KFP's
    healthz with the session: the deployment is ready when it says ``multi_user``.
    ``forwarding`` raises when the way to the gateway is gone for good."""
    last = ["no answer yet"]

    def signed_in() -> bool:
        forwarding()
        try:
            cookies = login_cookies(kfp_host, email, password, timeout=15)
            answer = requests.get(kfp_host + HEALTHZ, headers={"Cookie": cookies}, timeout=15)
            if answer.status_code == 200 and answer.json().get("multi_user") is True:
                return True
            last[0] = f"healthz answered HTTP {answer.status_code}: {answer.text[:120]!r}"
        except (requests.RequestException, LoginError, ValueError) as exc:
            last[0] = f"{type(exc).__name__}: {str(exc)[:200]}"
        return False
    try:
        wait_for(f"a sign-in as {email}", signed_in, timeout, interval)
    except TimeoutError:
        raise StepFailed(f"no sign-in as {email} at {kfp_host} within {timeout:.0f} s "
                         f"({last[0]})") from None
    return f"{email} signed in, healthz multi_user=true"


def _write_state(options: Options, target_file: Path | None = None) -> None:
    state = {"cluster": options.name, "gatewayPort": options.gateway_port,
             "kubeconfig": str(options.kubeconfig)}
    if target_file is not None:
        state["targetFile"] = str(target_file)
    (options.state / STATE_FILE).write_text(yaml.safe_dump(state, sort_keys=False))


def _read_state(options: Options) -> dict[str, object]:
    try:
        data = yaml.safe_load((options.state / STATE_FILE).read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def down(options: Options, runner: Runner, *, which: Callable[[str], str | None] = shutil.which,
         progress: Progress = print) -> list[str]:
    """Stop the port-forward, delete the cluster, remove the state and the target file this
    cluster's ``up`` wrote; harmless when any of them is gone already.  Returns what it did."""
    done = []
    if stop_port_forward(runner, options):
        done.append("port-forward stopped")
    tools = commands.Tools.find(need_engine=False, which=which)
    if _cluster_exists(runner, tools, options.name):
        _check(runner.run(commands.kind_delete(tools, options.name)), "kind delete cluster")
        done.append(f"cluster {options.name} deleted")
    target_file = _read_state(options).get("targetFile")
    if isinstance(target_file, str) and _names_cluster(Path(target_file), options.name):
        Path(target_file).unlink()
        done.append(f"target file {target_file} removed")
    if options.state.exists():
        shutil.rmtree(options.state)
        done.append(f"state {options.state} removed")
        if options.state_dir.is_dir() and not any(options.state_dir.iterdir()):
            options.state_dir.rmdir()
    for line in done or [f"nothing to do: no cluster {options.name}, no state"]:
        progress(line)
    return done


def _names_cluster(path: Path, name: str) -> bool:
    """Only a target file that still describes this kind cluster is removed."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and data.get("name") == f"kind-{name}"


@dataclass(frozen=True)
class Status:
    cluster: bool
    port_forward: int | None  # the live pid, or None
    gateway: str  # what the gateway answered, or why not

    @property
    def healthy(self) -> bool:
        return self.cluster and self.port_forward is not None and \
            self.gateway.startswith("HTTP ") and not self.gateway.startswith("HTTP 5")


def status(options: Options, runner: Runner, *,
           which: Callable[[str], str | None] = shutil.which, progress: Progress = print) -> Status:
    """Does the cluster exist, is the port-forward alive, does the gateway answer?"""
    tools = commands.Tools.find(need_engine=False, which=which)
    exists = _cluster_exists(runner, tools, options.name)
    pid = _pid(options)
    alive = pid if pid is not None and runner.alive(pid) else None
    port = _read_state(options).get("gatewayPort", options.gateway_port)
    url = f"http://127.0.0.1:{port}/pipeline{HEALTHZ}"
    try:
        answer = requests.get(url, timeout=10, allow_redirects=False)
        gateway = f"HTTP {answer.status_code}" + (
            " (the login proxy asks for a session)" if answer.status_code in (302, 401) else "")
    except requests.RequestException as exc:
        gateway = f"unreachable ({type(exc).__name__})"
    found = Status(exists, alive, gateway)
    progress(f"cluster {options.name}: {'exists' if exists else 'absent'}")
    progress(f"port-forward: {f'alive (pid {alive})' if alive else 'not running'}")
    progress(f"gateway {url}: {gateway}")
    return found

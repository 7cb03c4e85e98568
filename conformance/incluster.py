"""``kfp-isolation certify --in-cluster``: the suite as a Kubernetes Job inside the cluster.

Why inside: the ``full-inside`` and ``standalone-inside`` modes are what a pipeline step or a
notebook sees (the direct ``ml-pipeline.kubeflow:8888`` endpoint, the kfp SDK's projected
token); only a pod in the cluster can certify them.

What the manifests hold, and why:

* a dedicated **runner namespace** (default ``kfp-isolation-runner``), a plain Namespace, *not*
  a Profile.  A Profile would make the runner a tenant (an owner, a dashboard entry, the
  profile controller reconciling its RBAC and policies) while the suite's guarantees are about
  the tenants it provisions itself and removes afterwards.  It carries the one label of a
  Profile namespace the network needs: Kubeflow's NetworkPolicies admit pods to ``ml-pipeline``
  (and the object store's S3 port) only from namespaces labelled
  ``app.kubernetes.io/part-of: kubeflow-profile`` or from ``istio-system``
  (kubeflow/manifests ``common/kubeflow-namespace/base/kubeflow/ml-pipeline.yaml``,
  kubeflow/pipelines ``manifests/kustomize/third-party/seaweedfs/base/seaweedfs/
  seaweedfs-networkpolicy.yaml``), so the runner stands on a tenant pod's footing.  A namespace
  that already exists (``--namespace``) is used as it is and never deleted: it must be a
  Profile namespace (or carry that label).  metadata-envoy admits only ``istio-system`` and
  its own namespace (``.../kubeflow/metadata-envoy.yaml``), so no pod of a tenant reaches it:
  the in-cluster target names no ML Metadata endpoint and those scenarios end ``not
  supported`` with that reason.
* ServiceAccount ``kfp-isolation`` bound to **cluster-admin** (a ClusterRoleBinding): the suite
  provisions Profiles (cluster-scoped), RoleBindings in the tenants' namespaces, TokenRequests
  for the tenants' accounts, and binds a cluster-admin actor of its own (the matrix's
  "cluster admin" identity), exactly what it does through the operator's kubeconfig from
  outside.  Nothing less lets it create and remove whole tenants.
* a ConfigMap with the in-cluster target file (the cluster's service names, kubeconfig
  ``in-cluster``: :func:`conformance.targets.kube_client` then uses the pod's ServiceAccount);
  no secret ever goes into it.  Login users' passwords (for the gateway scenarios) go into a
  Secret created only by ``--apply`` and referenced by the Job's env; it is never printed.
* the Job: the suite image, non-root and read-only, the kfp SDK's projected token (audience
  ``pipelines.kubeflow.org`` at ``/var/run/secrets/kubeflow/pipelines/token``), running
  ``kfp-isolation certify --target cluster ... --report-archive``: the report folder goes to
  the end of the pod's log as a base64 tar.gz between two marker lines (:func:`emit_archive`),
  which :func:`collect` reads back through the Kubernetes API.

**Istio (multi-user only).**  The suite's inside mode speaks for people with the
``kubeflow-userid`` header on the direct endpoint, as KFP's own components do.  Kubeflow
admits such requests to ``ml-pipeline`` only from KFP's system ServiceAccounts
(kubeflow/pipelines
``manifests/kustomize/base/installs/multi-user/istio-authorization-config.yaml``,
AuthorizationPolicy ``ml-pipeline``: an ALLOW rule ``from.source.principals`` listing
``cluster.local/ns/kubeflow/sa/ml-pipeline*``, and a rule admitting requests *without* the
header); kubeflow/manifests adds a mesh-wide deny-all (``common/istio/istio-install/base/
deny_all_authorizationpolicy.yaml``), so ALLOW policies are the only way in, and they add up.
Decision: one extra ALLOW AuthorizationPolicy in ``kubeflow``, the same selector
(``app: ml-pipeline``), admitting exactly the runner's mTLS principal
``cluster.local/ns/<runner namespace>/sa/kfp-isolation``; created before the Job and deleted
with it.  Upstream's policies stay untouched, and nothing else gains the right to assert
identities.  A principal exists only with mutual TLS, so the pod must have a sidecar: the pod
template carries the label ``sidecar.istio.io/inject: "true"`` (and the namespace the
``istio-injection`` label).  The requests the suite sends as ServiceAccounts (a bearer token,
no header) or as nobody pass upstream's header-less rule, as any tenant's would; the gateway
and the UI server are reached like from any meshed pod.

A sidecar keeps a Job's pod running after the suite ends.  Kubeflow's Istio (1.29, istiod
``ENABLE_NATIVE_SIDECARS=true``, kubeflow/manifests ``common/istio/README.md``,
``istio-install/base/install.yaml``: the injection template reads the
``sidecar.istio.io/nativeSidecar`` annotation) injects the proxy as a native sidecar (an init
container with ``restartPolicy: Always``) that Kubernetes stops when the suite ends; the pod
asks for it by annotation, for meshes that do not turn it on globally.  For clusters without
native sidecars the pod also calls the proxy's ``/quitquitquit`` (pilot-agent's status port
15020) after it printed the report; ``holdApplicationUntilProxyStarts`` keeps the suite from
starting before the proxy can carry its first request.  Standalone KFP has neither header nor
policy: no AuthorizationPolicy and no Istio annotations are made.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import re
import sys
import tarfile
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol, TextIO

import yaml

from conformance import images
from conformance.target import LoginUser, Target, TargetError
from conformance.targets import IN_CLUSTER
from emulator.modes import Mode

RUNNER_NAMESPACE = "kfp-isolation-runner"
RUNNER_ACCOUNT = "kfp-isolation"
JOB_NAME = "kfp-isolation-certify"
CONTAINER = "suite"
RUNNER_UID = 10001
KFP_NAMESPACE = "kubeflow"
TRUST_DOMAIN = "cluster.local"  # Kubeflow's Istio (global.proxy.clusterDomain)
KFP_AUDIENCE = "pipelines.kubeflow.org"
KFP_TOKEN_DIR = "/var/run/secrets/kubeflow/pipelines"
KFP_TOKEN_SECONDS = 7200
TARGET_DIR = "/etc/kfp-isolation"
TARGET_KEY = "target.yaml"
SCRATCH = "/scratch"  # emptyDir: HOME and the report (the root filesystem is read-only)
REPORT_DIR = SCRATCH + "/report"
LOGIN_SECRET = "kfp-isolation-login"
SIDECAR_QUIT = "http://127.0.0.1:15020/quitquitquit"
DEFAULT_TIMEOUT = 3600
# The cluster's own service names, as a pod reaches them.
DIRECT_URL = f"http://ml-pipeline.{KFP_NAMESPACE}.svc.cluster.local:8888"
GATEWAY_URL = "http://istio-ingressgateway.istio-system.svc.cluster.local"
OBJECT_STORE_URL = f"http://seaweedfs.{KFP_NAMESPACE}.svc.cluster.local:8333"

# The report archive at the end of the pod's log.
BEGIN = "----- KFP-ISOLATION REPORT ARCHIVE BEGIN v1"
END = "----- KFP-ISOLATION REPORT ARCHIVE END v1"
MAX_ARCHIVE_BYTES = 64 * 1024 * 1024  # unpacked, all members together
MAX_MEMBERS = 10_000
EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


class InClusterError(Exception):
    """Why the in-cluster run could not be set up or collected (exit 2)."""


def image_of(version: str | None = None) -> str:
    """The suite image (default: this package's version)."""
    return images.image(images.SUITE, version)


# -- the manifests -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    """What one in-cluster run is."""

    image: str
    namespace: str = RUNNER_NAMESPACE
    multiuser: bool = True
    timeout: int = DEFAULT_TIMEOUT
    profiles: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    keep_tenants: bool = False
    users: tuple[LoginUser, ...] = ()

    @property
    def principal(self) -> str:
        return f"{TRUST_DOMAIN}/ns/{self.namespace}/sa/{RUNNER_ACCOUNT}"

    def password_env(self, index: int, user: LoginUser) -> str:
        """The pod's variable holding a login user's password (the Secret's key too)."""
        return user.password_env or f"KFP_ISOLATION_PASSWORD_{index}"


def in_cluster_target(plan: Plan) -> Target:
    """The target file the pod reads: the cluster's services as a pod reaches them."""
    mode = Mode.FULL_INSIDE if plan.multiuser else Mode.STANDALONE_INSIDE
    users = tuple(LoginUser(u.email, password_env=plan.password_env(i, u))
                  for i, u in enumerate(plan.users)) if plan.multiuser else ()
    return Target(
        name="in-cluster", mode=mode, kfp_direct=DIRECT_URL,
        kfp_gateway=GATEWAY_URL + "/pipeline" if plan.multiuser else "",
        gateway=GATEWAY_URL if plan.multiuser else "", kubeconfig=IN_CLUSTER, users=users,
        object_store=OBJECT_STORE_URL)


def _labels() -> dict[str, str]:
    return {"app.kubernetes.io/name": "kfp-isolation", "app.kubernetes.io/component": "runner"}


def certify_args(plan: Plan) -> list[str]:
    args = ["certify", "--target", "cluster", "--target-file", f"{TARGET_DIR}/{TARGET_KEY}",
            "--report-dir", REPORT_DIR, "--report-archive"]
    for profile in plan.profiles:
        args += ["--profile", profile]
    for feature in plan.features:
        args += ["--feature", feature]
    if plan.keep_tenants:
        args.append("--keep-tenants")
    return args


def job(plan: Plan) -> dict[str, Any]:
    drop_all = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                "runAsNonRoot": True, "runAsUser": RUNNER_UID, "runAsGroup": RUNNER_UID,
                "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"}}
    env: list[dict[str, Any]] = [
        {"name": "HOME", "value": SCRATCH},
        {"name": "TMPDIR", "value": "/tmp"},
        {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
        {"name": "KF_PIPELINES_SA_TOKEN_PATH", "value": f"{KFP_TOKEN_DIR}/token"},
    ]
    target = in_cluster_target(plan)
    env += [{"name": user.password_env, "valueFrom": {"secretKeyRef": {
        "name": LOGIN_SECRET, "key": user.password_env}}} for user in target.users]
    template_meta: dict[str, Any] = {"labels": _labels()}
    if plan.multiuser:
        env.append({"name": "KFP_ISOLATION_QUIT_SIDECAR", "value": SIDECAR_QUIT})
        template_meta["labels"]["sidecar.istio.io/inject"] = "true"
        template_meta["annotations"] = {
            "sidecar.istio.io/nativeSidecar": "true",
            "proxy.istio.io/config": '{"holdApplicationUntilProxyStarts": true}'}
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": JOB_NAME, "namespace": plan.namespace, "labels": _labels()},
        "spec": {
            "backoffLimit": 0,  # a second try would certify a cluster the first one changed
            "activeDeadlineSeconds": plan.timeout,
            "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": template_meta,
                "spec": {
                    "serviceAccountName": RUNNER_ACCOUNT,
                    "automountServiceAccountToken": True,  # the in-cluster kube client
                    "restartPolicy": "Never",
                    "securityContext": {"runAsNonRoot": True, "runAsUser": RUNNER_UID,
                                        "runAsGroup": RUNNER_UID, "fsGroup": RUNNER_UID,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": CONTAINER, "image": plan.image,
                        "imagePullPolicy": "IfNotPresent",
                        "command": ["kfp-isolation"], "args": certify_args(plan),
                        "workingDir": SCRATCH, "env": env,
                        "securityContext": drop_all,
                        "resources": {"requests": {"cpu": "500m", "memory": "512Mi"},
                                      "limits": {"memory": "2Gi"}},
                        "volumeMounts": [
                            {"name": "scratch", "mountPath": SCRATCH},
                            {"name": "tmp", "mountPath": "/tmp"},
                            {"name": "target", "mountPath": TARGET_DIR, "readOnly": True},
                            {"name": "kfp-token", "mountPath": KFP_TOKEN_DIR,
                             "readOnly": True},
                        ],
                    }],
                    "volumes": [
                        {"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}},
                        {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
                        {"name": "target", "configMap": {"name": RUNNER_ACCOUNT}},
                        {"name": "kfp-token", "projected": {"sources": [
                            {"serviceAccountToken": {"audience": KFP_AUDIENCE,
                                                     "expirationSeconds": KFP_TOKEN_SECONDS,
                                                     "path": "token"}}]}},
                    ],
                },
            },
        },
    }


def authorization_policy(plan: Plan) -> dict[str, Any]:
    """Admit the runner's requests carrying ``kubeflow-userid`` to ml-pipeline (module doc)."""
    return {
        "apiVersion": "security.istio.io/v1beta1", "kind": "AuthorizationPolicy",
        "metadata": {"name": f"kfp-isolation-runner-{plan.namespace}",
                     "namespace": KFP_NAMESPACE, "labels": _labels()},
        "spec": {"action": "ALLOW", "selector": {"matchLabels": {"app": "ml-pipeline"}},
                 "rules": [{"from": [{"source": {"principals": [plan.principal]}}]}]},
    }


def manifests(plan: Plan) -> list[dict[str, Any]]:
    """Every object, in the order they are created (no Secret: see :func:`login_secret`)."""
    # the label Kubeflow's NetworkPolicies admit to ml-pipeline and S3 (module doc)
    namespace: dict[str, Any] = {"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": plan.namespace,
        "labels": {**_labels(), "app.kubernetes.io/part-of": "kubeflow-profile"}}}
    if plan.multiuser:
        namespace["metadata"]["labels"]["istio-injection"] = "enabled"
    objects: list[dict[str, Any]] = [
        namespace,
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": RUNNER_ACCOUNT, "namespace": plan.namespace, "labels": _labels()}},
        # cluster-admin: the suite provisions Profiles, RoleBindings and TokenRequests in the
        # tenants' namespaces and binds a cluster-admin actor of its own (module doc).
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": f"kfp-isolation-runner-{plan.namespace}", "labels": _labels()},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": "cluster-admin"},
         "subjects": [{"kind": "ServiceAccount", "name": RUNNER_ACCOUNT,
                       "namespace": plan.namespace}]},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": RUNNER_ACCOUNT, "namespace": plan.namespace, "labels": _labels()},
         "data": {TARGET_KEY: yaml.safe_dump(in_cluster_target(plan).to_dict(),
                                             sort_keys=False)}},
    ]
    if plan.multiuser:
        objects.append(authorization_policy(plan))
    objects.append(job(plan))
    return objects


def login_secret(plan: Plan) -> dict[str, Any] | None:
    """The login users' passwords for the pod (``--apply`` only; never printed)."""
    if not plan.multiuser or not plan.users:
        return None
    data = {}
    for index, user in enumerate(plan.users):
        try:
            password = user.resolve_password()
        except TargetError as exc:
            raise InClusterError(str(exc)) from None
        data[plan.password_env(index, user)] = base64.b64encode(password.encode()).decode()
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": LOGIN_SECRET, "namespace": plan.namespace,
                         "labels": _labels()},
            "data": data}


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the ConfigMap's target file) as readable ``|`` blocks."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def yaml_stream(objects: Iterable[dict[str, Any]]) -> str:
    """``kubectl apply -f -`` ready."""
    return yaml.dump_all(list(objects), Dumper=_Dumper, sort_keys=False)


# -- the pod's side: the report at the end of the log -----------------------------------------

def pack(report_dir: Path) -> bytes:
    """The report folder as a tar.gz (regular files and folders only, relative names)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        if report_dir.is_dir():
            for path in sorted(report_dir.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    archive.add(path, arcname=path.relative_to(report_dir).as_posix(),
                                recursive=False)
    return buffer.getvalue()


def emit_archive(report_dir: Path, code: int, out: TextIO) -> None:
    """Print the report folder between the two marker lines (the last thing in the log)."""
    data = pack(report_dir)
    text = base64.b64encode(data).decode()
    out.write(f"\n{BEGIN} exit={code} bytes={len(data)} "
              f"sha256={hashlib.sha256(data).hexdigest()}\n")
    for start in range(0, len(text), 76):
        out.write(text[start:start + 76] + "\n")
    out.write(f"{END}\n")
    out.flush()


def quit_sidecar(environ: dict[str, str] | None = None) -> None:
    """Ask a classic Istio sidecar to exit, so that the Job's pod can end (best effort: with a
    native sidecar, or none, there is nothing to do)."""
    url = (os.environ if environ is None else environ).get("KFP_ISOLATION_QUIT_SIDECAR")
    if not url:
        return
    with contextlib.suppress(OSError):
        urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=5).close()


# -- the operator's side: read the log back ---------------------------------------------------

_BEGIN = re.compile(re.escape(BEGIN) + r" exit=(\d+) bytes=(\d+) sha256=([0-9a-f]{64})$")


@dataclass(frozen=True)
class Collected:
    code: int
    files: tuple[str, ...] = ()
    problem: str = ""  # why there is no report (code 2)


def collect(log: str, report_dir: Path) -> Collected:
    """Unpack the report archive of a pod's log into ``report_dir``; the pod's exit code."""
    lines = log.splitlines()
    begins = [i for i, line in enumerate(lines) if line.startswith(BEGIN)]
    if not begins:
        return Collected(EXIT_ERROR, problem="the pod's log has no report archive")
    start = begins[-1]
    match = _BEGIN.match(lines[start].rstrip())
    if not match:
        return Collected(EXIT_ERROR, problem="the report archive's first marker is malformed")
    try:
        end = lines.index(END, start + 1)
    except ValueError:
        return Collected(EXIT_ERROR, problem="the report archive is truncated (no end marker)")
    try:
        data = base64.b64decode("".join(lines[start + 1:end]), validate=True)
    except ValueError:
        return Collected(EXIT_ERROR, problem="the report archive is not valid base64")
    if len(data) != int(match.group(2)) or \
            hashlib.sha256(data).hexdigest() != match.group(3):
        return Collected(EXIT_ERROR, problem="the report archive is corrupt (size or checksum)")
    try:
        files = unpack(data, report_dir)
    except InClusterError as exc:
        return Collected(EXIT_ERROR, problem=str(exc))
    code = int(match.group(1))
    return Collected(code if code in (EXIT_PASS, EXIT_FAIL, EXIT_ERROR) else EXIT_ERROR,
                     tuple(files))


def unpack(data: bytes, report_dir: Path, limit: int = MAX_ARCHIVE_BYTES) -> list[str]:
    """Extract regular files only, each under ``report_dir``, at most ``limit`` bytes in all;
    checked before anything is written."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            members = archive.getmembers()
            _check_members(members, limit)
            return _extract(archive, members, report_dir)
    except (tarfile.TarError, EOFError) as exc:
        raise InClusterError(f"the report archive cannot be read: {exc}") from None


def _outside(name: str) -> InClusterError:
    return InClusterError(f"the report archive names a path outside the report folder: "
                          f"{name!r}")


def _check_members(members: list[tarfile.TarInfo], limit: int) -> None:
    if len(members) > MAX_MEMBERS:
        raise InClusterError(f"the report archive has more than {MAX_MEMBERS} files")
    total = 0
    for member in members:
        name = PurePosixPath(member.name)
        if name.is_absolute() or ".." in name.parts or not name.parts:
            raise _outside(member.name)
        if not (member.isfile() or member.isdir()):
            raise InClusterError(f"the report archive holds a link or device: {member.name!r}")
        total += member.size
        if total > limit:
            raise InClusterError(f"the report archive unpacks to more than {limit} bytes")


def _extract(archive: tarfile.TarFile, members: list[tarfile.TarInfo],
             report_dir: Path) -> list[str]:
    root = report_dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    written = []
    for member in members:
        destination = (root / member.name).resolve()
        if root not in destination.parents:
            raise _outside(member.name)
        if member.isdir():
            destination.mkdir(parents=True, exist_ok=True)
            continue
        source = archive.extractfile(member)
        if source is None:
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(source.read(member.size))
        written.append(member.name)
    return written


# -- --apply: create, wait, collect, delete -------------------------------------------------

class BatchApi(Protocol):
    def create_namespaced_job(self, namespace: str, body: Any) -> Any: ...
    def read_namespaced_job_status(self, name: str, namespace: str) -> Any: ...
    def delete_namespaced_job(self, name: str, namespace: str, **kwargs: Any) -> Any: ...


class CoreApi(Protocol):
    def list_namespaced_pod(self, namespace: str, **kwargs: Any) -> Any: ...
    def read_namespaced_pod_log(self, name: str, namespace: str, **kwargs: Any) -> Any: ...


@dataclass
class Waited:
    state: str  # Complete | Failed | timeout
    reason: str = ""


def wait_for_job(batch: BatchApi, name: str, namespace: str, timeout: float,
                 interval: float = 5.0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> Waited:
    """Until the Job's condition Complete or Failed is true, or ``timeout`` seconds."""
    deadline = clock() + timeout
    while True:
        status = batch.read_namespaced_job_status(name, namespace).status
        for condition in (getattr(status, "conditions", None) or []):
            if condition.type in ("Complete", "Failed") and condition.status == "True":
                return Waited(condition.type, condition.reason or condition.message or "")
        if clock() >= deadline:
            return Waited("timeout")
        sleep(interval)


def job_log(core: CoreApi, name: str, namespace: str) -> str | None:
    """The log of the Job's (newest) pod, its suite container; None: no pod."""
    pods = core.list_namespaced_pod(namespace, label_selector=f"job-name={name}").items
    if not pods:
        return None
    pod = max(pods, key=lambda p: str(p.metadata.creation_timestamp or ""))
    return str(core.read_namespaced_pod_log(pod.metadata.name, namespace,
                                            container=CONTAINER))


def finish(batch: BatchApi, core: CoreApi, namespace: str, report_dir: Path, timeout: float,
           err: TextIO, interval: float = 5.0,
           clock: Callable[[], float] = time.monotonic,
           sleep: Callable[[float], None] = time.sleep) -> int:
    """Wait for the Job, collect its report; the certify exit code it reported (2: none)."""
    waited = wait_for_job(batch, JOB_NAME, namespace, timeout, interval, clock, sleep)
    if waited.state == "timeout":
        err.write(f"kfp-isolation certify --in-cluster: the Job {namespace}/{JOB_NAME} did "
                  f"not finish within {timeout:.0f}s (harness error)\n")
        return EXIT_ERROR
    log = job_log(core, JOB_NAME, namespace)
    if log is None:
        err.write(f"kfp-isolation certify --in-cluster: the Job ended {waited.state} "
                  f"({waited.reason or 'no reason given'}) and has no pod to read a report "
                  "from (harness error)\n")
        return EXIT_ERROR
    collected = collect(log, report_dir)
    if collected.problem:
        err.write(f"kfp-isolation certify --in-cluster: the Job ended {waited.state}"
                  f"{' (' + waited.reason + ')' if waited.reason else ''} without a usable "
                  f"report: {collected.problem} (harness error)\n")
        return EXIT_ERROR
    err.write(f"kfp-isolation certify --in-cluster: the Job ended {waited.state}; "
              f"{len(collected.files)} report files in {report_dir.resolve()}/, exit "
              f"{collected.code}\n")
    return collected.code


@dataclass
class Applied:
    """What ``--apply`` created, to delete it afterwards (never a namespace it found)."""

    objects: list[dict[str, Any]] = field(default_factory=list)


def _exists(exc: Exception) -> bool:
    return getattr(exc, "status", None) == 409


AUTHORIZATION_POLICIES = "authorizationpolicies"
Operation = Callable[[dict[str, Any]], object]


def _operations(api_client: Any) -> dict[str, tuple[Operation, Operation]]:
    """(create, delete) through the official client for each kind the manifests hold."""
    from kubernetes import client as k8s

    core, rbac = k8s.CoreV1Api(api_client), k8s.RbacAuthorizationV1Api(api_client)
    batch, custom = k8s.BatchV1Api(api_client), k8s.CustomObjectsApi(api_client)

    def name(obj: dict[str, Any]) -> str:
        return str(obj["metadata"]["name"])

    def namespace(obj: dict[str, Any]) -> str:
        return str(obj["metadata"].get("namespace", ""))

    def group_version(obj: dict[str, Any]) -> list[str]:
        return str(obj["apiVersion"]).split("/")

    return {
        "Namespace": (core.create_namespace, lambda o: core.delete_namespace(name(o))),
        "ServiceAccount": (
            lambda o: core.create_namespaced_service_account(namespace(o), o),
            lambda o: core.delete_namespaced_service_account(name(o), namespace(o))),
        "ConfigMap": (
            lambda o: core.create_namespaced_config_map(namespace(o), o),
            lambda o: core.delete_namespaced_config_map(name(o), namespace(o))),
        "Secret": (
            lambda o: core.create_namespaced_secret(namespace(o), o),
            lambda o: core.delete_namespaced_secret(name(o), namespace(o))),
        "ClusterRoleBinding": (
            rbac.create_cluster_role_binding,
            lambda o: rbac.delete_cluster_role_binding(name(o))),
        "Job": (
            lambda o: batch.create_namespaced_job(namespace(o), o),
            lambda o: batch.delete_namespaced_job(name(o), namespace(o),
                                                  propagation_policy="Background")),
        "AuthorizationPolicy": (
            lambda o: custom.create_namespaced_custom_object(
                *group_version(o), namespace(o), AUTHORIZATION_POLICIES, o),
            lambda o: custom.delete_namespaced_custom_object(
                *group_version(o), namespace(o), AUTHORIZATION_POLICIES, name(o))),
    }


def create(api_client: Any, objects: Iterable[dict[str, Any]], applied: Applied) -> None:
    """Create each object with the official client; a namespace that exists is used as is."""
    from kubernetes.client.exceptions import ApiException

    operations = _operations(api_client)
    for obj in objects:
        kind, meta = obj["kind"], obj["metadata"]
        namespace = meta.get("namespace", "")
        if kind not in operations:
            raise InClusterError(f"cannot create a {kind}")
        try:
            operations[kind][0](obj)
        except ApiException as exc:
            if kind == "Namespace" and _exists(exc):
                continue  # someone else's: used, never deleted
            hint = (" (left by an earlier run with --keep? delete it first)"
                    if _exists(exc) else "")
            raise InClusterError(f"cannot create {kind} {namespace + '/' if namespace else ''}"
                                 f"{meta['name']}: {exc.status} {exc.reason}{hint}") from None
        applied.objects.append(obj)


def delete(api_client: Any, applied: Applied, err: TextIO) -> None:
    """Delete what :func:`create` made, newest first; report what could not be deleted."""
    from kubernetes.client.exceptions import ApiException

    operations = _operations(api_client)
    for obj in reversed(applied.objects):
        kind, name = obj["kind"], obj["metadata"]["name"]
        try:
            operations[kind][1](obj)
        except ApiException as exc:
            if exc.status != 404:
                err.write(f"kfp-isolation certify --in-cluster: could not delete {kind} "
                          f"{name}: {exc.status} {exc.reason}\n")


def apply(api_client: Any, plan: Plan, report_dir: Path, keep: bool, err: TextIO,
          wait_timeout: float | None = None, interval: float = 5.0) -> int:
    """Create the manifests (and the login Secret), wait for the Job, collect, clean up."""
    from kubernetes import client as k8s

    applied = Applied()
    objects = manifests(plan)
    secret = login_secret(plan)
    if secret is not None:
        objects.insert(len(objects) - 1, secret)
    try:
        create(api_client, objects, applied)
        err.write(f"kfp-isolation certify --in-cluster: Job {plan.namespace}/{JOB_NAME} "
                  f"created ({plan.image}); waiting up to {plan.timeout}s\n")
        return finish(k8s.BatchV1Api(api_client), k8s.CoreV1Api(api_client), plan.namespace,
                      report_dir, plan.timeout + 300 if wait_timeout is None else wait_timeout,
                      err, interval)
    except InClusterError as exc:
        err.write(f"kfp-isolation certify --in-cluster: {exc}\n")
        return EXIT_ERROR
    finally:
        if keep:
            err.write("kfp-isolation certify --in-cluster: --keep: left "
                      + ", ".join(f"{o['kind']} {o['metadata']['name']}"
                                  for o in applied.objects) + "\n")
        else:
            delete(api_client, applied, err)


def plan_from(image: str, namespace: str, timeout: int, profiles: Iterable[str],
              features: Iterable[str], keep_tenants: bool, mode: str | None,
              target_file: Path | None) -> tuple[Plan, Target | None]:
    """The run's plan from the flags and the operator's target file (its login users, its
    mode's multi-user-ness, its kubeconfig for ``--apply``)."""
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", namespace):
        raise InClusterError(f"--namespace {namespace!r} is not a namespace name")
    if timeout <= 0:
        raise InClusterError("--timeout is a number of seconds above 0")
    target = None
    if target_file is not None:
        try:
            target = Target.load(target_file)
        except TargetError as exc:
            raise InClusterError(str(exc)) from None
    multiuser = True
    if mode is not None:
        multiuser = Mode(mode).multiuser
    elif target is not None and target.mode is not None:
        multiuser = target.mode.multiuser
    plan = Plan(image=image, namespace=namespace, multiuser=multiuser, timeout=timeout,
                profiles=tuple(profiles), features=tuple(features), keep_tenants=keep_tenants,
                users=target.users if target is not None else ())
    return plan, target


def run(*, apply_it: bool, image: str, namespace: str, timeout: int, report_dir: Path,
        keep: bool, profiles: Iterable[str], features: Iterable[str], keep_tenants: bool,
        mode: str | None, target_file: Path | None, out: TextIO = sys.stdout,
        err: TextIO = sys.stderr) -> int:
    """The ``--in-cluster`` command: print the manifests, or ``--apply`` them."""
    try:
        plan, target = plan_from(image, namespace, timeout, profiles, features, keep_tenants,
                                 mode, target_file)
    except InClusterError as exc:
        err.write(f"kfp-isolation certify --in-cluster: {exc}\n")
        return EXIT_ERROR
    if not apply_it:
        out.write(yaml_stream(manifests(plan)))
        if plan.multiuser and plan.users:
            names = ", ".join(plan.password_env(i, u) for i, u in enumerate(plan.users))
            err.write(f"kfp-isolation certify --in-cluster: the login users' passwords are "
                      f"not printed; create Secret {plan.namespace}/{LOGIN_SECRET} with the "
                      f"keys {names} before the Job starts\n")
        return EXIT_PASS
    if target is None or not target.kubeconfig:
        err.write("kfp-isolation certify --in-cluster --apply: needs --target-file naming "
                  "the kubeconfig to create the Job with\n")
        return EXIT_ERROR
    from conformance.targets import close_client, kube_client

    try:
        api_client = kube_client(target.kubeconfig)
    except TargetError as exc:
        err.write(f"kfp-isolation certify --in-cluster: {exc}\n")
        return EXIT_ERROR
    try:
        return apply(api_client, plan, report_dir, keep, err)
    finally:
        close_client(api_client)

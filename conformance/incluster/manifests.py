"""``kfp-isolation certify --in-cluster``: the manifests of the suite as a Kubernetes Job inside
the cluster.

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
  the end of the pod's log as a base64 tar.gz between two marker lines
  (:mod:`conformance.incluster.report_archive`), read back through the Kubernetes API
  (:mod:`conformance.incluster.apply`).

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
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from conformance import images
from conformance.target import LoginUser, Target, TargetError
from conformance.targets import IN_CLUSTER
from emulator.modes import Mode

RUNNER_NAMESPACE = "kfp-isolation-runner"
RUNNER_ACCOUNT = "kfp-isolation"
TARGET_CONFIG_MAP = "kfp-isolation-target"
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


def runner_labels() -> dict[str, str]:
    """Every object of the runner carries these (``--collect --delete`` checks them)."""
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
    container_security_context = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
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
    template_meta: dict[str, Any] = {"labels": runner_labels()}
    if plan.multiuser:
        env.append({"name": "KFP_ISOLATION_QUIT_SIDECAR", "value": SIDECAR_QUIT})
        template_meta["labels"]["sidecar.istio.io/inject"] = "true"
        template_meta["annotations"] = {
            "sidecar.istio.io/nativeSidecar": "true",
            "proxy.istio.io/config": '{"holdApplicationUntilProxyStarts": true}'}
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": JOB_NAME, "namespace": plan.namespace, "labels": runner_labels()},
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
                        "securityContext": container_security_context,
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
                        {"name": "target", "configMap": {"name": TARGET_CONFIG_MAP}},
                        {"name": "kfp-token", "projected": {"sources": [
                            {"serviceAccountToken": {"audience": KFP_AUDIENCE,
                                                     "expirationSeconds": KFP_TOKEN_SECONDS,
                                                     "path": "token"}}]}},
                    ],
                },
            },
        },
    }


def runner_binding_name(namespace: str) -> str:
    """The ClusterRoleBinding's and the AuthorizationPolicy's name (one per runner namespace)."""
    return f"kfp-isolation-runner-{namespace}"


def authorization_policy(plan: Plan) -> dict[str, Any]:
    """Admit the runner's requests carrying ``kubeflow-userid`` to ml-pipeline (module doc)."""
    return {
        "apiVersion": "security.istio.io/v1beta1", "kind": "AuthorizationPolicy",
        "metadata": {"name": runner_binding_name(plan.namespace),
                     "namespace": KFP_NAMESPACE, "labels": runner_labels()},
        "spec": {"action": "ALLOW", "selector": {"matchLabels": {"app": "ml-pipeline"}},
                 "rules": [{"from": [{"source": {"principals": [plan.principal]}}]}]},
    }


def manifests(plan: Plan) -> list[dict[str, Any]]:
    """Every object, in the order they are created (no Secret: see :func:`login_secret`)."""
    # the label Kubeflow's NetworkPolicies admit to ml-pipeline and S3 (module doc)
    namespace: dict[str, Any] = {"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": plan.namespace,
        "labels": {**runner_labels(), "app.kubernetes.io/part-of": "kubeflow-profile"}}}
    if plan.multiuser:
        namespace["metadata"]["labels"]["istio-injection"] = "enabled"
    objects: list[dict[str, Any]] = [
        namespace,
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": RUNNER_ACCOUNT, "namespace": plan.namespace,
                      "labels": runner_labels()}},
        # cluster-admin: the suite provisions Profiles, RoleBindings and TokenRequests in the
        # tenants' namespaces and binds a cluster-admin actor of its own (module doc).
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": runner_binding_name(plan.namespace), "labels": runner_labels()},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": "cluster-admin"},
         "subjects": [{"kind": "ServiceAccount", "name": RUNNER_ACCOUNT,
                       "namespace": plan.namespace}]},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": TARGET_CONFIG_MAP, "namespace": plan.namespace,
                      "labels": runner_labels()},
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
    return {**login_secret_stub(plan), "type": "Opaque", "data": data}


def login_secret_stub(plan: Plan) -> dict[str, Any]:
    """The login Secret without its data: what ``--collect --delete`` removes."""
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": LOGIN_SECRET, "namespace": plan.namespace,
                         "labels": runner_labels()}}


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the ConfigMap's target file) as readable ``|`` blocks."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def yaml_stream(objects: Iterable[dict[str, Any]]) -> str:
    """``kubectl apply -f -`` ready."""
    return yaml.dump_all(list(objects), Dumper=_Dumper, sort_keys=False)

"""Provision the two tenants of the acceptance scenario through the Kubernetes API only.

This is written against the official ``kubernetes`` client and nothing else: the same function
provisions a real Kubeflow cluster (given its admin kubeconfig) or the emulator's Kubernetes API.
What it creates is what the platform's own tools create:

* ``Profile`` objects (``kubeflow.org/v1``, cluster-scoped); the profile controller makes the
  namespace, the ``default-editor``/``default-viewer`` ServiceAccounts and the owner's binding;
* contributor RoleBindings exactly as KFAM writes them (docs/upstream/kubeflow-platform.md 1.6):
  name ``user-<email>-clusterrole-<role>`` (lower-cased, runs of non-alphanumerics -> ``-``),
  annotations ``user``/``role``, roleRef ClusterRole ``kubeflow-<role>``, one ``User`` subject;
* a custom namespaced Role on the KFP resource ``experiments`` and its RoleBinding;
* ServiceAccount tokens from the TokenRequest API with the audience KFP reviews tokens for.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

PROFILE_GROUP = "kubeflow.org"
PROFILE_VERSION = "v1"
PROFILE_PLURAL = "profiles"
RBAC_GROUP = "rbac.authorization.k8s.io"
PIPELINES_GROUP = "pipelines.kubeflow.org"
KFP_AUDIENCE = PIPELINES_GROUP
EDITOR_SA = "default-editor"

# The cast of the acceptance scenario.
ANN, ANN_NS = "ann@example.com", "ann"
BEN, BEN_NS = "ben@example.com", "ben"
EVE = "eve@example.com"  # edit contributor in ann
VAL = "val@example.com"  # view contributor in ann
RITA = "rita@example.com"  # custom Role experiment-reader in ann
READER_ROLE = "experiment-reader"
READER_BINDING = "rita-experiment-reader"


def kfam_binding_name(email: str, role: str) -> str:
    """KFAM's RoleBinding name for ``email`` with the frontend role ``role`` (edit/view/admin)."""
    return re.sub(r"[^a-z0-9]+", "-", f"user-{email}-clusterrole-{role}".lower())


@dataclass
class Tenants:
    """What :func:`provision_tenants` made: namespaces and the editor tokens it minted."""

    tokens: dict[str, str] = field(default_factory=dict)  # namespace -> default-editor token

    def sa_user(self, namespace: str) -> str:
        return f"system:serviceaccount:{namespace}:{EDITOR_SA}"


def _wait_for(what: str, probe: Callable[[], bool], timeout: float = 60.0) -> None:
    """Poll ``probe`` until true: a real profile controller reconciles asynchronously."""
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.5)


def _exists(read: Callable[[], object]) -> bool:
    try:
        read()
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


def create_profile(api: k8s.ApiClient, name: str, owner: str) -> None:
    body = {
        "apiVersion": f"{PROFILE_GROUP}/{PROFILE_VERSION}",
        "kind": "Profile",
        "metadata": {"name": name},
        "spec": {"owner": {"kind": "User", "name": owner}},
    }
    k8s.CustomObjectsApi(api).create_cluster_custom_object(
        PROFILE_GROUP, PROFILE_VERSION, PROFILE_PLURAL, body)
    core = k8s.CoreV1Api(api)
    _wait_for(f"namespace {name}", lambda: _exists(lambda: core.read_namespace(name)))
    _wait_for(f"{name}/{EDITOR_SA}", lambda: _exists(
        lambda: core.read_namespaced_service_account(EDITOR_SA, name)))


def add_contributor(api: k8s.ApiClient, namespace: str, email: str, role: str) -> str:
    """What KFAM's POST /kfam/v1/bindings writes for (email, role); returns the binding name."""
    name = kfam_binding_name(email, role)
    binding = k8s.V1RoleBinding(
        metadata=k8s.V1ObjectMeta(name=name, annotations={"user": email, "role": role}),
        role_ref=k8s.V1RoleRef(api_group=RBAC_GROUP, kind="ClusterRole", name=f"kubeflow-{role}"),
        subjects=[k8s.RbacV1Subject(api_group=RBAC_GROUP, kind="User", name=email)],
    )
    k8s.RbacAuthorizationV1Api(api).create_namespaced_role_binding(namespace, binding)
    return name


def grant_experiment_reader(api: k8s.ApiClient, namespace: str, email: str) -> None:
    rbac = k8s.RbacAuthorizationV1Api(api)
    rbac.create_namespaced_role(namespace, k8s.V1Role(
        metadata=k8s.V1ObjectMeta(name=READER_ROLE),
        rules=[k8s.V1PolicyRule(api_groups=[PIPELINES_GROUP], resources=["experiments"],
                                verbs=["get", "list"])]))
    rbac.create_namespaced_role_binding(namespace, k8s.V1RoleBinding(
        metadata=k8s.V1ObjectMeta(name=READER_BINDING),
        role_ref=k8s.V1RoleRef(api_group=RBAC_GROUP, kind="Role", name=READER_ROLE),
        subjects=[k8s.RbacV1Subject(api_group=RBAC_GROUP, kind="User", name=email)]))


def request_token(api: k8s.ApiClient, namespace: str, service_account: str = EDITOR_SA,
                  audiences: list[str] | None = None, expiration_seconds: int = 3600) -> str:
    """A TokenRequest for ``namespace/service_account`` (by default for KFP's audience)."""
    request = k8s.AuthenticationV1TokenRequest(spec=k8s.V1TokenRequestSpec(
        audiences=audiences or [KFP_AUDIENCE], expiration_seconds=expiration_seconds))
    response = k8s.CoreV1Api(api).create_namespaced_service_account_token(
        service_account, namespace, request)
    token = response.status.token
    assert isinstance(token, str) and token, response
    return token


def provision_tenants(api: k8s.ApiClient) -> Tenants:
    """Two Profiles, ann's contributors and custom reader, and both editors' tokens."""
    create_profile(api, ANN_NS, ANN)
    create_profile(api, BEN_NS, BEN)
    add_contributor(api, ANN_NS, EVE, "edit")
    add_contributor(api, ANN_NS, VAL, "view")
    grant_experiment_reader(api, ANN_NS, RITA)
    return Tenants(tokens={ns: request_token(api, ns) for ns in (ANN_NS, BEN_NS)})

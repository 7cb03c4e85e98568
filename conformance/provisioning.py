"""Provision tenants through the Kubernetes API, the same way on the emulator and on a cluster.

Written against the official ``kubernetes`` client only, so one function provisions a real
Kubeflow cluster (given an admin kubeconfig) or the emulator's Kubernetes API.  It creates what
the platform's own tools create (docs/upstream/kubeflow-platform.md 1.6 and 7):

* ``Profile`` objects (``kubeflow.org/v1``); the profile controller makes the namespace, the
  ``default-editor`` / ``default-viewer`` ServiceAccounts and the owner's binding;
* contributor RoleBindings as KFAM writes them: ``user-<email>-clusterrole-<role>``, annotations
  ``user`` / ``role``, roleRef ClusterRole ``kubeflow-<role>``, one ``User`` subject;
* custom namespaced Roles with a partial verb set, and their bindings;
* ServiceAccount tokens from the TokenRequest API, for the audience KFP reviews.

:func:`deprovision` removes the Profiles again (their namespaces go with them).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
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
CONTRIBUTOR_ROLES = ("admin", "edit", "view")


def kfam_binding_name(email: str, role: str) -> str:
    """KFAM's RoleBinding name for ``email`` with the frontend role ``role`` (edit/view/admin)."""
    return re.sub(r"[^a-z0-9]+", "-", f"user-{email}-clusterrole-{role}".lower())


@dataclass(frozen=True)
class CustomRole:
    """A namespaced Role on KFP resources with a partial verb set, bound to some users."""

    name: str
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    users: tuple[str, ...]

    @property
    def binding_name(self) -> str:
        return f"{self.name}-binding"


@dataclass(frozen=True)
class Tenant:
    """One Profile and who may do what in its namespace."""

    namespace: str
    owner: str
    contributors: tuple[tuple[str, str], ...] = ()  # (email, admin | edit | view)
    roles: tuple[CustomRole, ...] = ()

    def __post_init__(self) -> None:
        for email, role in self.contributors:
            if role not in CONTRIBUTOR_ROLES:
                raise ValueError(f"tenant {self.namespace}: contributor {email} has role "
                                 f"{role!r}; use one of {', '.join(CONTRIBUTOR_ROLES)}")


@dataclass
class Provisioned:
    """What :func:`provision` made: the tenants and each namespace's ``default-editor`` token."""

    tenants: list[Tenant]
    tokens: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def service_account_user(namespace: str, name: str = EDITOR_SA) -> str:
        return f"system:serviceaccount:{namespace}:{name}"


def wait_for(what: str, probe: Callable[[], bool], timeout: float = 60.0,
             interval: float = 0.5, *, sleep: Callable[[float], None] = time.sleep,
             clock: Callable[[], float] = time.monotonic) -> int:
    """Poll ``probe`` until true and return how many calls it took: a real profile
    controller reconciles asynchronously.  The one poll loop of the suite and of the cluster
    recipe (which also polls ``kubectl apply`` and the gateway sign-in with it); a probe may
    raise to stop at once.  The last call is made at the deadline, never after sleeping past
    it; ``sleep`` and ``clock`` are injectable so tests need not wait."""
    deadline = clock() + timeout
    calls = 0
    while True:
        calls += 1
        if probe():
            return calls
        remaining = deadline - clock()
        if remaining <= 0:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        sleep(min(interval, remaining))


def _exists(read: Callable[[], object]) -> bool:
    try:
        read()
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


def create_profile(api: k8s.ApiClient, name: str, owner: str, *, timeout: float = 60.0) -> None:
    """Create a Profile and wait until its controller made the namespace and the editor."""
    body = {
        "apiVersion": f"{PROFILE_GROUP}/{PROFILE_VERSION}",
        "kind": "Profile",
        "metadata": {"name": name},
        "spec": {"owner": {"kind": "User", "name": owner}},
    }
    k8s.CustomObjectsApi(api).create_cluster_custom_object(
        PROFILE_GROUP, PROFILE_VERSION, PROFILE_PLURAL, body)
    wait_for_profile(api, name, timeout=timeout)


def wait_for_profile(api: k8s.ApiClient, name: str, *, timeout: float = 60.0) -> None:
    """Wait until the profile controller made the Profile's namespace and its editor."""
    core = k8s.CoreV1Api(api)
    wait_for(f"namespace {name}", lambda: _exists(lambda: core.read_namespace(name)), timeout)
    wait_for(f"{name}/{EDITOR_SA}", lambda: _exists(
        lambda: core.read_namespaced_service_account(EDITOR_SA, name)), timeout)


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


def remove_contributor(api: k8s.ApiClient, namespace: str, email: str, role: str) -> None:
    k8s.RbacAuthorizationV1Api(api).delete_namespaced_role_binding(
        kfam_binding_name(email, role), namespace)


def grant_custom_role(api: k8s.ApiClient, namespace: str, role: CustomRole) -> None:
    rbac = k8s.RbacAuthorizationV1Api(api)
    rbac.create_namespaced_role(namespace, k8s.V1Role(
        metadata=k8s.V1ObjectMeta(name=role.name),
        rules=[k8s.V1PolicyRule(api_groups=[PIPELINES_GROUP], resources=list(role.resources),
                                verbs=list(role.verbs))]))
    rbac.create_namespaced_role_binding(namespace, k8s.V1RoleBinding(
        metadata=k8s.V1ObjectMeta(name=role.binding_name),
        role_ref=k8s.V1RoleRef(api_group=RBAC_GROUP, kind="Role", name=role.name),
        subjects=[k8s.RbacV1Subject(api_group=RBAC_GROUP, kind="User", name=user)
                  for user in role.users]))


def grant_cluster_admin(api: k8s.ApiClient, binding: str, email: str) -> None:
    """Bind ``email`` to ``cluster-admin`` (the suite's "an admin" actor)."""
    k8s.RbacAuthorizationV1Api(api).create_cluster_role_binding(k8s.V1ClusterRoleBinding(
        metadata=k8s.V1ObjectMeta(name=binding),
        role_ref=k8s.V1RoleRef(api_group=RBAC_GROUP, kind="ClusterRole", name="cluster-admin"),
        subjects=[k8s.RbacV1Subject(api_group=RBAC_GROUP, kind="User", name=email)]))


def revoke_cluster_admin(api: k8s.ApiClient, binding: str) -> bool:
    """Remove the binding :func:`grant_cluster_admin` made; False if it was gone already."""
    try:
        k8s.RbacAuthorizationV1Api(api).delete_cluster_role_binding(binding)
    except ApiException as exc:
        if exc.status != 404:
            raise
        return False
    return True


def request_token(api: k8s.ApiClient, namespace: str, service_account: str = EDITOR_SA,
                  audiences: list[str] | None = None, expiration_seconds: int = 3600) -> str:
    """A TokenRequest for ``namespace/service_account`` (by default for KFP's audience)."""
    request = k8s.AuthenticationV1TokenRequest(spec=k8s.V1TokenRequestSpec(
        audiences=audiences or [KFP_AUDIENCE], expiration_seconds=expiration_seconds))
    response = k8s.CoreV1Api(api).create_namespaced_service_account_token(
        service_account, namespace, request)
    token = response.status.token if response.status is not None else None
    if not isinstance(token, str) or not token:
        raise RuntimeError(f"TokenRequest for {namespace}/{service_account} returned no token")
    return token


def provision(api: k8s.ApiClient, tenants: Iterable[Tenant], *,
              timeout: float = 60.0) -> Provisioned:
    """Create every tenant (Profile, contributors, custom roles) and mint editor tokens."""
    made = Provisioned(list(tenants))
    for tenant in made.tenants:
        create_profile(api, tenant.namespace, tenant.owner, timeout=timeout)
        for email, role in tenant.contributors:
            add_contributor(api, tenant.namespace, email, role)
        for custom in tenant.roles:
            grant_custom_role(api, tenant.namespace, custom)
        made.tokens[tenant.namespace] = request_token(api, tenant.namespace)
    return made


def deprovision(api: k8s.ApiClient, tenants: Iterable[Tenant]) -> list[str]:
    """Delete the tenants' Profiles (their namespaces go with them); returns what was gone
    already, so a second teardown is harmless."""
    missing = []
    objects = k8s.CustomObjectsApi(api)
    for tenant in tenants:
        try:
            objects.delete_cluster_custom_object(PROFILE_GROUP, PROFILE_VERSION, PROFILE_PLURAL,
                                                 tenant.namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise
            missing.append(tenant.namespace)
    return missing

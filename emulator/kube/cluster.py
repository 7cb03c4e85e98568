"""The slice of a Kubernetes cluster that decides KFP isolation.

Namespaces, ServiceAccounts, Kubeflow Profiles and their contributors.  A Profile does what the
Kubeflow profile controller does (spec section 10): a namespace of the same name annotated with its
owner, a ``namespaceAdmin`` RoleBinding to ``kubeflow-admin``, and the ``default-editor`` /
``default-viewer`` ServiceAccounts bound to ``kubeflow-edit`` / ``kubeflow-view``.  Contributors
are RoleBindings named the way KFAM names them.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from emulator.kube.rbac import (
    PIPELINES_GROUP,
    Authorizer,
    ClusterRole,
    ClusterRoleBinding,
    PolicyRule,
    RbacStore,
    RoleBinding,
    RoleRef,
    Subject,
    kubeflow_cluster_roles,
    service_account_username,
)
from emulator.kube.tokens import TokenAuthority

PROFILE_LABELS = {
    "app.kubernetes.io/part-of": "kubeflow-profile",
    "katib.kubeflow.org/metrics-collector-injection": "enabled",
    "pipelines.kubeflow.org/enabled": "true",
    "serving.kubeflow.org/inferenceservice": "enabled",
}
ROLE_TO_CLUSTER_ROLE = {"admin": "kubeflow-admin", "edit": "kubeflow-edit", "view": "kubeflow-view"}
PERSISTENCE_AGENT_SA = "ml-pipeline-persistenceagent"
PERSISTENCE_AGENT_ROLE = "ml-pipeline-persistenceagent-role"
EDITOR_SA = "default-editor"
VIEWER_SA = "default-viewer"


class ClusterError(Exception):
    """A Kubernetes API failure; ``reason`` is the Status reason (NotFound, AlreadyExists...)."""

    def __init__(self, reason: str, message: str, code: int) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.code = code


@dataclass
class Namespace:
    name: str
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class ServiceAccount:
    namespace: str
    name: str
    # Tokens are bound to this UID: a recreated account does not revive old tokens.
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def username(self) -> str:
        return service_account_username(self.namespace, self.name)


@dataclass
class Profile:
    name: str
    owner: str
    owner_kind: str = "User"


def contributor_binding_name(email: str, role: str) -> str:
    """KFAM's RoleBinding name: ``user-<email>-clusterrole-<role>``, sanitized and lower-cased."""
    return re.sub(r"[^a-z0-9]+", "-", f"user-{email}-clusterrole-{role}".lower())


_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def validate_dns_label(kind: str, name: str) -> None:
    if not _DNS_LABEL.match(name):
        raise ClusterError(
            "Invalid",
            f'{kind} "{name}" is invalid: metadata.name: Invalid value: "{name}": a lowercase '
            "RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
            "start and end with an alphanumeric character",
            422,
        )


class Cluster:
    """Namespaces, ServiceAccounts, Profiles and RBAC of one emulated cluster."""

    def __init__(self, system_namespace: str = "kubeflow") -> None:
        self.system_namespace = system_namespace
        self.namespaces: dict[str, Namespace] = {}
        self.service_accounts: dict[str, dict[str, ServiceAccount]] = {}
        self.profiles: dict[str, Profile] = {}
        self.rbac = RbacStore()
        self.authorizer = Authorizer(self.rbac)
        self.tokens = TokenAuthority(subject_exists=self._subject_exists)
        for role in kubeflow_cluster_roles():
            self.rbac.put_cluster_role(role)
        self.create_namespace(system_namespace, exist_ok=True)
        self.create_namespace("default", exist_ok=True)
        self._install_persistence_agent()

    def _install_persistence_agent(self) -> None:
        """The KFP persistence agent reports workflows cluster-wide (its ClusterRole)."""
        self.create_service_account(self.system_namespace, PERSISTENCE_AGENT_SA, exist_ok=True)
        self.rbac.put_cluster_role(ClusterRole(PERSISTENCE_AGENT_ROLE, [
            PolicyRule((PIPELINES_GROUP,), ("workflows", "scheduledworkflows"), ("report",)),
            PolicyRule((PIPELINES_GROUP,), ("runs",), ("reportMetrics", "readArtifact")),
        ]))
        self.rbac.put_cluster_binding(ClusterRoleBinding(
            PERSISTENCE_AGENT_ROLE + "-binding", RoleRef("ClusterRole", PERSISTENCE_AGENT_ROLE),
            [Subject("ServiceAccount", PERSISTENCE_AGENT_SA, self.system_namespace)]))

    # -- namespaces and service accounts -------------------------------------------------------

    def create_namespace(self, name: str, labels: dict[str, str] | None = None,
                         annotations: dict[str, str] | None = None, *,
                         exist_ok: bool = False) -> Namespace:
        validate_dns_label("Namespace", name)
        if name in self.namespaces:
            if exist_ok:
                return self.namespaces[name]
            raise ClusterError("AlreadyExists", f'namespaces "{name}" already exists', 409)
        namespace = Namespace(name, dict(labels or {}), dict(annotations or {}))
        self.namespaces[name] = namespace
        self.service_accounts.setdefault(name, {})["default"] = ServiceAccount(name, "default")
        return namespace

    def delete_namespace(self, name: str) -> None:
        if name not in self.namespaces:
            raise ClusterError("NotFound", f'namespaces "{name}" not found', 404)
        del self.namespaces[name]
        self.service_accounts.pop(name, None)
        self.rbac.drop_namespace(name)
        self.profiles.pop(name, None)

    def create_service_account(self, namespace: str, name: str, *,
                               exist_ok: bool = False) -> ServiceAccount:
        validate_dns_label("ServiceAccount", name)
        if namespace not in self.namespaces:
            raise ClusterError("NotFound", f'namespaces "{namespace}" not found', 404)
        accounts = self.service_accounts.setdefault(namespace, {})
        if name in accounts and not exist_ok:
            raise ClusterError(
                "AlreadyExists", f'serviceaccounts "{name}" already exists', 409)
        return accounts.setdefault(name, ServiceAccount(namespace, name))

    def delete_service_account(self, namespace: str, name: str) -> None:
        if self.service_accounts.get(namespace, {}).pop(name, None) is None:
            raise ClusterError("NotFound", f'serviceaccounts "{name}" not found', 404)

    def get_service_account(self, namespace: str, name: str) -> ServiceAccount:
        account = self.service_accounts.get(namespace, {}).get(name)
        if account is None:
            raise ClusterError("NotFound", f'serviceaccounts "{name}" not found', 404)
        return account

    def _subject_exists(self, username: str, bound_uid: str) -> bool:
        if not username.startswith("system:serviceaccount:"):
            return True
        parts = username.split(":")
        account = self.service_accounts.get(parts[2], {}).get(parts[3]) if len(parts) == 4 \
            else None
        return account is not None and (not bound_uid or account.uid == bound_uid)

    def mint_token(self, username: str, now: float, ttl_seconds: int,
                   audiences: list[str]) -> str:
        return self.tokens.mint(username, audiences, now, ttl_seconds)

    def mint_service_account_token(self, namespace: str, name: str, now: float,
                                   ttl_seconds: int, audiences: list[str]) -> str:
        """A TokenRequest for an existing ServiceAccount."""
        account = self.get_service_account(namespace, name)
        groups = ["system:serviceaccounts", f"system:serviceaccounts:{namespace}",
                  "system:authenticated"]
        return self.tokens.mint(account.username, audiences, now, ttl_seconds, groups,
                                bound_uid=account.uid)

    # -- Profiles and contributors -------------------------------------------------------------

    def create_profile(self, name: str, owner: str, owner_kind: str = "User") -> Profile:
        existing = self.namespaces.get(name)
        if existing is not None and existing.annotations.get("owner") not in (None, owner):
            raise ClusterError(
                "Conflict",
                f"namespace {name} exists and is owned by {existing.annotations['owner']}", 409)
        if name in self.profiles:
            raise ClusterError("AlreadyExists", f'profiles.kubeflow.org "{name}" already exists',
                               409)
        namespace = self.create_namespace(name, exist_ok=True)
        namespace.labels.update(PROFILE_LABELS)
        namespace.annotations["owner"] = owner
        profile = Profile(name, owner, owner_kind)
        self.profiles[name] = profile
        self.rbac.put_binding(RoleBinding(
            namespace=name,
            name="namespaceAdmin",
            role_ref=RoleRef("ClusterRole", "kubeflow-admin"),
            subjects=[Subject(owner_kind, owner)],
            annotations={"user": owner, "role": "admin"},
        ))
        for account, role in ((EDITOR_SA, "kubeflow-edit"), (VIEWER_SA, "kubeflow-view")):
            self.create_service_account(name, account, exist_ok=True)
            self.rbac.put_binding(RoleBinding(
                namespace=name,
                name=account,
                role_ref=RoleRef("ClusterRole", role),
                subjects=[Subject("ServiceAccount", account, name)],
            ))
        return profile

    def delete_profile(self, name: str) -> None:
        if name not in self.profiles:
            raise ClusterError("NotFound", f'profiles.kubeflow.org "{name}" not found', 404)
        self.delete_namespace(name)

    def add_contributor(self, namespace: str, email: str, role: str) -> RoleBinding:
        if role not in ROLE_TO_CLUSTER_ROLE:
            raise ClusterError("Invalid", f"role must be one of {sorted(ROLE_TO_CLUSTER_ROLE)}",
                               422)
        if namespace not in self.namespaces:
            raise ClusterError("NotFound", f'namespaces "{namespace}" not found', 404)
        binding = RoleBinding(
            namespace=namespace,
            name=contributor_binding_name(email, role),
            role_ref=RoleRef("ClusterRole", ROLE_TO_CLUSTER_ROLE[role]),
            subjects=[Subject("User", email)],
            annotations={"user": email, "role": role},
        )
        self.rbac.put_binding(binding)
        return binding

    def remove_contributor(self, namespace: str, email: str, role: str) -> None:
        if not self.rbac.delete_binding(namespace, contributor_binding_name(email, role)):
            raise ClusterError("NotFound", f"{email} is not a {role} contributor of {namespace}",
                               404)

    def put_cluster_role(self, role: ClusterRole) -> None:
        self.rbac.put_cluster_role(role)

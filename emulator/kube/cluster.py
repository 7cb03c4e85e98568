"""The slice of a Kubernetes cluster that decides KFP isolation, as one in-memory model.

Namespaces, ServiceAccounts, Secrets, RBAC objects and Kubeflow Profiles.  A Profile does what the
Kubeflow profile controller does (spec section 10): a namespace of the same name annotated with its
owner, a ``namespaceAdmin`` RoleBinding to ``kubeflow-admin``, and the ``default-editor`` /
``default-viewer`` ServiceAccounts bound to ``kubeflow-edit`` / ``kubeflow-view``.  Contributors
are RoleBindings named and annotated the way Kubeflow's access management (KFAM) makes them.

Every object is stamped (uid, creation time, resource version) when stored, so the Kubernetes
surface serves what a real API server would.  Nothing here checks permissions: the callers (the
Kubernetes surface, KFAM, the test controls) authorize first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from emulator.kube.defaults import (
    CLUSTER_ADMIN,
    MASTERS_GROUP,
    bootstrap_policy,
    kfp_system_accounts,
    kubeflow_cluster_roles,
)
from emulator.kube.meta import ObjectStamp
from emulator.kube.rbac import (
    Authorizer,
    ClusterRole,
    ClusterRoleBinding,
    RbacStore,
    Role,
    RoleBinding,
    RoleRef,
    Subject,
    service_account_username,
)
from emulator.kube.tokens import API_AUDIENCE, TokenAuthority
from emulator.kube.workloads import ConfigMap, NoWorkloads, WorkloadSource

PROFILE_LABELS = {
    "istio-injection": "enabled",
    "app.kubernetes.io/part-of": "kubeflow-profile",
    "katib.kubeflow.org/metrics-collector-injection": "enabled",
    "pipelines.kubeflow.org/enabled": "true",
    "serving.kubeflow.org/inferenceservice": "enabled",
}
ROLE_TO_CLUSTER_ROLE = {"admin": "kubeflow-admin", "edit": "kubeflow-edit", "view": "kubeflow-view"}
OWNER_BINDING = "namespaceAdmin"
EDITOR_SA = "default-editor"
VIEWER_SA = "default-viewer"
ADMIN_USER = "kubernetes-admin"


class ClusterError(Exception):
    """A Kubernetes API failure; ``reason`` is the Status reason (NotFound, AlreadyExists...).

    ``kind`` and ``name`` fill the Status ``details`` (``kind`` is the resource's plural)."""

    def __init__(self, reason: str, message: str, code: int, *, kind: str = "",
                 name: str = "", causes: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.code = code
        self.kind = kind
        self.name = name
        self.causes = causes or []


def not_found(resource: str, name: str) -> ClusterError:
    return ClusterError("NotFound", f'{resource} "{name}" not found', 404, kind=resource,
                        name=name)


def already_exists(resource: str, name: str) -> ClusterError:
    return ClusterError("AlreadyExists", f'{resource} "{name}" already exists', 409,
                        kind=resource, name=name)


@dataclass
class Namespace(ObjectStamp):
    name: str


@dataclass
class ServiceAccount(ObjectStamp):
    namespace: str
    name: str

    @property
    def username(self) -> str:
        return service_account_username(self.namespace, self.name)


@dataclass
class Secret(ObjectStamp):
    namespace: str
    name: str
    type: str = "Opaque"
    # Values base64-encoded, as the API serves them.
    data: dict[str, str] = field(default_factory=dict)


@dataclass
class Profile(ObjectStamp):
    name: str
    owner: str
    owner_kind: str = "User"
    # Only for a ServiceAccount owner.
    owner_namespace: str = ""
    # spec fields the emulator keeps but does not act on (resourceQuotaSpec, plugins).
    extra_spec: dict[str, Any] = field(default_factory=dict)
    # status.conditions, as the profile controller writes them ({type, status, message}).
    conditions: list[dict[str, str]] = field(default_factory=list)

    @property
    def owner_subject(self) -> Subject:
        return Subject(self.owner_kind, self.owner,
                       self.owner_namespace if self.owner_kind == "ServiceAccount" else "")

    @property
    def failed(self) -> bool:
        """The controller gave up on it (a namespace owned by someone else)."""
        return any(c.get("type") == "Failed" for c in self.conditions)


def contributor_binding_name(email: str, role: str) -> str:
    """KFAM's RoleBinding name: ``user-<email>-clusterrole-<role>``, sanitized and lower-cased."""
    return re.sub(r"[^a-z0-9]+", "-", f"user-{email}-clusterrole-{role}".lower())


_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


# NewInvalid names the kind with its group (``Role.rbac.authorization.k8s.io``); core kinds bare.
_KIND_GROUPS = {"Role": "rbac.authorization.k8s.io", "ClusterRole": "rbac.authorization.k8s.io",
                "RoleBinding": "rbac.authorization.k8s.io",
                "ClusterRoleBinding": "rbac.authorization.k8s.io", "Profile": "kubeflow.org"}


def _qualified_kind(kind: str) -> str:
    group = _KIND_GROUPS.get(kind)
    return f"{kind}.{group}" if group else kind


def go_value(value: object) -> str:
    """A field error's bad value as apimachinery prints it: strings quoted, numbers bare,
    everything else as JSON (``null`` for a missing object)."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def invalid(kind: str, name: str, field_path: str, value: object, detail: str) -> ClusterError:
    """422 Invalid with one cause, worded as apimachinery's field errors are."""
    cause = f"Invalid value: {go_value(value)}: {detail}"
    return ClusterError("Invalid", f'{_qualified_kind(kind)} "{name}" is invalid: {field_path}: '
                        f'{cause}', 422,
                        kind=kind, name=name,
                        causes=[{"reason": "FieldValueInvalid", "message": cause,
                                 "field": field_path}])


def required(kind: str, name: str, field_path: str, detail: str = "") -> ClusterError:
    """422 Invalid for a missing field (``FieldValueRequired``)."""
    cause = "Required value" + (f": {detail}" if detail else "")
    return ClusterError("Invalid", f'{_qualified_kind(kind)} "{name}" is invalid: {field_path}: '
                        f'{cause}', 422,
                        kind=kind, name=name,
                        causes=[{"reason": "FieldValueRequired", "message": cause,
                                 "field": field_path}])


def _invalid_name(kind: str, name: str, detail: str) -> ClusterError:
    return invalid(kind, name, "metadata.name", name, detail)


def validate_dns_label(kind: str, name: str) -> None:
    if not _DNS_LABEL.match(name):
        raise _invalid_name(
            kind, name,
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
            "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
            "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")


def validate_dns_subdomain(kind: str, name: str) -> None:
    if len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        raise _invalid_name(
            kind, name,
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
            "'-' or '.', and must start and end with an alphanumeric character (e.g. "
            "'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")


def validate_rbac_name(kind: str, name: str) -> None:
    """RBAC object names only must not be ``.``/``..`` or contain ``/`` or ``%``."""
    if not name or name in (".", "..") or "/" in name or "%" in name:
        raise _invalid_name(kind, name, "may not contain '/' or '%' and may not be '.' or '..'")


NamespaceHook = Callable[[str], None]
Removed = TypeVar("Removed", bound=ObjectStamp)


class Cluster:
    """Namespaces, ServiceAccounts, Secrets, RBAC and Profiles of one emulated cluster."""

    def __init__(self, system_namespace: str = "kubeflow",
                 now: Callable[[], float] = lambda: 0.0) -> None:
        self.system_namespace = system_namespace
        self.now = now
        self.rbac = RbacStore()
        self.authorizer = Authorizer(self.rbac)
        self.tokens = TokenAuthority(subject_exists=self._subject_exists)
        # Called with a namespace's name after it is deleted (the KFP server drops its objects).
        self.namespace_deleted: list[NamespaceHook] = []
        # Called with a Profile's namespace after the profile controller reconciled it (the
        # pipelines-profile-controller adds its per-namespace objects then).
        self.profile_reconciled: list[NamespaceHook] = []
        # Pods and Workflows come from whoever runs them (the execution engine).
        self.workloads: WorkloadSource = NoWorkloads()
        self._install()

    def _install(self) -> None:
        self.namespaces: dict[str, Namespace] = {}
        self.service_accounts: dict[str, dict[str, ServiceAccount]] = {}
        self.secrets: dict[str, dict[str, Secret]] = {}
        self.config_maps: dict[str, dict[str, ConfigMap]] = {}
        self.profiles: dict[str, Profile] = {}
        self.resource_version = 0
        self.rbac.replace_all(RbacStore())
        roles, bindings = bootstrap_policy()
        for role in roles + kubeflow_cluster_roles():
            self.put_cluster_role(role)
        for binding in bindings:
            self.put_cluster_binding(binding)
        for name in ("default", "kube-system", self.system_namespace):
            self.create_namespace(name, exist_ok=True)
        for account in kfp_system_accounts():
            self.create_service_account(self.system_namespace, account.name, exist_ok=True)
            self.put_cluster_role(account.role)
            self.put_cluster_binding(ClusterRoleBinding(
                account.role.name + "-binding", RoleRef("ClusterRole", account.role.name),
                [Subject("ServiceAccount", account.name, self.system_namespace)]))

    def reset(self) -> None:
        """Back to a fresh cluster; the token key stays, so user tokens stay valid."""
        self._install()
        self.authorizer.clear_log()

    def restore(self, objects: Sequence[ObjectStamp], resource_version: int) -> None:
        """Hold exactly ``objects``, as they were (snapshot import): no profile controller runs
        and nothing is stamped anew."""
        self.namespaces, self.service_accounts, self.secrets, self.profiles = {}, {}, {}, {}
        self.config_maps = {}
        rbac = RbacStore()
        for obj in objects:
            if isinstance(obj, Namespace):
                self.namespaces[obj.name] = obj
            elif isinstance(obj, ServiceAccount):
                self.service_accounts.setdefault(obj.namespace, {})[obj.name] = obj
            elif isinstance(obj, Secret):
                self.secrets.setdefault(obj.namespace, {})[obj.name] = obj
            elif isinstance(obj, ConfigMap):
                self.config_maps.setdefault(obj.namespace, {})[obj.name] = obj
            elif isinstance(obj, Profile):
                self.profiles[obj.name] = obj
            elif isinstance(obj, ClusterRole):
                rbac.cluster_roles[obj.name] = obj
            elif isinstance(obj, ClusterRoleBinding):
                rbac.cluster_bindings[obj.name] = obj
            elif isinstance(obj, Role):
                rbac.roles.setdefault(obj.namespace, {})[obj.name] = obj
            elif isinstance(obj, RoleBinding):
                rbac.bindings.setdefault(obj.namespace, {})[obj.name] = obj
        self.rbac.replace_all(rbac)
        self.resource_version = resource_version

    def _removed(self, obj: Removed) -> Removed:
        """A delete is a change too: lists afterwards carry a new resourceVersion."""
        self.resource_version += 1
        return obj

    def stamp(self, obj: ObjectStamp) -> None:
        """Give a stored object its creation time (once) and a new resource version."""
        self.resource_version += 1
        obj.resource_version = self.resource_version
        if not obj.created_at:
            obj.created_at = self.now()

    # -- namespaces ------------------------------------------------------------------------------

    def create_namespace(self, name: str, labels: dict[str, str] | None = None,
                         annotations: dict[str, str] | None = None, *,
                         exist_ok: bool = False) -> Namespace:
        validate_dns_label("Namespace", name)
        if name in self.namespaces:
            if exist_ok:
                return self.namespaces[name]
            raise already_exists("namespaces", name)
        labels = {**(labels or {}), "kubernetes.io/metadata.name": name}
        namespace = Namespace(name, labels=labels, annotations=dict(annotations or {}))
        self.stamp(namespace)
        self.namespaces[name] = namespace
        self.service_accounts.setdefault(name, {})
        self.create_service_account(name, "default", exist_ok=True)
        return namespace

    def get_namespace(self, name: str) -> Namespace:
        namespace = self.namespaces.get(name)
        if namespace is None:
            raise not_found("namespaces", name)
        return namespace

    def delete_namespace(self, name: str) -> Namespace:
        namespace = self.get_namespace(name)
        del self.namespaces[name]
        self.service_accounts.pop(name, None)
        self.secrets.pop(name, None)
        self.config_maps.pop(name, None)
        self.rbac.drop_namespace(name)
        for hook in self.namespace_deleted:
            hook(name)
        profile = self.profiles.get(name)
        if profile is not None and not profile.failed:
            # The Profile owns the namespace: its controller creates it again, empty.
            self._reconcile(profile)
        return self._removed(namespace)

    def _require_namespace(self, namespace: str) -> None:
        if namespace not in self.namespaces:
            raise not_found("namespaces", namespace)

    # -- service accounts and tokens -------------------------------------------------------------

    def create_service_account(self, namespace: str, name: str, *,
                               exist_ok: bool = False,
                               labels: dict[str, str] | None = None,
                               annotations: dict[str, str] | None = None) -> ServiceAccount:
        validate_dns_subdomain("ServiceAccount", name)
        self._require_namespace(namespace)
        accounts = self.service_accounts.setdefault(namespace, {})
        if name in accounts:
            if exist_ok:
                return accounts[name]
            raise already_exists("serviceaccounts", name)
        account = ServiceAccount(namespace, name, labels=dict(labels or {}),
                                 annotations=dict(annotations or {}))
        self.stamp(account)
        accounts[name] = account
        return account

    def get_service_account(self, namespace: str, name: str) -> ServiceAccount:
        account = self.service_accounts.get(namespace, {}).get(name)
        if account is None:
            raise not_found("serviceaccounts", name)
        return account

    def delete_service_account(self, namespace: str, name: str) -> ServiceAccount:
        account = self.service_accounts.get(namespace, {}).pop(name, None)
        if account is None:
            raise not_found("serviceaccounts", name)
        return self._removed(account)

    def _subject_exists(self, username: str, bound_uid: str) -> bool:
        if not username.startswith("system:serviceaccount:"):
            return True
        parts = username.split(":")
        account = self.service_accounts.get(parts[2], {}).get(parts[3]) if len(parts) == 4 \
            else None
        return account is not None and (not bound_uid or account.uid == bound_uid)

    def mint_token(self, username: str, now: float, ttl_seconds: int,
                   audiences: list[str], groups: list[str] | None = None) -> str:
        """A token for a person (as an OIDC provider would issue one for the cluster)."""
        return self.tokens.mint(username, audiences, now, ttl_seconds,
                                groups if groups is not None else ["system:authenticated"])

    def mint_admin_token(self, now: float, ttl_seconds: int) -> str:
        """The kubeconfig credential of a kubeadm cluster: ``system:masters``, so cluster-admin
        on the Kubernetes API, yet an unknown user to KFP (its SAR carries no groups)."""
        return self.tokens.mint(ADMIN_USER, [API_AUDIENCE], now, ttl_seconds,
                                [MASTERS_GROUP, "system:authenticated"])

    def mint_service_account_token(self, namespace: str, name: str, now: float,
                                   ttl_seconds: int, audiences: list[str]) -> str:
        """A TokenRequest for an existing ServiceAccount."""
        account = self.get_service_account(namespace, name)
        groups = ["system:serviceaccounts", f"system:serviceaccounts:{namespace}",
                  "system:authenticated"]
        return self.tokens.mint(account.username, audiences, now, ttl_seconds, groups,
                                bound_uid=account.uid)

    # -- secrets ---------------------------------------------------------------------------------

    def create_secret(self, secret: Secret) -> Secret:
        validate_dns_subdomain("Secret", secret.name)
        self._require_namespace(secret.namespace)
        secrets = self.secrets.setdefault(secret.namespace, {})
        if secret.name in secrets:
            raise already_exists("secrets", secret.name)
        self.stamp(secret)
        secrets[secret.name] = secret
        return secret

    def get_secret(self, namespace: str, name: str) -> Secret:
        secret = self.secrets.get(namespace, {}).get(name)
        if secret is None:
            raise not_found("secrets", name)
        return secret

    def delete_secret(self, namespace: str, name: str) -> Secret:
        secret = self.secrets.get(namespace, {}).pop(name, None)
        if secret is None:
            raise not_found("secrets", name)
        return self._removed(secret)

    # -- config maps -----------------------------------------------------------------------------

    def create_config_map(self, config_map: ConfigMap) -> ConfigMap:
        validate_dns_subdomain("ConfigMap", config_map.name)
        self._require_namespace(config_map.namespace)
        config_maps = self.config_maps.setdefault(config_map.namespace, {})
        if config_map.name in config_maps:
            raise already_exists("configmaps", config_map.name)
        self.stamp(config_map)
        config_maps[config_map.name] = config_map
        return config_map

    def get_config_map(self, namespace: str, name: str) -> ConfigMap:
        config_map = self.config_maps.get(namespace, {}).get(name)
        if config_map is None:
            raise not_found("configmaps", name)
        return config_map

    def delete_config_map(self, namespace: str, name: str) -> ConfigMap:
        config_map = self.config_maps.get(namespace, {}).pop(name, None)
        if config_map is None:
            raise not_found("configmaps", name)
        return self._removed(config_map)

    # -- RBAC ------------------------------------------------------------------------------------

    def put_cluster_role(self, role: ClusterRole) -> ClusterRole:
        self.stamp(role)
        self.rbac.put_cluster_role(role)
        return role

    def create_cluster_role(self, role: ClusterRole) -> ClusterRole:
        validate_rbac_name("ClusterRole", role.name)
        if role.name in self.rbac.cluster_roles:
            raise already_exists("clusterroles.rbac.authorization.k8s.io", role.name)
        return self.put_cluster_role(role)

    def delete_cluster_role(self, name: str) -> ClusterRole:
        role = self.rbac.delete_cluster_role(name)
        if role is None:
            raise not_found("clusterroles.rbac.authorization.k8s.io", name)
        return self._removed(role)

    def create_role(self, role: Role) -> Role:
        validate_rbac_name("Role", role.name)
        self._require_namespace(role.namespace)
        if role.name in self.rbac.roles.get(role.namespace, {}):
            raise already_exists("roles.rbac.authorization.k8s.io", role.name)
        self.stamp(role)
        self.rbac.put_role(role)
        return role

    def delete_role(self, namespace: str, name: str) -> Role:
        role = self.rbac.delete_role(namespace, name)
        if role is None:
            raise not_found("roles.rbac.authorization.k8s.io", name)
        return self._removed(role)

    def put_binding(self, binding: RoleBinding) -> RoleBinding:
        self.stamp(binding)
        self.rbac.put_binding(binding)
        return binding

    def create_binding(self, binding: RoleBinding) -> RoleBinding:
        validate_rbac_name("RoleBinding", binding.name)
        self._require_namespace(binding.namespace)
        if binding.name in self.rbac.bindings.get(binding.namespace, {}):
            raise already_exists("rolebindings.rbac.authorization.k8s.io", binding.name)
        return self.put_binding(binding)

    def delete_binding(self, namespace: str, name: str) -> RoleBinding:
        binding = self.rbac.delete_binding(namespace, name)
        if binding is None:
            raise not_found("rolebindings.rbac.authorization.k8s.io", name)
        return self._removed(binding)

    def put_cluster_binding(self, binding: ClusterRoleBinding) -> ClusterRoleBinding:
        self.stamp(binding)
        self.rbac.put_cluster_binding(binding)
        return binding

    def create_cluster_binding(self, binding: ClusterRoleBinding) -> ClusterRoleBinding:
        validate_rbac_name("ClusterRoleBinding", binding.name)
        if binding.name in self.rbac.cluster_bindings:
            raise already_exists("clusterrolebindings.rbac.authorization.k8s.io", binding.name)
        return self.put_cluster_binding(binding)

    def delete_cluster_binding(self, name: str) -> ClusterRoleBinding:
        binding = self.rbac.delete_cluster_binding(name)
        if binding is None:
            raise not_found("clusterrolebindings.rbac.authorization.k8s.io", name)
        return self._removed(binding)

    def make_cluster_admin(self, user: str) -> ClusterRoleBinding:
        """What ``kubectl create clusterrolebinding --clusterrole=cluster-admin --user=`` does."""
        name = re.sub(r"[^a-z0-9.-]+", "-", f"{user}-cluster-admin".lower())
        return self.put_cluster_binding(ClusterRoleBinding(
            name, RoleRef("ClusterRole", CLUSTER_ADMIN), [Subject("User", user)]))

    # -- Profiles and contributors ---------------------------------------------------------------

    def create_profile(self, name: str, owner: str, owner_kind: str = "User",
                       owner_namespace: str = "", *,
                       extra_spec: dict[str, Any] | None = None,
                       labels: dict[str, str] | None = None,
                       annotations: dict[str, str] | None = None) -> Profile:
        validate_dns_label("Profile", name)
        if name in self.profiles:
            raise already_exists("profiles.kubeflow.org", name)
        profile = Profile(name, owner, owner_kind, owner_namespace,
                          extra_spec=dict(extra_spec or {}), labels=dict(labels or {}),
                          annotations=dict(annotations or {}))
        self.stamp(profile)
        self.profiles[name] = profile
        existing = self.namespaces.get(name)
        if existing is not None and existing.annotations.get("owner") != owner:
            # The controller records the failure and stops: the namespace stays its owner's.
            profile.conditions.append({
                "type": "Failed", "status": "True",
                "message": f"namespace already exist, but not owned by profile creator {owner}"})
            return profile
        self._reconcile(profile)
        return profile

    def _reconcile(self, profile: Profile) -> None:
        """What the profile controller makes: the namespace, the owner's ``namespaceAdmin``
        binding, and the editor and viewer ServiceAccounts with their bindings."""
        name, owner = profile.name, profile.owner
        namespace = self.create_namespace(name, exist_ok=True)
        namespace.labels.update(PROFILE_LABELS)
        namespace.annotations["owner"] = owner
        self.stamp(namespace)
        self.put_binding(RoleBinding(
            namespace=name, name=OWNER_BINDING,
            role_ref=RoleRef("ClusterRole", ROLE_TO_CLUSTER_ROLE["admin"]),
            subjects=[profile.owner_subject],
            annotations={"user": owner, "role": "admin"},
        ))
        for account, role in ((EDITOR_SA, "edit"), (VIEWER_SA, "view")):
            self.create_service_account(name, account, exist_ok=True)
            self.put_binding(RoleBinding(
                namespace=name, name=account,
                role_ref=RoleRef("ClusterRole", ROLE_TO_CLUSTER_ROLE[role]),
                subjects=[Subject("ServiceAccount", account, name)],
            ))
        for hook in self.profile_reconciled:
            hook(name)

    def get_profile(self, name: str) -> Profile:
        profile = self.profiles.get(name)
        if profile is None:
            raise not_found("profiles.kubeflow.org", name)
        return profile

    def delete_profile(self, name: str) -> Profile:
        """The profile controller owns the namespace: it goes, with all that lives in it."""
        profile = self.get_profile(name)
        del self.profiles[name]
        if name in self.namespaces and not profile.failed:
            self.delete_namespace(name)
        return self._removed(profile)

    def add_contributor(self, namespace: str, email: str, role: str) -> RoleBinding:
        if role not in ROLE_TO_CLUSTER_ROLE:
            raise ClusterError("Invalid", f"role must be one of {sorted(ROLE_TO_CLUSTER_ROLE)}",
                               422)
        self._require_namespace(namespace)
        return self.put_binding(RoleBinding(
            namespace=namespace,
            name=contributor_binding_name(email, role),
            role_ref=RoleRef("ClusterRole", ROLE_TO_CLUSTER_ROLE[role]),
            subjects=[Subject("User", email)],
            annotations={"user": email, "role": role},
        ))

    def remove_contributor(self, namespace: str, email: str, role: str) -> RoleBinding:
        binding = self.rbac.delete_binding(namespace, contributor_binding_name(email, role))
        if binding is None:
            raise ClusterError("NotFound", f"{email} is not a {role} contributor of {namespace}",
                               404)
        return binding


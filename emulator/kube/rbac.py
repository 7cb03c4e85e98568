"""Kubernetes RBAC, and the one authorizer every emulated access decision goes through.

The real API server asks Kubernetes a ``SubjectAccessReview`` carrying only ``spec.user`` (no
groups, no UID).  :meth:`Authorizer.review` answers that same question from the ClusterRoles,
Roles, RoleBindings and ClusterRoleBindings held here, and records every decision with the reason,
so a test (or a person) can see exactly why a request was denied.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

PIPELINES_GROUP = "pipelines.kubeflow.org"
KUBEFLOW_GROUP = "kubeflow.org"


@dataclass(frozen=True)
class PolicyRule:
    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    resource_names: tuple[str, ...] = ()

    def matches(self, group: str, resource: str, verb: str, name: str) -> bool:
        return (
            _matches(self.api_groups, group)
            and _matches(self.resources, resource)
            and _matches(self.verbs, verb)
            and (not self.resource_names or name in self.resource_names)
        )

    def to_k8s(self) -> dict[str, Any]:
        rule: dict[str, Any] = {
            "apiGroups": list(self.api_groups),
            "resources": list(self.resources),
            "verbs": list(self.verbs),
        }
        if self.resource_names:
            rule["resourceNames"] = list(self.resource_names)
        return rule

    @classmethod
    def from_k8s(cls, rule: dict[str, Any]) -> PolicyRule:
        return cls(
            api_groups=tuple(rule.get("apiGroups") or ()),
            resources=tuple(rule.get("resources") or ()),
            verbs=tuple(rule.get("verbs") or ()),
            resource_names=tuple(rule.get("resourceNames") or ()),
        )


def _matches(allowed: tuple[str, ...], value: str) -> bool:
    return "*" in allowed or value in allowed


@dataclass
class ClusterRole:
    name: str
    rules: list[PolicyRule] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    # Kubernetes aggregationRule.clusterRoleSelectors[].matchLabels
    aggregate_from: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Role:
    namespace: str
    name: str
    rules: list[PolicyRule] = field(default_factory=list)


@dataclass(frozen=True)
class Subject:
    kind: str  # User | ServiceAccount | Group
    name: str
    namespace: str = ""

    def username(self) -> str | None:
        """The SAR user this subject matches; groups never match a KFP SAR."""
        if self.kind == "User":
            return self.name
        if self.kind == "ServiceAccount":
            return service_account_username(self.namespace, self.name)
        return None


@dataclass(frozen=True)
class RoleRef:
    kind: str  # ClusterRole | Role
    name: str


@dataclass
class RoleBinding:
    namespace: str
    name: str
    role_ref: RoleRef
    subjects: list[Subject]
    annotations: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class ClusterRoleBinding:
    name: str
    role_ref: RoleRef
    subjects: list[Subject]


def service_account_username(namespace: str, name: str) -> str:
    return f"system:serviceaccount:{namespace}:{name}"


@dataclass(frozen=True)
class ResourceAttributes:
    """``authorization.k8s.io/v1`` ResourceAttributes as KFP fills them (spec section 3.1)."""

    namespace: str
    verb: str
    resource: str
    group: str = PIPELINES_GROUP
    version: str = "v1beta1"
    name: str = ""
    subresource: str = ""

    def go_repr(self) -> str:
        """The ``%+v``-style text KFP embeds in PermissionDenied messages (k8s.io/api v0.36)."""
        return (
            f"&ResourceAttributes{{Namespace:{self.namespace},Verb:{self.verb},Group:{self.group},"
            f"Version:{self.version},Resource:{self.resource},Subresource:{self.subresource},"
            f"Name:{self.name},FieldSelector:nil,LabelSelector:nil,}}"
        )


@dataclass(slots=True)  # one per authorized request: cheap to build
class Decision:
    """One recorded authorization decision."""

    seq: int
    user: str
    verb: str
    group: str
    resource: str
    namespace: str
    name: str
    allowed: bool
    reason: str
    # What the API server would see in SubjectAccessReview.status.reason.
    sar_reason: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class RbacStore:
    """ClusterRoles, Roles and bindings, with bindings indexed by namespace.

    Change it only through these methods: each bumps ``revision``, which keys the caches of
    aggregated rules and of access decisions.
    """

    def __init__(self) -> None:
        self.cluster_roles: dict[str, ClusterRole] = {}
        self.roles: dict[str, dict[str, Role]] = {}
        self.bindings: dict[str, dict[str, RoleBinding]] = {}
        self.cluster_bindings: dict[str, ClusterRoleBinding] = {}
        self.revision = 0
        # name -> (revision it was computed at, aggregated rules)
        self._aggregated: dict[str, tuple[int, list[PolicyRule]]] = {}

    def _changed(self) -> None:
        self.revision += 1

    def put_cluster_role(self, role: ClusterRole) -> None:
        self.cluster_roles[role.name] = role
        self._changed()

    def put_role(self, role: Role) -> None:
        self.roles.setdefault(role.namespace, {})[role.name] = role
        self._changed()

    def put_binding(self, binding: RoleBinding) -> None:
        self.bindings.setdefault(binding.namespace, {})[binding.name] = binding
        self._changed()

    def delete_binding(self, namespace: str, name: str) -> bool:
        removed = self.bindings.get(namespace, {}).pop(name, None) is not None
        self._changed()
        return removed

    def put_cluster_binding(self, binding: ClusterRoleBinding) -> None:
        self.cluster_bindings[binding.name] = binding
        self._changed()

    def drop_namespace(self, namespace: str) -> None:
        self.roles.pop(namespace, None)
        self.bindings.pop(namespace, None)
        self._changed()

    def replace_all(self, other: RbacStore) -> None:
        """Take over another store's objects (reset, snapshot import)."""
        self.cluster_roles, self.roles = other.cluster_roles, other.roles
        self.bindings, self.cluster_bindings = other.bindings, other.cluster_bindings
        self._changed()

    def effective_cluster_rules(self, name: str) -> list[PolicyRule]:
        """Own rules plus those of every ClusterRole selected by the aggregation rule.

        Aggregation scans every ClusterRole, so the result is kept until the store changes.
        """
        cached = self._aggregated.get(name)
        if cached is not None and cached[0] == self.revision:
            return cached[1]
        rules = self._aggregate(name)
        self._aggregated[name] = (self.revision, rules)
        return rules

    def _aggregate(self, name: str) -> list[PolicyRule]:
        seen: set[str] = set()
        rules: list[PolicyRule] = []
        pending = [name]
        while pending:
            current = pending.pop()
            if current in seen or current not in self.cluster_roles:
                continue
            seen.add(current)
            role = self.cluster_roles[current]
            rules.extend(role.rules)
            for selector in role.aggregate_from:
                pending.extend(
                    other.name
                    for other in self.cluster_roles.values()
                    if selector and all(other.labels.get(k) == v for k, v in selector.items())
                )
        return rules

    def rules_for(self, ref: RoleRef, namespace: str) -> Sequence[PolicyRule]:
        """The rules a binding grants (read-only: the ClusterRole list is the cached one)."""
        if ref.kind == "ClusterRole":
            return self.effective_cluster_rules(ref.name)
        role = self.roles.get(namespace, {}).get(ref.name)
        return role.rules if role else ()


class Authorizer:
    """Answers SubjectAccessReviews the way the Kubernetes RBAC authorizer does."""

    def __init__(self, rbac: RbacStore, log_size: int = 10_000) -> None:
        self.rbac = rbac
        self._log: deque[Decision] = deque(maxlen=log_size)
        self._seq = 0
        self._lock = threading.Lock()

    def review(self, user: str, attrs: ResourceAttributes) -> Decision:
        allowed, reason, sar_reason = self._evaluate(user, attrs)
        with self._lock:
            self._seq += 1
            decision = Decision(
                seq=self._seq,
                user=user,
                verb=attrs.verb,
                group=attrs.group,
                resource=attrs.resource,
                namespace=attrs.namespace,
                name=attrs.name,
                allowed=allowed,
                reason=reason,
                sar_reason=sar_reason,
            )
            self._log.append(decision)
        return decision

    def _evaluate(self, user: str, attrs: ResourceAttributes) -> tuple[bool, str, str]:
        checks: list[tuple[str, str, RoleRef, list[Subject], str]] = [
            ("ClusterRoleBinding", b.name, b.role_ref, b.subjects, "")
            for b in self.rbac.cluster_bindings.values()
        ]
        if attrs.namespace:
            checks += [
                ("RoleBinding", f"{attrs.namespace}/{b.name}", b.role_ref, b.subjects,
                 attrs.namespace)
                for b in self.rbac.bindings.get(attrs.namespace, {}).values()
            ]
        for kind, binding, ref, subjects, namespace in checks:
            subject = next((s for s in subjects if s.username() == user), None)
            if subject is None:
                continue
            for rule in self.rbac.rules_for(ref, namespace):
                if rule.matches(attrs.group, attrs.resource, attrs.verb, attrs.name):
                    sar = (f'RBAC: allowed by {kind} "{binding}" of {ref.kind} "{ref.name}" '
                           f'to {subject.kind} "{subject.name}"')
                    return True, f"allowed by {kind} {binding} of {ref.kind} {ref.name}", sar
        where = f"namespace {attrs.namespace!r}" if attrs.namespace else "the cluster scope"
        reason = (f"no binding for user {user!r} in {where} grants verb {attrs.verb!r} on "
                  f"{attrs.resource}.{attrs.group}")
        # A plain RBAC denial carries an empty SAR reason, as the real cluster does.
        return False, reason, ""

    def decisions(self, since: int = 0) -> list[Decision]:
        with self._lock:
            return [d for d in self._log if d.seq > since]

    def last_seq(self) -> int:
        with self._lock:
            return self._seq

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()


def kubeflow_cluster_roles() -> list[ClusterRole]:
    """The Kubeflow ClusterRoles with the ``pipelines.kubeflow.org`` verbs of spec section 10.

    Built with the same aggregation labels as the manifests: admin aggregates edit, edit
    aggregates view, and the pipelines roles aggregate into them.
    """
    agg = "rbac.authorization.kubeflow.org/aggregate-to-"
    view_rules = [
        PolicyRule((PIPELINES_GROUP,), ("pipelines", "pipelines/versions", "pipelineversions",
                                        "experiments", "jobs"), ("get", "list")),
        PolicyRule((PIPELINES_GROUP,), ("runs",), ("get", "list", "readArtifact")),
        PolicyRule((PIPELINES_GROUP,), ("visualizations",), ("create",)),
        PolicyRule((KUBEFLOW_GROUP,), ("viewers",), ("create", "get", "delete")),
    ]
    edit_rules = [
        PolicyRule((PIPELINES_GROUP,), ("pipelines", "pipelines/versions", "pipelineversions"),
                   ("create", "delete", "update")),
        PolicyRule((PIPELINES_GROUP,), ("experiments",),
                   ("archive", "create", "delete", "unarchive")),
        PolicyRule((PIPELINES_GROUP,), ("runs",),
                   ("archive", "create", "delete", "retry", "terminate", "unarchive",
                    "reportMetrics")),
        PolicyRule((PIPELINES_GROUP,), ("jobs",), ("create", "delete", "disable", "enable")),
        PolicyRule((KUBEFLOW_GROUP,), ("scheduledworkflows",), ("*",)),
        PolicyRule(("argoproj.io",), ("workflows", "cronworkflows", "workflowtemplates"), ("*",)),
    ]
    admin_rules = [
        PolicyRule(("rbac.authorization.k8s.io",), ("roles", "rolebindings"), ("*",)),
    ]
    return [
        ClusterRole("kubeflow-admin", admin_rules,
                    aggregate_from=[{agg + "kubeflow-admin": "true"}]),
        ClusterRole("kubeflow-edit", [], labels={agg + "kubeflow-admin": "true"},
                    aggregate_from=[{agg + "kubeflow-edit": "true"}]),
        ClusterRole("kubeflow-view", [], labels={agg + "kubeflow-edit": "true"},
                    aggregate_from=[{agg + "kubeflow-view": "true"}]),
        ClusterRole("kubeflow-pipelines-edit", edit_rules, labels={agg + "kubeflow-edit": "true"},
                    aggregate_from=[{agg + "kubeflow-pipelines-edit": "true"}]),
        ClusterRole("kubeflow-pipelines-view", view_rules,
                    labels={agg + "kubeflow-view": "true", agg + "kubeflow-pipelines-edit": "true"},
                    aggregate_from=[{agg + "kubeflow-pipelines-view": "true"}]),
    ]

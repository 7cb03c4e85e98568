"""Kubernetes RBAC, and the one authorizer every emulated access decision goes through.

The real API server asks Kubernetes a ``SubjectAccessReview`` carrying only ``spec.user`` (no
groups, no UID).  :meth:`Authorizer.review` answers that same question from the ClusterRoles,
Roles, RoleBindings and ClusterRoleBindings held here, and records every decision with the reason,
so a test (or a person) can see exactly why a request was denied.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from emulator.kube.meta import ObjectStamp

PIPELINES_GROUP = "pipelines.kubeflow.org"
KUBEFLOW_GROUP = "kubeflow.org"


@dataclass(frozen=True)
class PolicyRule:
    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    def matches(self, group: str, resource: str, verb: str, name: str) -> bool:
        return (
            _matches(self.api_groups, group)
            and _matches(self.resources, resource)
            and _matches(self.verbs, verb)
            and (not self.resource_names or name in self.resource_names)
        )

    def matches_path(self, path: str, verb: str) -> bool:
        """A non-resource rule: exact URL, or a prefix ending in ``*`` (Kubernetes RBAC)."""
        return _matches(self.verbs, verb) and any(
            url == path or url == "*" or (url.endswith("*") and path.startswith(url[:-1]))
            for url in self.non_resource_urls)

    def to_k8s(self) -> dict[str, Any]:
        rule: dict[str, Any] = {"verbs": list(self.verbs)}
        if self.api_groups or not self.non_resource_urls:
            rule["apiGroups"] = list(self.api_groups)
        if self.resources or not self.non_resource_urls:
            rule["resources"] = list(self.resources)
        if self.resource_names:
            rule["resourceNames"] = list(self.resource_names)
        if self.non_resource_urls:
            rule["nonResourceURLs"] = list(self.non_resource_urls)
        return rule


def _matches(allowed: tuple[str, ...], value: str) -> bool:
    return "*" in allowed or value in allowed


@dataclass
class ClusterRole(ObjectStamp):
    name: str
    rules: list[PolicyRule] = field(default_factory=list)
    # Kubernetes aggregationRule.clusterRoleSelectors[].matchLabels
    aggregate_from: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Role(ObjectStamp):
    namespace: str
    name: str
    rules: list[PolicyRule] = field(default_factory=list)


@dataclass(frozen=True)
class Subject:
    kind: str  # User | ServiceAccount | Group
    name: str
    namespace: str = ""

    def username(self) -> str | None:
        """The user name this subject stands for; a Group stands for no single user."""
        if self.kind == "User":
            return self.name
        if self.kind == "ServiceAccount":
            return service_account_username(self.namespace, self.name)
        return None


@dataclass(frozen=True)
class Grant:
    """One binding as it applies to one subject: what a review walks."""

    kind: str  # RoleBinding | ClusterRoleBinding
    binding: str  # its name, ``namespace/name`` for a RoleBinding
    role_ref: RoleRef
    subject: Subject
    namespace: str  # "" for a ClusterRoleBinding


@dataclass(frozen=True)
class RoleRef:
    kind: str  # ClusterRole | Role
    name: str


@dataclass
class RoleBinding(ObjectStamp):
    namespace: str
    name: str
    role_ref: RoleRef
    subjects: list[Subject]


@dataclass
class ClusterRoleBinding(ObjectStamp):
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
    resource: str  # ``resource/subresource`` when the request named a subresource
    namespace: str
    name: str
    allowed: bool
    reason: str
    # What the API server would see in SubjectAccessReview.status.reason.
    sar_reason: str
    # The URL of a non-resource request (then verb is its HTTP verb and resource is empty).
    path: str = ""

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
        # namespace ("" for ClusterRoleBindings) -> (revision, grants by subject key)
        self._grants: dict[str, tuple[int, dict[tuple[str, str], list[Grant]]]] = {}

    def _changed(self) -> None:
        self.revision += 1

    def put_cluster_role(self, role: ClusterRole) -> None:
        self.cluster_roles[role.name] = role
        self._changed()

    def delete_cluster_role(self, name: str) -> ClusterRole | None:
        role = self.cluster_roles.pop(name, None)
        self._changed()
        return role

    def put_role(self, role: Role) -> None:
        self.roles.setdefault(role.namespace, {})[role.name] = role
        self._changed()

    def delete_role(self, namespace: str, name: str) -> Role | None:
        role = self.roles.get(namespace, {}).pop(name, None)
        self._changed()
        return role

    def put_binding(self, binding: RoleBinding) -> None:
        self.bindings.setdefault(binding.namespace, {})[binding.name] = binding
        self._changed()

    def delete_binding(self, namespace: str, name: str) -> RoleBinding | None:
        binding = self.bindings.get(namespace, {}).pop(name, None)
        self._changed()
        return binding

    def put_cluster_binding(self, binding: ClusterRoleBinding) -> None:
        self.cluster_bindings[binding.name] = binding
        self._changed()

    def delete_cluster_binding(self, name: str) -> ClusterRoleBinding | None:
        binding = self.cluster_bindings.pop(name, None)
        self._changed()
        return binding

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

    def grants(self, namespace: str) -> dict[tuple[str, str], list[Grant]]:
        """The bindings of one namespace ("": the ClusterRoleBindings) by the subject they name:
        ``("user", username)`` or ``("group", name)``, so a review looks only at the bindings
        that can apply to the caller.  Kept until the store changes."""
        cached = self._grants.get(namespace)
        if cached is not None and cached[0] == self.revision:
            return cached[1]
        index: dict[tuple[str, str], list[Grant]] = {}
        if namespace:
            bindings: list[tuple[str, str, RoleRef, list[Subject]]] = [
                ("RoleBinding", f"{namespace}/{b.name}", b.role_ref, b.subjects)
                for b in self.bindings.get(namespace, {}).values()]
        else:
            bindings = [("ClusterRoleBinding", b.name, b.role_ref, b.subjects)
                        for b in self.cluster_bindings.values()]
        for kind, label, ref, subjects in bindings:
            for subject in subjects:
                username = subject.username()
                key = ("user", username) if username is not None else ("group", subject.name)
                entries = index.setdefault(key, [])
                if not any(entry.binding == label for entry in entries):
                    entries.append(Grant(kind, label, ref, subject, namespace))
        self._grants[namespace] = (self.revision, index)
        return index

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

    def review(self, user: str, attrs: ResourceAttributes,
               groups: Sequence[str] = ()) -> Decision:
        """A SubjectAccessReview.  KFP sends only the user; the Kubernetes surface adds the
        caller's groups, as the kube-apiserver does for its own requests.  A subresource is
        matched as ``resource/subresource`` (a rule on ``serviceaccounts`` does not grant
        ``serviceaccounts/token``), as Kubernetes RBAC does."""
        resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
        allowed, reason, sar_reason = self._evaluate(
            user, groups, attrs.namespace,
            lambda rule: rule.matches(attrs.group, resource, attrs.verb, attrs.name),
            f"verb {attrs.verb!r} on {attrs.resource}.{attrs.group}")
        return self._record(user, attrs.verb, attrs.group, resource, attrs.namespace,
                            attrs.name, allowed, reason, sar_reason)

    def review_path(self, user: str, groups: Sequence[str], path: str, verb: str) -> Decision:
        """A non-resource request (discovery, ``/version``): only ClusterRoleBindings count."""
        allowed, reason, sar_reason = self._evaluate(
            user, groups, "", lambda rule: rule.matches_path(path, verb),
            f"verb {verb!r} on path {path!r}")
        return self._record(user, verb, "", "", "", "", allowed, reason, sar_reason, path)

    def _record(self, user: str, verb: str, group: str, resource: str, namespace: str,
                name: str, allowed: bool, reason: str, sar_reason: str,
                path: str = "") -> Decision:
        with self._lock:
            self._seq += 1
            decision = Decision(
                seq=self._seq, user=user, verb=verb, group=group, resource=resource,
                namespace=namespace, name=name, allowed=allowed, reason=reason,
                sar_reason=sar_reason, path=path)
            self._log.append(decision)
        return decision

    def _evaluate(self, user: str, groups: Sequence[str], namespace: str,
                  rule_matches: Callable[[PolicyRule], bool],
                  what: str) -> tuple[bool, str, str]:
        for grant in self._grants_to(user, groups, namespace):
            ref = grant.role_ref
            for rule in self.rbac.rules_for(ref, grant.namespace):
                if rule_matches(rule):
                    sar = (f'RBAC: allowed by {grant.kind} "{grant.binding}" of {ref.kind} '
                           f'"{ref.name}" to {grant.subject.kind} "{grant.subject.name}"')
                    return True, (f"allowed by {grant.kind} {grant.binding} of {ref.kind} "
                                  f"{ref.name}"), sar
        scope = f"namespace {namespace!r}" if namespace else "the cluster scope"
        reason = f"no binding for user {user!r} in {scope} grants {what}"
        # A plain RBAC denial carries an empty SAR reason, as the real cluster does.
        return False, reason, ""

    def _grants_to(self, user: str, groups: Sequence[str], namespace: str) -> Iterator[Grant]:
        """The grants naming the caller: ClusterRoleBindings first, then the namespace's."""
        keys = [("user", user), *(("group", group) for group in groups)]
        for scope in ("", namespace) if namespace else ("",):
            index = self.rbac.grants(scope)
            for key in keys:
                yield from index.get(key, ())

    def rules_held(self, user: str, groups: Sequence[str], namespace: str) -> list[PolicyRule]:
        """Every rule granted to the caller in ``namespace`` (and cluster-wide)."""
        return [rule for grant in self._grants_to(user, groups, namespace)
                for rule in self.rbac.rules_for(grant.role_ref, grant.namespace)]

    def missing_rights(self, user: str, groups: Sequence[str], namespace: str,
                       requested: Sequence[PolicyRule]) -> list[PolicyRule]:
        """The parts of ``requested`` the caller does not hold (Kubernetes' ``Covers``): each
        rule is broken into single group/resource/verb/name rights, and a ``*`` asked for is
        covered only by a ``*`` held."""
        held = self.rules_held(user, groups, namespace)
        return [right for rule in requested for right in breakdown(rule)
                if not any(_covers(owner, right) for owner in held)]

    def decisions(self, since: int = 0) -> list[Decision]:
        """The logged decisions after ``since``, oldest first (read from the newest end: a
        caller asking for what is new pays for what is new, not for the whole log)."""
        with self._lock:
            found = list(itertools.takewhile(lambda d: d.seq > since, reversed(self._log)))
        found.reverse()
        return found

    def last_seq(self) -> int:
        with self._lock:
            return self._seq

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()


def breakdown(rule: PolicyRule) -> list[PolicyRule]:
    """One rule per single right, as Kubernetes' ``BreakdownRule``."""
    if rule.non_resource_urls:
        return [PolicyRule((), (), (verb,), non_resource_urls=(url,))
                for url in rule.non_resource_urls for verb in rule.verbs]
    return [PolicyRule((group,), (resource,), (verb,), (name,) if name else ())
            for group in rule.api_groups for resource in rule.resources
            for verb in rule.verbs for name in (rule.resource_names or ("",))]


def _covers(owner: PolicyRule, right: PolicyRule) -> bool:
    if right.non_resource_urls:
        return bool(owner.non_resource_urls) and owner.matches_path(
            right.non_resource_urls[0], right.verbs[0])
    if not (_matches(owner.verbs, right.verbs[0]) and _matches(owner.api_groups,
                                                               right.api_groups[0])
            and _matches(owner.resources, right.resources[0])):
        return False
    return not owner.resource_names or (
        bool(right.resource_names) and right.resource_names[0] in owner.resource_names)


def compact_string(rule: PolicyRule) -> str:
    """``rbacv1helpers.CompactString``: Go's ``%q`` of each non-empty list."""
    def quoted(values: Sequence[str]) -> str:
        return "[" + " ".join(_go_quote(v) for v in values) + "]"
    parts = [f"{label}:{quoted(values)}" for label, values in (
        ("APIGroups", rule.api_groups), ("Resources", rule.resources),
        ("NonResourceURLs", rule.non_resource_urls), ("ResourceNames", rule.resource_names),
        ("Verbs", rule.verbs)) if values]
    return "{" + ", ".join(parts) + "}"


def compact_rules(rules: Sequence[PolicyRule]) -> list[PolicyRule]:
    """``CompactRules``: single group/resource rights that differ only by verb become one."""
    merged: dict[tuple[str, str], list[str]] = {}
    others: list[PolicyRule] = []
    for rule in rules:
        simple = (len(rule.api_groups) == 1 and len(rule.resources) == 1
                  and not rule.resource_names and not rule.non_resource_urls)
        if simple:
            verbs = merged.setdefault((rule.api_groups[0], rule.resources[0]), [])
            verbs.extend(v for v in rule.verbs if v not in verbs)
        else:
            others.append(rule)
    return [PolicyRule((group,), (resource,), tuple(verbs))
            for (group, resource), verbs in merged.items()] + others


def _go_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

"""RBAC's escalation check: nobody grants rights they do not hold.

kube-apiserver's policy-based storage for Roles and bindings (``pkg/registry/rbac``) refuses to
create a Role whose rules, or a binding whose role's rules, the caller does not hold, unless the
caller may ``escalate`` (Roles) or ``bind`` (bindings) that role, or is in ``system:masters``.
Without it a namespace admin could bind ``cluster-admin`` in their namespace and gain rights no
Kubeflow role grants (minting tokens, reading everything).
"""

from __future__ import annotations

from emulator.kube.api.auth import Caller
from emulator.kube.api.status import KubeError, qualified
from emulator.kube.cluster import Cluster, not_found
from emulator.kube.defaults import MASTERS_GROUP
from emulator.kube.manifests import RBAC_GROUP, Model, kind_of
from emulator.kube.rbac import (
    ClusterRole,
    ClusterRoleBinding,
    PolicyRule,
    ResourceAttributes,
    Role,
    RoleBinding,
    compact_rules,
    compact_string,
)


def confirm_no_escalation(cluster: Cluster, caller: Caller, obj: Model) -> None:
    """Raise the API server's 403 (or 404 for a missing role) unless creating ``obj`` grants
    nothing beyond the caller's own rights."""
    if not isinstance(obj, (Role, ClusterRole, RoleBinding, ClusterRoleBinding)):
        return
    if MASTERS_GROUP in caller.groups:
        return
    namespace = getattr(obj, "namespace", "")
    if isinstance(obj, (Role, ClusterRole)):
        plural = "roles" if isinstance(obj, Role) else "clusterroles"
        if _may(cluster, caller, "escalate", plural, namespace, obj.name):
            return
        rules = list(obj.rules)
    else:
        ref = obj.role_ref
        plural = "roles" if ref.kind == "Role" else "clusterroles"
        if _may(cluster, caller, "bind", plural, namespace, ref.name):
            return
        exists = (ref.name in cluster.rbac.roles.get(namespace, {}) if ref.kind == "Role"
                  else ref.name in cluster.rbac.cluster_roles)
        if not exists:
            error = not_found(f"{plural}.{RBAC_GROUP}", ref.name)
            raise KubeError(404, "NotFound", error.message,
                            {"name": ref.name, "group": RBAC_GROUP, "kind": plural})
        rules = list(cluster.rbac.rules_for(ref, namespace))
    missing = cluster.authorizer.missing_rights(caller.user, caller.groups, namespace, rules)
    if missing:
        raise _forbidden(obj, caller, missing)


def _may(cluster: Cluster, caller: Caller, verb: str, plural: str, namespace: str,
         name: str) -> bool:
    attrs = ResourceAttributes(namespace=namespace, verb=verb, resource=plural,
                               group=RBAC_GROUP, version="v1", name=name)
    return cluster.authorizer.review(caller.user, attrs, caller.groups).allowed


def _forbidden(obj: Model, caller: Caller, missing: list[PolicyRule]) -> KubeError:
    kind = kind_of(obj)
    described = sorted({compact_string(rule) for rule in compact_rules(missing)})
    groups = "[" + " ".join(f'"{g}"' for g in caller.groups) + "]"
    reason = (f'user "{caller.user}" (groups={groups}) is attempting to grant RBAC permissions '
              "not currently held:\n" + "\n".join(described))
    return KubeError(403, "Forbidden",
                     f'{qualified(kind.plural, RBAC_GROUP)} "{obj.name}" is forbidden: {reason}',
                     {"name": obj.name, "group": RBAC_GROUP, "kind": kind.plural})

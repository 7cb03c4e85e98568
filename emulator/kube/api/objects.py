"""The stored kinds' operations on the one :class:`~emulator.kube.cluster.Cluster`.

Every change goes through a Cluster method (which validates, then stamps), so a rejected request
changes nothing.  Callers hold the model lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from emulator.kube.cluster import (
    Cluster,
    ClusterError,
    Namespace,
    Profile,
    Secret,
    ServiceAccount,
    not_found,
)
from emulator.kube.manifests import Model
from emulator.kube.rbac import ClusterRole, ClusterRoleBinding, Role, RoleBinding
from emulator.kube.workloads import ARGO_GROUP, ConfigMap, Pod, Workflow


@dataclass(frozen=True)
class Store:
    model: type
    list: Callable[[Cluster, str], Iterable[Model]]
    get: Callable[[Cluster, str, str], Model]
    create: Callable[[Cluster, Any], Model]
    delete: Callable[[Cluster, str, str], Model]


def _per_namespace(index: Callable[[Cluster], dict[str, dict[str, Any]]]
                   ) -> Callable[[Cluster, str], Iterable[Model]]:
    def listing(cluster: Cluster, namespace: str) -> Iterable[Model]:
        by_namespace = index(cluster)
        if namespace:
            return list(by_namespace.get(namespace, {}).values())
        return [obj for objects in by_namespace.values() for obj in objects.values()]
    return listing


def _create_namespace(cluster: Cluster, obj: Namespace) -> Model:
    return cluster.create_namespace(obj.name, obj.labels, obj.annotations)


def _create_service_account(cluster: Cluster, obj: ServiceAccount) -> Model:
    return cluster.create_service_account(obj.namespace, obj.name, labels=obj.labels,
                                          annotations=obj.annotations)


def _create_profile(cluster: Cluster, obj: Profile) -> Model:
    return cluster.create_profile(obj.name, obj.owner, obj.owner_kind, obj.owner_namespace,
                                  extra_spec=obj.extra_spec, labels=obj.labels,
                                  annotations=obj.annotations)


def _get_cluster_role(cluster: Cluster, namespace: str, name: str) -> Model:
    role = cluster.rbac.cluster_roles.get(name)
    if role is None:
        raise _not_found("clusterroles", name)
    return role


def _get_role(cluster: Cluster, namespace: str, name: str) -> Model:
    role = cluster.rbac.roles.get(namespace, {}).get(name)
    if role is None:
        raise _not_found("roles", name)
    return role


def _get_binding(cluster: Cluster, namespace: str, name: str) -> Model:
    binding = cluster.rbac.bindings.get(namespace, {}).get(name)
    if binding is None:
        raise _not_found("rolebindings", name)
    return binding


def _get_cluster_binding(cluster: Cluster, namespace: str, name: str) -> Model:
    binding = cluster.rbac.cluster_bindings.get(name)
    if binding is None:
        raise _not_found("clusterrolebindings", name)
    return binding


def _not_found(plural: str, name: str) -> ClusterError:
    return not_found(f"{plural}.rbac.authorization.k8s.io", name)


def _found(obj: Model | None, plural: str, name: str) -> Model:
    if obj is None:
        raise not_found(plural, name)
    return obj


def _no_create(cluster: Cluster, obj: Any) -> Model:
    raise ClusterError("MethodNotAllowed", "the emulator creates these objects itself", 405)


_WORKFLOWS = f"workflows.{ARGO_GROUP}"

STORES: dict[str, Store] = {
    "configmaps": Store(
        ConfigMap, _per_namespace(lambda c: c.config_maps),
        lambda c, ns, name: c.get_config_map(ns, name),
        lambda c, obj: c.create_config_map(obj),
        lambda c, ns, name: c.delete_config_map(ns, name)),
    "pods": Store(
        Pod, lambda c, ns: c.workloads.list_pods(ns),
        lambda c, ns, name: _found(c.workloads.get_pod(ns, name), "pods", name), _no_create,
        lambda c, ns, name: _found(c.workloads.delete_pod(ns, name), "pods", name)),
    "workflows": Store(
        Workflow, lambda c, ns: c.workloads.list_workflows(ns),
        lambda c, ns, name: _found(c.workloads.get_workflow(ns, name), _WORKFLOWS, name),
        _no_create,
        lambda c, ns, name: _found(c.workloads.delete_workflow(ns, name), _WORKFLOWS, name)),
    "namespaces": Store(
        Namespace, lambda c, ns: list(c.namespaces.values()),
        lambda c, ns, name: c.get_namespace(name), _create_namespace,
        lambda c, ns, name: c.delete_namespace(name)),
    "serviceaccounts": Store(
        ServiceAccount, _per_namespace(lambda c: c.service_accounts),
        lambda c, ns, name: c.get_service_account(ns, name), _create_service_account,
        lambda c, ns, name: c.delete_service_account(ns, name)),
    "secrets": Store(
        Secret, _per_namespace(lambda c: c.secrets),
        lambda c, ns, name: c.get_secret(ns, name), lambda c, obj: c.create_secret(obj),
        lambda c, ns, name: c.delete_secret(ns, name)),
    "roles": Store(
        Role, _per_namespace(lambda c: c.rbac.roles), _get_role,
        lambda c, obj: c.create_role(obj), lambda c, ns, name: c.delete_role(ns, name)),
    "rolebindings": Store(
        RoleBinding, _per_namespace(lambda c: c.rbac.bindings), _get_binding,
        lambda c, obj: c.create_binding(obj), lambda c, ns, name: c.delete_binding(ns, name)),
    "clusterroles": Store(
        ClusterRole, lambda c, ns: list(c.rbac.cluster_roles.values()), _get_cluster_role,
        lambda c, obj: c.create_cluster_role(obj),
        lambda c, ns, name: c.delete_cluster_role(name)),
    "clusterrolebindings": Store(
        ClusterRoleBinding, lambda c, ns: list(c.rbac.cluster_bindings.values()),
        _get_cluster_binding, lambda c, obj: c.create_cluster_binding(obj),
        lambda c, ns, name: c.delete_cluster_binding(name)),
    "profiles": Store(
        Profile, lambda c, ns: list(c.profiles.values()),
        lambda c, ns, name: c.get_profile(name), _create_profile,
        lambda c, ns, name: c.delete_profile(name)),
}

"""The one table of served resources: it drives both routing and the discovery documents.

Discovery is served in the legacy (unaggregated) form only: client-go picks the aggregated form
only when the response's Content-Type names ``apidiscovery.k8s.io``'s ``APIGroupDiscoveryList``,
and falls back to ``/api``, ``/apis`` and one ``APIResourceList`` per group version otherwise
(client-go ``discovery/discovery_client.go``, ``ContentTypeIsGVK``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulator.kube.manifests import PROFILE_GROUP, RBAC_GROUP
from emulator.kube.workloads import ARGO_GROUP

# kubectl and the client compare only major/minor; the build metadata says what answers
# (real distributions do the same, e.g. ``v1.32.0+k3s1``).
VERSION_INFO: dict[str, str] = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0+kfp-isolation",
    "gitCommit": "kfp-isolation-emulator",
    "gitTreeState": "clean",
    "buildDate": "1970-01-01T00:00:00Z",
    "goVersion": "none (Python emulator)",
    "compiler": "gc",
    "platform": "linux/amd64",
}

CRUD = ("create", "delete", "get", "list")
# Pods and Workflows are made by the execution engine, never through this surface.
READ_DELETE = ("delete", "get", "list")
AUTHORIZATION_GROUP = "authorization.k8s.io"
AUTHENTICATION_GROUP = "authentication.k8s.io"


@dataclass(frozen=True)
class Resource:
    """One served resource (or ``resource/subresource``) of one group version."""

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...]
    short_names: tuple[str, ...] = ()
    subresource: str = ""
    # The kind of the subresource's own group (TokenRequest lives in authentication.k8s.io).
    kind_group: str = ""

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def name(self) -> str:
        return f"{self.plural}/{self.subresource}" if self.subresource else self.plural

    def api_resource(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "name": self.name,
            "singularName": "" if self.subresource else self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": sorted(self.verbs),
        }
        if self.kind_group:
            entry["group"] = self.kind_group
            entry["version"] = "v1"
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        return entry


RESOURCES: tuple[Resource, ...] = (
    Resource("", "v1", "namespaces", "namespace", "Namespace", False, CRUD, ("ns",)),
    Resource("", "v1", "configmaps", "configmap", "ConfigMap", True, CRUD, ("cm",)),
    Resource("", "v1", "pods", "pod", "Pod", True, READ_DELETE, ("po",)),
    Resource("", "v1", "pods", "", "Pod", True, ("get",), subresource="log"),
    Resource("", "v1", "secrets", "secret", "Secret", True, CRUD),
    Resource("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", True, CRUD,
             ("sa",)),
    Resource("", "v1", "serviceaccounts", "", "TokenRequest", True, ("create",),
             subresource="token", kind_group=AUTHENTICATION_GROUP),
    Resource(RBAC_GROUP, "v1", "clusterrolebindings", "clusterrolebinding",
             "ClusterRoleBinding", False, CRUD),
    Resource(RBAC_GROUP, "v1", "clusterroles", "clusterrole", "ClusterRole", False, CRUD),
    Resource(RBAC_GROUP, "v1", "rolebindings", "rolebinding", "RoleBinding", True, CRUD),
    Resource(RBAC_GROUP, "v1", "roles", "role", "Role", True, CRUD),
    Resource(PROFILE_GROUP, "v1", "profiles", "profile", "Profile", False, CRUD),
    Resource(PROFILE_GROUP, "v1beta1", "profiles", "profile", "Profile", False, CRUD),
    Resource(ARGO_GROUP, "v1alpha1", "workflows", "workflow", "Workflow", True, READ_DELETE,
             ("wf",)),
    Resource(AUTHORIZATION_GROUP, "v1", "selfsubjectaccessreviews", "selfsubjectaccessreview",
             "SelfSubjectAccessReview", False, ("create",)),
    Resource(AUTHORIZATION_GROUP, "v1", "subjectaccessreviews", "subjectaccessreview",
             "SubjectAccessReview", False, ("create",)),
    Resource(AUTHENTICATION_GROUP, "v1", "selfsubjectreviews", "selfsubjectreview",
             "SelfSubjectReview", False, ("create",)),
    Resource(AUTHENTICATION_GROUP, "v1", "tokenreviews", "tokenreview", "TokenReview", False,
             ("create",)),
)

_BY_PATH = {(r.group, r.version, r.plural, r.subresource): r for r in RESOURCES}


def find(group: str, version: str, plural: str, subresource: str = "") -> Resource | None:
    return _BY_PATH.get((group, version, plural, subresource))


def group_versions() -> dict[str, list[str]]:
    """Served versions per named group, preferred (first listed) first."""
    groups: dict[str, list[str]] = {}
    for resource in RESOURCES:
        if resource.group:
            versions = groups.setdefault(resource.group, [])
            if resource.version not in versions:
                versions.append(resource.version)
    return groups


def api_versions(server_address: str) -> dict[str, Any]:
    """``GET /api``."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                        "serverAddress": server_address}],
    }


def _api_group(name: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group_list() -> dict[str, Any]:
    """``GET /apis``."""
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [_api_group(name, versions)
                       for name, versions in group_versions().items()]}


def api_group(name: str) -> dict[str, Any] | None:
    """``GET /apis/{group}``."""
    versions = group_versions().get(name)
    if versions is None:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_api_group(name, versions)}


def api_resource_list(group: str, version: str) -> dict[str, Any] | None:
    """``GET /api/v1`` or ``GET /apis/{group}/{version}``."""
    served = [r for r in RESOURCES if r.group == group and r.version == version]
    if not served:
        return None
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": served[0].group_version,
            "resources": [r.api_resource() for r in served]}

"""The cluster's objects in their Kubernetes JSON form, both ways.

``to_manifest`` writes an object as the API server serves it; ``from_manifest`` reads a request
body (or a snapshot entry) into a model object, raising the API server's 400/422 for bad input.
The Kubernetes surface and the snapshot share these, so there is one wire form per kind.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from emulator.clock import parse_rfc3339
from emulator.kube.cluster import (
    ClusterError,
    Namespace,
    Profile,
    Secret,
    ServiceAccount,
    invalid,
    required,
)
from emulator.kube.meta import ObjectStamp
from emulator.kube.rbac import (
    ClusterRole,
    ClusterRoleBinding,
    PolicyRule,
    Role,
    RoleBinding,
    RoleRef,
    Subject,
)
from emulator.kube.workloads import ARGO_VERSION, ConfigMap, Pod, Workflow

RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_VERSION = f"{RBAC_GROUP}/v1"
PROFILE_GROUP = "kubeflow.org"
PROFILE_VERSIONS = ("v1", "v1beta1")

Model = Namespace | ServiceAccount | Secret | Role | ClusterRole | RoleBinding | \
    ClusterRoleBinding | Profile | ConfigMap | Pod | Workflow


@dataclass(frozen=True)
class Kind:
    """One served kind: its wire names and whether it lives in a namespace."""

    kind: str
    api_version: str
    plural: str
    namespaced: bool

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

KINDS: dict[type, Kind] = {
    Namespace: Kind("Namespace", "v1", "namespaces", False),
    ServiceAccount: Kind("ServiceAccount", "v1", "serviceaccounts", True),
    Secret: Kind("Secret", "v1", "secrets", True),
    Role: Kind("Role", RBAC_VERSION, "roles", True),
    ClusterRole: Kind("ClusterRole", RBAC_VERSION, "clusterroles", False),
    RoleBinding: Kind("RoleBinding", RBAC_VERSION, "rolebindings", True),
    ClusterRoleBinding: Kind("ClusterRoleBinding", RBAC_VERSION, "clusterrolebindings", False),
    Profile: Kind("Profile", f"{PROFILE_GROUP}/v1", "profiles", False),
    ConfigMap: Kind("ConfigMap", "v1", "configmaps", True),
    Pod: Kind("Pod", "v1", "pods", True),
    Workflow: Kind("Workflow", ARGO_VERSION, "workflows", True),
}
BY_KIND = {kind.kind: (model, kind) for model, kind in KINDS.items()}


def kind_of(obj: Model) -> Kind:
    return KINDS[type(obj)]


# -- writing ---------------------------------------------------------------------------------------


def to_manifest(obj: Model, api_version: str | None = None) -> dict[str, Any]:
    kind = kind_of(obj)
    body: dict[str, Any] = {
        "kind": kind.kind,
        "apiVersion": api_version or kind.api_version,
        "metadata": obj.metadata(obj.name, getattr(obj, "namespace", "")),
    }
    body.update(_WRITERS[type(obj)](obj))
    extra = getattr(obj, "metadata_extra", None)
    if extra:
        body["metadata"].update(extra)
    return body


def _namespace_body(obj: Any) -> dict[str, Any]:
    return {"spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


def _service_account_body(obj: Any) -> dict[str, Any]:
    return {}


def _secret_body(obj: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": obj.type}
    if obj.data:
        body["data"] = dict(obj.data)
    return body


def _role_body(obj: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"rules": [rule.to_k8s() for rule in obj.rules]}
    if getattr(obj, "aggregate_from", None):
        body["aggregationRule"] = {"clusterRoleSelectors": [
            {"matchLabels": dict(selector)} for selector in obj.aggregate_from]}
    return body


def _subject(subject: Subject) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": subject.kind, "name": subject.name}
    if subject.kind == "ServiceAccount":
        body["namespace"] = subject.namespace
    else:
        body["apiGroup"] = RBAC_GROUP
    return body


def _binding_body(obj: Any) -> dict[str, Any]:
    return {
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": obj.role_ref.kind, "name": obj.role_ref.name},
        "subjects": [_subject(s) for s in obj.subjects],
    }


def _profile_body(obj: Any) -> dict[str, Any]:
    owner = {"kind": obj.owner_kind, "name": obj.owner}
    if obj.owner_namespace:
        owner["namespace"] = obj.owner_namespace
    spec = {"owner": owner, **obj.extra_spec}
    return {"spec": spec, "status": {"conditions": [dict(c) for c in obj.conditions]}}


def _config_map_body(obj: Any) -> dict[str, Any]:
    return {"data": dict(obj.data)} if obj.data else {}


def _rendered_body(obj: Any) -> dict[str, Any]:
    return dict(obj.body)


_WRITERS = {
    ConfigMap: _config_map_body,
    Pod: _rendered_body,
    Workflow: _rendered_body,
    Namespace: _namespace_body,
    ServiceAccount: _service_account_body,
    Secret: _secret_body,
    Role: _role_body,
    ClusterRole: _role_body,
    RoleBinding: _binding_body,
    ClusterRoleBinding: _binding_body,
    Profile: _profile_body,
}


# -- reading ---------------------------------------------------------------------------------------


def bad_request(message: str) -> ClusterError:
    return ClusterError("BadRequest", message, 400)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad_request(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _string_map(value: Any, where: str) -> dict[str, str]:
    data = _mapping(value, where)
    if not all(isinstance(v, str) for v in data.values()):
        raise bad_request(f"{where}: expected a map of strings")
    return dict(data)


def _string_list(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request(f"{where}: expected a list of strings")
    return tuple(value)


def from_manifest(body: Any, model: type, *, namespace: str = "",
                  restore: bool = False) -> Model:
    """Read ``body`` as a ``model`` object.

    ``namespace`` is the namespace of the request path (a body naming another is refused, as
    the API server does).  ``restore`` keeps uid, creation time and resource version (snapshot
    import); otherwise the cluster stamps the object when it stores it.
    """
    kind = KINDS[model]
    body = _mapping(body, "body")
    if body.get("kind") not in (None, "", kind.kind):
        raise bad_request(f"the body's kind {body.get('kind')!r} does not match {kind.kind!r}")
    metadata = _mapping(body.get("metadata"), "metadata")
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        raise required(kind.kind, "", "metadata.name", "name or generateName is required")
    if kind.namespaced:
        body_namespace = metadata.get("namespace") or namespace
        if namespace and body_namespace != namespace:
            raise bad_request("the namespace of the provided object does not match the "
                              "namespace sent on the request")
        namespace = str(body_namespace)
    obj = _READERS[model](body, name, namespace)
    obj.labels = _string_map(metadata.get("labels"), "metadata.labels")
    obj.annotations = _string_map(metadata.get("annotations"), "metadata.annotations")
    if restore:
        _restore_stamp(obj, metadata)
    return obj


def _restore_stamp(obj: ObjectStamp, metadata: dict[str, Any]) -> None:
    obj.uid = str(metadata.get("uid") or obj.uid)
    obj.resource_version = int(metadata.get("resourceVersion") or 0)
    created = metadata.get("creationTimestamp")
    obj.created_at = parse_rfc3339(created) if created else 0.0


def _read_namespace(body: dict[str, Any], name: str, namespace: str) -> Namespace:
    return Namespace(name)


def _read_service_account(body: dict[str, Any], name: str, namespace: str) -> ServiceAccount:
    return ServiceAccount(namespace, name)


def _read_secret(body: dict[str, Any], name: str, namespace: str) -> Secret:
    data = _string_map(body.get("data"), "data")
    for key, value in data.items():
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise bad_request(f"Secret in version \"v1\" cannot be handled as a Secret: illegal "
                              f"base64 data in data[{key!r}]") from None
    for key, value in _string_map(body.get("stringData"), "stringData").items():
        data[key] = base64.b64encode(value.encode("utf-8")).decode("ascii")
    secret_type = body.get("type") or "Opaque"
    if not isinstance(secret_type, str):
        raise bad_request("type: expected a string")
    return Secret(namespace, name, secret_type, data)


def _rules(body: dict[str, Any], kind: str, name: str) -> list[PolicyRule]:
    raw = body.get("rules") or []
    if not isinstance(raw, list):
        raise bad_request("rules: expected a list")
    rules = []
    for index, entry in enumerate(raw):
        entry = _mapping(entry, f"rules[{index}]")
        rule = PolicyRule(
            api_groups=_string_list(entry.get("apiGroups"), f"rules[{index}].apiGroups"),
            resources=_string_list(entry.get("resources"), f"rules[{index}].resources"),
            verbs=_string_list(entry.get("verbs"), f"rules[{index}].verbs"),
            resource_names=_string_list(entry.get("resourceNames"),
                                        f"rules[{index}].resourceNames"),
            non_resource_urls=_string_list(entry.get("nonResourceURLs"),
                                           f"rules[{index}].nonResourceURLs"),
        )
        if not rule.verbs:
            raise required(kind, name, f"rules[{index}].verbs",
                           "verbs must contain at least one value")
        if rule.non_resource_urls and kind == "Role":
            raise invalid(kind, name, f"rules[{index}].nonResourceURLs",
                          list(rule.non_resource_urls),
                          "namespaced rules cannot apply to non-resource URLs")
        rules.append(rule)
    return rules


def _read_role(body: dict[str, Any], name: str, namespace: str) -> Role:
    return Role(namespace, name, _rules(body, "Role", name))


def _read_cluster_role(body: dict[str, Any], name: str, namespace: str) -> ClusterRole:
    aggregation = _mapping(body.get("aggregationRule"), "aggregationRule")
    selectors = aggregation.get("clusterRoleSelectors") or []
    if not isinstance(selectors, list):
        raise bad_request("aggregationRule.clusterRoleSelectors: expected a list")
    aggregate_from = [_string_map(_mapping(s, "clusterRoleSelectors[]").get("matchLabels"),
                                  "matchLabels") for s in selectors]
    return ClusterRole(name, _rules(body, "ClusterRole", name), aggregate_from=aggregate_from)


def _role_ref(body: dict[str, Any], kind: str, name: str) -> RoleRef:
    ref = _mapping(body.get("roleRef"), "roleRef")
    ref_kind, ref_name = ref.get("kind"), ref.get("name")
    allowed = ("ClusterRole",) if kind == "ClusterRoleBinding" else ("ClusterRole", "Role")
    if ref_kind not in allowed:
        raise invalid(kind, name, "roleRef.kind", str(ref_kind or ""),
                      "supported values: " + ", ".join(f'"{k}"' for k in allowed))
    if not isinstance(ref_name, str) or not ref_name:
        raise required(kind, name, "roleRef.name")
    return RoleRef(str(ref_kind), ref_name)


def _subjects(body: dict[str, Any], kind: str, name: str, namespace: str) -> list[Subject]:
    raw = body.get("subjects") or []
    if not isinstance(raw, list):
        raise bad_request("subjects: expected a list")
    subjects = []
    for index, entry in enumerate(raw):
        entry = _mapping(entry, f"subjects[{index}]")
        subject_kind, subject_name = entry.get("kind"), entry.get("name")
        if subject_kind not in ("User", "Group", "ServiceAccount"):
            raise invalid(kind, name, f"subjects[{index}].kind", str(subject_kind or ""),
                          'supported values: "ServiceAccount", "User", "Group"')
        if not isinstance(subject_name, str) or not subject_name:
            raise required(kind, name, f"subjects[{index}].name")
        subject_namespace = str(entry.get("namespace") or "")
        if subject_kind == "ServiceAccount" and not subject_namespace:
            if not namespace:
                raise required(kind, name, f"subjects[{index}].namespace")
            subject_namespace = namespace
        subjects.append(Subject(str(subject_kind), subject_name,
                                subject_namespace if subject_kind == "ServiceAccount" else ""))
    return subjects


def _read_binding(body: dict[str, Any], name: str, namespace: str) -> RoleBinding:
    return RoleBinding(namespace, name, _role_ref(body, "RoleBinding", name),
                       _subjects(body, "RoleBinding", name, namespace))


def _read_cluster_binding(body: dict[str, Any], name: str, namespace: str) -> ClusterRoleBinding:
    return ClusterRoleBinding(name, _role_ref(body, "ClusterRoleBinding", name),
                              _subjects(body, "ClusterRoleBinding", name, ""))


def _read_profile(body: dict[str, Any], name: str, namespace: str) -> Profile:
    spec = dict(_mapping(body.get("spec"), "spec"))
    owner = _mapping(spec.pop("owner", None), "spec.owner")
    owner_name, owner_kind = owner.get("name"), owner.get("kind") or "User"
    if not isinstance(owner_name, str) or not owner_name:
        raise required("Profile", name, "spec.owner.name")
    if owner_kind not in ("User", "Group", "ServiceAccount"):
        raise invalid("Profile", name, "spec.owner.kind", str(owner_kind),
                      'supported values: "User", "Group", "ServiceAccount"')
    status = _mapping(body.get("status"), "status")
    conditions = [dict(c) for c in status.get("conditions") or [] if isinstance(c, dict)]
    owner_namespace = owner.get("namespace") or ""
    if not isinstance(owner_namespace, str):
        raise bad_request("spec.owner.namespace: expected a string")
    if owner_kind == "ServiceAccount" and not owner_namespace:
        raise required("Profile", name, "spec.owner.namespace")
    return Profile(name, owner_name, str(owner_kind), owner_namespace, extra_spec=spec,
                   conditions=conditions)


def _read_config_map(body: dict[str, Any], name: str, namespace: str) -> ConfigMap:
    return ConfigMap(namespace, name, _string_map(body.get("data"), "data"))


_READERS: dict[type, Any] = {
    ConfigMap: _read_config_map,
    Namespace: _read_namespace,
    ServiceAccount: _read_service_account,
    Secret: _read_secret,
    Role: _read_role,
    ClusterRole: _read_cluster_role,
    RoleBinding: _read_binding,
    ClusterRoleBinding: _read_cluster_binding,
    Profile: _read_profile,
}

"""KFAM's rules over the cluster model (docs/upstream/kubeflow-platform.md 1.3-1.6).

Every method answers the way KFAM's Go handlers do: a status and a body that is plain text or
empty (the routes send both with KFAM's ``application/json`` content type).  Callers hold the
emulator's state lock.

Not modelled: the Istio AuthorizationPolicy KFAM writes next to each RoleBinding (the emulator
has no Istio objects; its gateway and the KFP server authorize from RBAC alone).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from emulator.kfp.messages import json_type
from emulator.kube.cluster import Cluster, ClusterError, required
from emulator.kube.rbac import RoleBinding, RoleRef, Subject

if TYPE_CHECKING:
    from emulator.core import Emulator

# KFAM's symmetric role map: frontend names <-> ClusterRoles.  Any other name maps to "" (which
# Kubernetes then refuses).  Because it is symmetric, "kubeflow-edit" binds the built-in "edit".
ROLE_NAME_MAP = {"admin": "kubeflow-admin", "edit": "kubeflow-edit", "view": "kubeflow-view",
                 "kubeflow-admin": "admin", "kubeflow-edit": "edit", "kubeflow-view": "view"}

_NON_ALNUM = re.compile(r"[^a-zA-Z0-9]+")


@dataclass(frozen=True)
class KfamResponse:
    status: int
    body: str = ""


class GoDecodeError(Exception):
    """The text encoding/json's Decoder gives for a body it cannot decode into the type."""


# Field tables of the Go types KFAM decodes: JSON name -> Go type.  "string" and
# "map[string]string" are checked; a name in _STRUCTS recurses; "object" and "array" fields are
# only checked to be a JSON object / array (their insides are not typed: an approximation).
_SUBJECT = {"kind": "string", "apiGroup": "string", "name": "string", "namespace": "string"}
_ROLE_REF = {"apiGroup": "string", "kind": "string", "name": "string"}
_BINDING = {"user": "v1.Subject", "referredNamespace": "string", "RoleRef": "v1.RoleRef",
            "status": "string"}
_OBJECT_META = {"name": "string", "generateName": "string", "namespace": "string",
                "uid": "string", "resourceVersion": "string",
                "labels": "map[string]string", "annotations": "map[string]string"}
_PROFILE_SPEC = {"owner": "v1.Subject", "resourceQuotaSpec": "object:v1.ResourceQuotaSpec",
                 "plugins": "array:[]v1beta1.Plugin"}
_PROFILE = {"kind": "string", "apiVersion": "string", "metadata": "v1.ObjectMeta",
            "spec": "v1beta1.ProfileSpec", "status": "object:v1beta1.ProfileStatus"}
_STRUCTS: dict[str, tuple[str, dict[str, str]]] = {
    "kfam.Binding": ("Binding", _BINDING),
    "v1.Subject": ("Subject", _SUBJECT),
    "v1.RoleRef": ("RoleRef", _ROLE_REF),
    "v1beta1.Profile": ("Profile", _PROFILE),
    "v1.ObjectMeta": ("ObjectMeta", _OBJECT_META),
    "v1beta1.ProfileSpec": ("ProfileSpec", _PROFILE_SPEC),
}


def first_json_value(raw: bytes) -> Any:
    """The first JSON value of the body, as ``json.NewDecoder(r.Body).Decode`` reads it."""
    text = raw.decode("utf-8", "replace").lstrip(" \t\r\n")
    if not text:
        raise GoDecodeError("EOF")
    try:
        value, _ = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as error:
        if error.pos >= len(text):
            raise GoDecodeError("unexpected EOF") from None
        # Approximates Go's wording; the exact context phrase varies with the parser state.
        raise GoDecodeError(f"invalid character {text[error.pos]!r} looking for beginning of "
                            "value") from None
    return value


def _mismatch(value: Any, go_type: str, struct: str, fields: tuple[str, ...]) -> GoDecodeError:
    """Go's UnmarshalTypeError: the innermost struct's name and the JSON field path from the
    top (``Subject.user.name``), or the top-level value's type."""
    if fields:
        return GoDecodeError(f"json: cannot unmarshal {json_type(value)} into Go struct field "
                             f"{struct}.{'.'.join(fields)} of type {go_type}")
    return GoDecodeError(f"json: cannot unmarshal {json_type(value)} into Go value of type "
                         f"{go_type}")


def decode_struct(value: Any, go_type: str, struct: str = "",
                  fields: tuple[str, ...] = ()) -> dict[str, Any]:
    """Go's case-insensitive struct decoding of the tables above; nested structs recurse.
    ``null`` leaves a field unset; unknown fields are ignored.  The first type mismatch is the
    error, worded as Go's."""
    struct_name, table = _STRUCTS[go_type]
    if not isinstance(value, dict):
        raise _mismatch(value, go_type, struct, fields)
    decoded: dict[str, Any] = {}
    for key, item in value.items():
        name = key if key in table else next(
            (field for field in table if field.lower() == key.lower()), None)
        if name is None or item is None:
            continue
        path = (*fields, name)
        kind = table[name]
        if kind in _STRUCTS:
            decoded[name] = decode_struct(item, kind, struct_name, path)
        elif kind == "string":
            if not isinstance(item, str):
                raise _mismatch(item, "string", struct_name, path)
            decoded[name] = item
        elif kind == "map[string]string":
            if not isinstance(item, dict):
                raise _mismatch(item, kind, struct_name, path)
            for entry in item.values():
                if entry is not None and not isinstance(entry, str):
                    raise _mismatch(entry, "string", struct_name, path)
            decoded[name] = {k: v for k, v in item.items() if v is not None}
        else:
            shape, _, type_name = kind.partition(":")
            if not isinstance(item, dict if shape == "object" else list):
                raise _mismatch(item, type_name, struct_name, path)
            decoded[name] = item
    return decoded


@dataclass(frozen=True)
class Binding:
    user_kind: str = ""
    user_name: str = ""
    user_api_group: str = ""
    user_namespace: str = ""
    namespace: str = ""
    role_kind: str = ""
    role_name: str = ""

    @classmethod
    def decode(cls, raw: bytes) -> Binding:
        # A body without "user" or "RoleRef" makes KFAM dereference a nil pointer (the Go
        # server drops the connection); the emulator treats the missing parts as empty instead.
        data = decode_struct(first_json_value(raw), "kfam.Binding")
        user, role = data.get("user", {}), data.get("RoleRef", {})
        return cls(user.get("kind", ""), user.get("name", ""), user.get("apiGroup", ""),
                   user.get("namespace", ""), data.get("referredNamespace", ""),
                   role.get("kind", ""), role.get("name", ""))

    @property
    def name(self) -> str:
        """KFAM's RoleBinding name: user kind, user name, role kind and frontend role name."""
        raw = "-".join((self.user_kind, _NON_ALNUM.sub("-", self.user_name), self.role_kind,
                        self.role_name)).lower()
        return _NON_ALNUM.sub("-", raw)


def binding_item(binding: RoleBinding) -> dict[str, Any]:
    """One entry of KFAM's list: rbacv1.Subject (kind, name) and rbacv1.RoleRef, whose
    ``apiGroup`` has no omitempty, so it is always present (empty)."""
    subject = binding.subjects[0]
    return {
        "user": {"kind": subject.kind, "name": subject.name},
        "referredNamespace": binding.namespace,
        "RoleRef": {"apiGroup": "", "kind": binding.role_ref.kind,
                    "name": ROLE_NAME_MAP.get(binding.role_ref.name, "")},
    }


def parse_admins(flag_values: Sequence[str]) -> list[str]:
    """The ``-cluster-admin`` values as KFAM (kubeflow/dashboard) keeps them: trimmed,
    de-duplicated, empty entries dropped."""
    admins: list[str] = []
    for value in flag_values:
        for item in value.split(","):
            item = item.strip()
            if item and item not in admins:
                admins.append(item)
    return admins


class KfamService:
    """KFAM over ``emulator.cluster``; cluster admins are ``emulator.kfam_admins``."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    @property
    def cluster(self) -> Cluster:
        return self.emulator.cluster

    def caller(self, header_value: str | None) -> str:
        """``getUserEmail``: the identity header with the first len(prefix) characters cut off.
        (Go panics when the header is shorter than the prefix; here it is simply empty.)"""
        prefix = self.emulator.config.userid_prefix
        return (header_value or "")[len(prefix):]

    def is_cluster_admin(self, user: str) -> bool:
        # kubeflow/dashboard: an empty user is never an admin.  The kubeflow/kubeflow v1.10 image
        # that kubeflow/manifests deploys keeps the raw flag as a one-element list, so with the
        # manifests' empty ADMIN= it answers true for an empty user (a candidate historical bug,
        # docs/upstream/kubeflow-platform.md 1.4); the emulator follows the newer code.
        return bool(user) and user in parse_admins(self.emulator.kfam_admins)

    def is_owner_or_admin(self, user: str, profile_name: str) -> bool:
        """False whenever the Profile cannot be read, even for an admin."""
        profile = self.cluster.profiles.get(profile_name)
        if profile is None:
            return False
        return self.is_cluster_admin(user) or profile.owner == user

    # -- bindings --------------------------------------------------------------------------------

    def read_bindings(self, user: str = "", namespace: str = "", role: str = "") -> KfamResponse:
        """No caller check at all.  Without a namespace every Profile's namespace is scanned."""
        namespaces = [namespace] if namespace else sorted(self.cluster.profiles)
        items: list[dict[str, Any]] = []
        for ns in namespaces:
            bindings = self.cluster.rbac.bindings.get(ns, {})
            for name in sorted(bindings):
                binding = bindings[name]
                annotations = binding.annotations
                if "user" not in annotations or "role" not in annotations:
                    continue
                if (user and annotations["user"] != user) or (role and annotations["role"] != role):
                    continue
                if len(binding.subjects) != 1:
                    return KfamResponse(401, "binding subject length not equal to 1, actual "
                                             f"length: {len(binding.subjects)}")
                items.append(binding_item(binding))
        # bindings has omitempty: an empty list is the object {}.
        return KfamResponse(200, json.dumps({"bindings": items} if items else {},
                                            separators=(",", ":")))

    def _managed_binding(self, caller: str, raw: bytes) -> Binding | KfamResponse:
        """The request's binding, or the answer when it is undecodable (403 with Go's error) or
        the caller is neither the Profile's owner nor an admin (403, empty body)."""
        try:
            binding = Binding.decode(raw)
        except GoDecodeError as error:
            return KfamResponse(403, str(error))
        if not self.is_owner_or_admin(caller, binding.namespace):
            return KfamResponse(403)
        return binding

    def create_binding(self, caller: str, raw: bytes) -> KfamResponse:
        binding = self._managed_binding(caller, raw)
        if isinstance(binding, KfamResponse):
            return binding
        name = binding.name
        cluster_role = ROLE_NAME_MAP.get(binding.role_name, "")
        try:
            if not cluster_role:
                raise required("RoleBinding", name, "roleRef.name")
            self.cluster.create_binding(RoleBinding(
                namespace=binding.namespace, name=name,
                role_ref=RoleRef(binding.role_kind, cluster_role),
                subjects=[Subject(binding.user_kind, binding.user_name, binding.user_namespace)],
                annotations={"user": binding.user_name, "role": binding.role_name},
            ))
        except ClusterError as error:
            return KfamResponse(403, error.message)
        return KfamResponse(200)

    def delete_binding(self, caller: str, raw: bytes) -> KfamResponse:
        binding = self._managed_binding(caller, raw)
        if isinstance(binding, KfamResponse):
            return binding
        name = binding.name
        if name not in self.cluster.rbac.bindings.get(binding.namespace, {}):
            # The informer-cache lister's NotFound names the resource in the singular.
            return KfamResponse(403, f'rolebinding.rbac.authorization.k8s.io "{name}" not found')
        try:
            self.cluster.delete_binding(binding.namespace, name)
        except ClusterError as error:
            return KfamResponse(403, error.message)
        return KfamResponse(200)

    def query_cluster_admin(self, user: str) -> KfamResponse:
        """Plain ``true`` / ``false`` (strconv.FormatBool); no caller check."""
        return KfamResponse(200, "true" if self.is_cluster_admin(user) else "false")

    # -- profiles --------------------------------------------------------------------------------

    def create_profile(self, raw: bytes) -> KfamResponse:
        """The registration flow: any caller may create any Profile.  The body is decoded as a
        v1beta1.Profile (Go typing: a wrong type is the 403 decode error, nothing is made)."""
        try:
            data = decode_struct(first_json_value(raw), "v1beta1.Profile")
        except GoDecodeError as error:
            return KfamResponse(403, str(error))
        metadata = data.get("metadata", {})
        spec = data.get("spec", {})
        owner = spec.get("owner", {})
        name = metadata.get("name", "")
        try:
            if not name:
                raise required("Profile", name, "metadata.name",
                               "name or generateName is required")
            if not owner.get("name"):
                raise required("Profile", name, "spec.owner.name")
            extra = {k: v for k, v in spec.items() if k != "owner"}
            self.cluster.create_profile(name, owner["name"], owner.get("kind") or "User",
                                        owner.get("namespace", ""), extra_spec=extra,
                                        labels=metadata.get("labels"),
                                        annotations=metadata.get("annotations"))
        except ClusterError as error:
            return KfamResponse(403, error.message)
        return KfamResponse(200)

    def delete_profile(self, caller: str, name: str) -> KfamResponse:
        """Only the owner or an admin; both the denial and a failure are 401."""
        if not self.is_owner_or_admin(caller, name):
            return KfamResponse(401)
        try:
            self.cluster.delete_profile(name)
        except ClusterError as error:
            return KfamResponse(401, error.message)
        return KfamResponse(200)

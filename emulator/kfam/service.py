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
from emulator.kube.cluster import ClusterError, required
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


# Field tables of the Go types KFAM decodes: JSON name -> Go type name ("" = string).
_SUBJECT = {"kind": "", "apiGroup": "", "name": "", "namespace": ""}
_ROLE_REF = {"apiGroup": "", "kind": "", "name": ""}
_BINDING = {"user": "v1.Subject", "referredNamespace": "", "RoleRef": "v1.RoleRef", "status": ""}
_STRUCTS: dict[str, tuple[str, dict[str, str]]] = {
    "kfam.Binding": ("Binding", _BINDING),
    "v1.Subject": ("Subject", _SUBJECT),
    "v1.RoleRef": ("RoleRef", _ROLE_REF),
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


def decode_struct(value: Any, go_type: str, path: str = "") -> dict[str, Any]:
    """Go's case-insensitive struct decoding of the tables above; nested structs recurse.
    ``null`` leaves a field unset.  The first type mismatch is the error, worded as Go's."""
    struct_name, fields = _STRUCTS[go_type]
    if not isinstance(value, dict):
        if path:
            raise GoDecodeError(f"json: cannot unmarshal {json_type(value)} into Go struct field "
                                f"{path} of type {go_type}")
        raise GoDecodeError(f"json: cannot unmarshal {json_type(value)} into Go value of type "
                            f"{go_type}")
    decoded: dict[str, Any] = {}
    for key, item in value.items():
        name = key if key in fields else next(
            (field for field in fields if field.lower() == key.lower()), None)
        if name is None or item is None:
            continue
        field_path = f"{path}.{name}" if path else f"{struct_name}.{name}"
        nested = fields[name]
        if nested:
            decoded[name] = decode_struct(item, nested, field_path)
        elif isinstance(item, str):
            decoded[name] = item
        else:
            raise GoDecodeError(f"json: cannot unmarshal {json_type(item)} into Go struct field "
                                f"{field_path} of type string")
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


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


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
    def cluster(self) -> Any:
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
        """The registration flow: any caller may create any Profile."""
        try:
            data = first_json_value(raw)
        except GoDecodeError as error:
            return KfamResponse(403, str(error))
        if not isinstance(data, dict):
            return KfamResponse(403, f"json: cannot unmarshal {json_type(data)} into Go value "
                                     "of type v1beta1.Profile")
        metadata = _object(data.get("metadata"))
        spec = _object(data.get("spec"))
        owner = _object(spec.get("owner"))
        name = str(metadata.get("name") or "")
        try:
            if not name:
                raise required("Profile", name, "metadata.name",
                               "name or generateName is required")
            if not owner.get("name"):
                raise required("Profile", name, "spec.owner.name")
            extra = {k: v for k, v in spec.items() if k != "owner"}
            self.cluster.create_profile(name, str(owner["name"]), str(owner.get("kind") or "User"),
                                        extra_spec=extra)
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

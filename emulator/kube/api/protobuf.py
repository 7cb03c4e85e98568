"""Request bodies in Kubernetes' protobuf encoding, read into their JSON form.

kubectl's typed commands (``create namespace``, ``create token``, ``auth can-i``, ``auth whoami``,
``create secret|serviceaccount|role|rolebinding|...``) send ``application/vnd.kubernetes.protobuf``
and client-go has no fallback to JSON for it.  The envelope is the magic ``k8s\\0`` followed by a
``runtime.Unknown`` (typeMeta = 1, raw = 2); ``raw`` is the object per ``k8s.io/api``'s
``generated.proto``.  Only the fields the emulator reads are decoded; others are skipped.
"""

from __future__ import annotations

import base64
from typing import Any, Union

from emulator.kube.api.status import KubeError

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

# field number -> (JSON name, type, repeated); a type is "string", "bytes", "int", "bool",
# a nested schema, or ("map", value type).
FieldType = Union[str, "Schema", tuple[str, str]]
Schema = dict[int, tuple[str, FieldType, bool]]

_META: Schema = {1: ("name", "string", False), 2: ("generateName", "string", False),
                 3: ("namespace", "string", False), 11: ("labels", ("map", "string"), False),
                 12: ("annotations", ("map", "string"), False)}
_RULE: Schema = {1: ("verbs", "string", True), 2: ("apiGroups", "string", True),
                 3: ("resources", "string", True), 4: ("resourceNames", "string", True),
                 5: ("nonResourceURLs", "string", True)}
_SUBJECT: Schema = {1: ("kind", "string", False), 2: ("apiGroup", "string", False),
                    3: ("name", "string", False), 4: ("namespace", "string", False)}
_ROLE_REF: Schema = {1: ("apiGroup", "string", False), 2: ("kind", "string", False),
                     3: ("name", "string", False)}
_BINDING: Schema = {1: ("metadata", _META, False), 2: ("subjects", _SUBJECT, True),
                    3: ("roleRef", _ROLE_REF, False)}
_RESOURCE_ATTRIBUTES: Schema = {
    1: ("namespace", "string", False), 2: ("verb", "string", False),
    3: ("group", "string", False), 4: ("version", "string", False),
    5: ("resource", "string", False), 6: ("subresource", "string", False),
    7: ("name", "string", False)}
_NON_RESOURCE_ATTRIBUTES: Schema = {1: ("path", "string", False), 2: ("verb", "string", False)}

SCHEMAS: dict[str, Schema] = {
    "Namespace": {1: ("metadata", _META, False)},
    "ServiceAccount": {1: ("metadata", _META, False)},
    "Secret": {1: ("metadata", _META, False), 2: ("data", ("map", "bytes"), False),
               3: ("type", "string", False), 4: ("stringData", ("map", "string"), False)},
    "Role": {1: ("metadata", _META, False), 2: ("rules", _RULE, True)},
    "ClusterRole": {1: ("metadata", _META, False), 2: ("rules", _RULE, True),
                    3: ("aggregationRule", {1: ("clusterRoleSelectors", {
                        1: ("matchLabels", ("map", "string"), False)}, True)}, False)},
    "RoleBinding": _BINDING,
    "ClusterRoleBinding": _BINDING,
    "SelfSubjectAccessReview": {1: ("metadata", _META, False), 2: ("spec", {
        1: ("resourceAttributes", _RESOURCE_ATTRIBUTES, False),
        2: ("nonResourceAttributes", _NON_RESOURCE_ATTRIBUTES, False)}, False)},
    "SubjectAccessReview": {1: ("metadata", _META, False), 2: ("spec", {
        1: ("resourceAttributes", _RESOURCE_ATTRIBUTES, False),
        2: ("nonResourceAttributes", _NON_RESOURCE_ATTRIBUTES, False),
        3: ("user", "string", False), 4: ("groups", "string", True),
        6: ("uid", "string", False)}, False)},
    "SelfSubjectReview": {1: ("metadata", _META, False)},
    "TokenRequest": {1: ("metadata", _META, False), 2: ("spec", {
        1: ("audiences", "string", True), 4: ("expirationSeconds", "int", False),
        3: ("boundObjectRef", {1: ("kind", "string", False), 2: ("apiVersion", "string", False),
                               3: ("name", "string", False), 4: ("uid", "string", False)},
            False)}, False)},
    "TokenReview": {1: ("metadata", _META, False), 2: ("spec", {
        1: ("token", "string", False), 2: ("audiences", "string", True)}, False)},
}


def unsupported_media_type() -> KubeError:
    return KubeError(415, "UnsupportedMediaType",
                     "the body of the request was in an unknown format - accepted media types "
                     "include: application/json, application/yaml, " + MEDIA_TYPE)


def _malformed() -> KubeError:
    return KubeError(400, "BadRequest", "the protobuf body of the request is malformed")


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(data) or shift > 63:
            raise _malformed()
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, value): ints for varints, bytes for everything else."""
    out: list[tuple[int, int, Any]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise _malformed()
            value, pos = data[pos:pos + length], pos + length
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, pos = data[pos:pos + size], pos + size
        else:
            raise _malformed()
        out.append((number, wire, value))
    return out


def _scalar(kind: str, wire: int, value: Any) -> Any:
    if kind == "int":
        if wire != 0:
            raise _malformed()
        return value - (1 << 64) if value >= 1 << 63 else value
    if kind == "bool":
        return bool(value)
    if not isinstance(value, bytes):
        raise _malformed()
    if kind == "bytes":
        return base64.b64encode(value).decode("ascii")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise _malformed() from None


def _message(data: bytes, schema: Schema) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for number, wire, value in _fields(data):
        if number not in schema:
            continue
        name, kind, repeated = schema[number]
        if isinstance(kind, tuple):  # map entry {1: key, 2: value}
            entry = {n: v for n, _, v in _fields(value)} if isinstance(value, bytes) else {}
            key = _scalar("string", 2, entry.get(1, b""))
            result.setdefault(name, {})[key] = _scalar(kind[1], 2, entry.get(2, b""))
            continue
        if isinstance(kind, dict):
            if not isinstance(value, bytes):
                raise _malformed()
            decoded: Any = _message(value, kind)
        else:
            decoded = _scalar(kind, wire, value)
        if repeated:
            result.setdefault(name, []).append(decoded)
        else:
            result[name] = decoded
    return result


def decode(raw: bytes) -> dict[str, Any]:
    """The JSON form of a protobuf request body."""
    if not raw.startswith(MAGIC):
        raise _malformed()
    envelope = {n: v for n, _, v in _fields(raw[len(MAGIC):])}
    type_meta = _message(envelope.get(1, b""), {1: ("apiVersion", "string", False),
                                                 2: ("kind", "string", False)})
    schema = SCHEMAS.get(type_meta.get("kind", ""))
    if schema is None:
        raise unsupported_media_type()
    body = _message(envelope.get(2, b""), schema)
    body.update(type_meta)
    return body

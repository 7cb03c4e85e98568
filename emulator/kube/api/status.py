"""``Status`` bodies: every failure of the Kubernetes API, worded as apimachinery words it.

See apimachinery ``pkg/api/errors/errors.go`` (NewNotFound, NewForbidden, NewUnauthorized, ...)
and apiserver ``pkg/endpoints/handlers/responsewriters/errors.go`` (the forbidden message).
"""

from __future__ import annotations

from typing import Any

from emulator.kube.cluster import ClusterError, go_value


class KubeError(Exception):
    """A failed request; ``status`` is the whole ``Status`` body."""

    def __init__(self, code: int, reason: str, message: str,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                "status": "Failure", "message": self.message,
                                "reason": self.reason}
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def _details(name: str = "", group: str = "", kind: str = "",
             causes: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """StatusDetails with Go's ``omitempty``."""
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    if kind:
        details["kind"] = kind
    if causes:
        details["causes"] = causes
    return details


def qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def from_cluster(error: ClusterError, request_group: str = "") -> KubeError:
    """The Status of a model failure.

    ``error.kind`` is a (possibly qualified) plural for NotFound/AlreadyExists/Conflict and a Kind
    for Invalid; a Kind's group is the group of the request that failed validation.
    """
    kind, group = error.kind, ""
    if "." in kind:
        kind, _, group = kind.partition(".")
    elif kind[:1].isupper() and not group:
        group = request_group
    if error.code == 400 or (not kind and not error.name):
        return KubeError(error.code, error.reason, error.message,
                         None if error.code == 400 else {})
    return KubeError(error.code, error.reason, error.message,
                     _details(error.name, group, kind, error.causes))


def unauthorized() -> KubeError:
    # The authentication filter answers exactly NewUnauthorized("Unauthorized").
    return KubeError(401, "Unauthorized", "Unauthorized")


def forbidden_resource(user: str, verb: str, resource: str, group: str, namespace: str,
                       name: str, subresource: str = "", reason: str = "") -> KubeError:
    shown = f"{resource}/{subresource}" if subresource else resource
    where = (f'in the namespace "{namespace}"' if namespace else "at the cluster scope")
    denial = (f'User "{user}" cannot {verb} resource "{shown}" in API group "{group}" {where}')
    if reason:
        denial += f": {reason}"
    target = qualified(resource, group)
    message = (f'{target} "{name}" is forbidden: {denial}' if name
               else f"{target} is forbidden: {denial}")
    return KubeError(403, "Forbidden", _html_safe(message), _details(name, group, resource))


def forbidden_path(user: str, verb: str, path: str) -> KubeError:
    return KubeError(403, "Forbidden",
                     _html_safe(f'forbidden: User "{user}" cannot {verb} path "{path}"'), {})


def _html_safe(text: str) -> str:
    """apiserver escapes ``&``, ``<`` and ``>`` in forbidden messages."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def not_found_path() -> KubeError:
    return KubeError(404, "NotFound", "the server could not find the requested resource", {})


def bad_request(message: str) -> KubeError:
    return KubeError(400, "BadRequest", message)


def method_not_supported(action: str, resource: str, group: str) -> KubeError:
    target = qualified(resource, group)
    return KubeError(405, "MethodNotAllowed",
                     f'{action} is not supported on resources of kind "{target}"',
                     _details(group=group, kind=resource))


def invalid(kind: str, group: str, name: str,
            errors: list[tuple[str, object, str]]) -> KubeError:
    """422 Invalid: one ``FieldValueInvalid`` cause per (field, bad value, detail)."""
    causes = [{"reason": "FieldValueInvalid",
               "message": f"Invalid value: {go_value(value)}: {detail}", "field": field}
              for field, value, detail in errors]
    texts = list(dict.fromkeys(f"{c['field']}: {c['message']}" for c in causes))
    aggregate = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    return KubeError(422, "Invalid",
                     f'{qualified(kind, group)} "{name}" is invalid: {aggregate}',
                     _details(name, group, kind, causes))


def success(name: str, group: str, kind: str, uid: str) -> dict[str, Any]:
    """What the API server answers a DELETE of an object it removed at once."""
    details = _details(name, group, kind)
    details["uid"] = uid
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": details}

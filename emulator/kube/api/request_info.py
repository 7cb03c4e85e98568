"""What a request asks for, read from its path as kube-apiserver's RequestInfoFactory reads it.

``/api/v1/namespaces/{ns}/{resource}/{name}/{subresource}`` and the ``/apis/{group}/{version}``
forms are resource requests; everything else (``/version``, discovery) is a non-resource request,
authorized by path.  A request on a namespace itself (``/api/v1/namespaces/{name}``) carries that
name as its namespace too, so a RoleBinding in ``alice`` may grant ``get`` on namespace ``alice``.
"""

from __future__ import annotations

from dataclasses import dataclass

_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
_NAMESPACE_SUBRESOURCES = {"status", "finalize"}


@dataclass(frozen=True)
class RequestInfo:
    path: str
    verb: str
    is_resource: bool = False
    group: str = ""
    version: str = ""
    namespace: str = ""
    resource: str = ""
    name: str = ""
    subresource: str = ""
    # The namespace came from the ``/namespaces/{ns}/...`` prefix (not a namespace's own path).
    in_namespace: bool = False
    # More path segments than resource/name/subresource (nothing is served there).
    too_deep: bool = False


def parse(method: str, path: str, watch: bool = False) -> RequestInfo:
    parts = [p for p in path.strip("/").split("/") if p]
    http_verb = "get" if method in ("GET", "HEAD") else method.lower()
    plain = RequestInfo(path=path, verb=http_verb)
    if len(parts) < 3 or parts[0] not in ("api", "apis"):
        return plain
    rest = parts[1:]
    group = ""
    if parts[0] == "apis":
        if len(rest) < 3:
            return plain
        group, rest = rest[0], rest[1:]
    version, rest = rest[0], rest[1:]
    namespace, in_namespace = "", False
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest, in_namespace = rest[2:], True
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if method in ("GET", "HEAD"):
        verb = ("watch" if watch else "get") if name else ("watch" if watch else "list")
    elif method == "DELETE" and not name:
        verb = "deletecollection"
    else:
        verb = _VERBS.get(method, method.lower())
    return RequestInfo(path=path, verb=verb, is_resource=True, group=group, version=version,
                       namespace=namespace, resource=resource, name=name,
                       subresource=subresource, in_namespace=in_namespace,
                       too_deep=len(rest) > 3)

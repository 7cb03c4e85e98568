"""The Kubernetes API listener: the slice of kube-apiserver Kubeflow tenant provisioning uses.

Each request goes the way kube-apiserver sends it: authenticate (bearer token reviewed for the
API server's audience, else anonymous), read the request info from the path, authorize it with
the one RBAC :class:`~emulator.kube.rbac.Authorizer` (with the caller's groups), and only then
route it.  Every model access holds the emulator's one lock.
"""

from __future__ import annotations

import json
import logging
import traceback
from typing import Any
from urllib.parse import parse_qs

import yaml
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from emulator.clock import rfc3339
from emulator.core import Emulator
from emulator.kube.api import discovery, protobuf, reviews, tables
from emulator.kube.api.auth import Caller, authenticate
from emulator.kube.api.discovery import Resource
from emulator.kube.api.escalation import confirm_no_escalation
from emulator.kube.api.objects import STORES
from emulator.kube.api.request_info import RequestInfo, parse
from emulator.kube.api.selectors import matches, parse_field_selector, parse_label_selector
from emulator.kube.api.status import (
    KubeError,
    bad_request,
    forbidden_path,
    forbidden_resource,
    from_cluster,
    method_not_supported,
    not_found_path,
    success,
)
from emulator.kube.cluster import ClusterError, Namespace, Profile, not_found
from emulator.kube.manifests import Model, from_manifest, to_manifest
from emulator.kube.rbac import ResourceAttributes
from emulator.kube.workloads import Pod, Workflow

log = logging.getLogger("kfp_isolation.emulator.kube")

JSON = "application/json"
# kube-apiserver refuses to delete these (the NamespaceLifecycle admission plugin).
IMMORTAL_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})
_HEALTH = ("/healthz", "/livez", "/readyz")


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status_code=status,
                    media_type=JSON)


def _error(error: KubeError) -> Response:
    return Response(json.dumps(error.status(), separators=(",", ":")), status_code=error.code,
                    media_type=JSON, headers={"X-Content-Type-Options": "nosniff"})


class KubeApp:
    """The ASGI app of the KUBE listener."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # served with lifespan off
            return
        request = Request(scope, receive)
        try:
            raw = await request.body()
            response = self.handle(request, raw)
        except KubeError as error:
            response = _error(error)
        except Exception as exc:  # a bug: answered as kube-apiserver's 500, and logged
            log.error("unhandled error on %s %s\n%s", request.method, request.url.path,
                      traceback.format_exc())
            response = _error(KubeError(500, "InternalError",
                                        f"Internal error occurred: {exc!r}", {}))
        await response(scope, receive, send)

    # -- the request pipeline ------------------------------------------------------------------

    def handle(self, request: Request, raw: bytes) -> Response:
        query = {k: v[-1] for k, v in parse_qs(request.scope.get("query_string", b"").decode(
            "latin-1"), keep_blank_values=True).items()}
        watch = query.get("watch", "").lower() in ("true", "1")
        info = parse(request.method, request.scope["path"], watch)
        with self.emulator.kfp.state.lock:
            now = self.emulator.clock.now()
            caller = authenticate(self.emulator.cluster.tokens,
                                  request.headers.get("authorization"), now)
            if not info.is_resource:
                return self._non_resource(request, caller, info)
            self._authorize(caller, info)
            return self._resource(request, raw, query, caller, info, now)

    def _authorize(self, caller: Caller, info: RequestInfo) -> None:
        attrs = ResourceAttributes(namespace=info.namespace, verb=info.verb,
                                   resource=info.resource, group=info.group,
                                   version=info.version, name=info.name,
                                   subresource=info.subresource)
        decision = self.emulator.cluster.authorizer.review(caller.user, attrs, caller.groups)
        if not decision.allowed:
            raise forbidden_resource(caller.user, info.verb, info.resource, info.group,
                                     info.namespace, info.name, info.subresource)

    def _non_resource(self, request: Request, caller: Caller, info: RequestInfo) -> Response:
        path = info.path
        decision = self.emulator.cluster.authorizer.review_path(
            caller.user, caller.groups, path, info.verb)
        if not decision.allowed:
            raise forbidden_path(caller.user, info.verb, path)
        if request.method not in ("GET", "HEAD"):
            raise not_found_path()
        if path in ("/version", "/version/"):
            return _json(discovery.VERSION_INFO)
        if path in _HEALTH:
            return Response("ok", media_type="text/plain; charset=utf-8")
        body: dict[str, Any] | None = None
        parts = [p for p in path.split("/") if p]
        if parts == ["api"]:
            host = request.headers.get("host") or ""
            body = discovery.api_versions(host)
        elif parts == ["api", "v1"]:
            body = discovery.api_resource_list("", "v1")
        elif parts == ["apis"]:
            body = discovery.api_group_list()
        elif len(parts) == 2 and parts[0] == "apis":
            body = discovery.api_group(parts[1])
        elif len(parts) == 3 and parts[0] == "apis":
            body = discovery.api_resource_list(parts[1], parts[2])
        if body is None:
            raise not_found_path()
        return _json(body)

    def _resource(self, request: Request, raw: bytes, query: dict[str, str], caller: Caller,
                  info: RequestInfo, now: float) -> Response:
        resource = discovery.find(info.group, info.version, info.resource, info.subresource)
        if resource is None or info.too_deep:
            raise not_found_path()
        if resource.namespaced != info.in_namespace and not (
                resource.namespaced and info.verb in ("list", "watch")):
            # An item of a namespaced kind needs its namespace; a cluster-scoped kind has none
            # (only a list of a namespaced kind may span every namespace).
            raise not_found_path()
        if info.verb not in resource.verbs:
            raise method_not_supported(info.verb, info.resource, info.group)
        if info.verb == "create" and info.name and not resource.subresource:
            # POST goes to a collection; kube-apiserver has no route for POST on an item.
            raise KubeError(405, "MethodNotAllowed",
                            "the server does not allow this method on the requested resource",
                            {})
        cluster = self.emulator.cluster
        ctype = request.headers.get("content-type", "")
        try:
            if resource.subresource == "log":
                return self._pod_log(info)
            if resource.subresource == "token":
                return _json(reviews.token_request(
                    cluster, info.namespace, info.name, _decode(raw, ctype), now), 201)
            if info.group in (discovery.AUTHORIZATION_GROUP, discovery.AUTHENTICATION_GROUP):
                return self._review(resource, caller, _decode(raw, ctype), now)
            if info.verb == "list":
                return self._list(request, query, resource, info, now)
            if info.verb == "get":
                obj = STORES[resource.plural].get(cluster, info.namespace, info.name)
                if _wants_table(request):
                    return _json(tables.table(resource.plural, [obj], [self._wire(obj, resource)],
                                              now, str(cluster.resource_version)))
                return _json(self._wire(obj, resource))
            if info.verb == "create":
                return self._create(resource, info, caller, _decode(raw, ctype))
            return self._delete(resource, info, now)
        except ClusterError as error:
            raise from_cluster(error, info.group) from None

    # -- verbs ---------------------------------------------------------------------------------

    @staticmethod
    def _wire(obj: Model, resource: Resource) -> dict[str, Any]:
        return to_manifest(obj, resource.group_version if isinstance(obj, Profile) else None)

    def _list(self, request: Request, query: dict[str, str], resource: Resource,
              info: RequestInfo, now: float) -> Response:
        labels = parse_label_selector(query.get("labelSelector", ""))
        fields = parse_field_selector(query.get("fieldSelector", ""))
        cluster = self.emulator.cluster
        objects = sorted(STORES[resource.plural].list(cluster, info.namespace),
                         key=lambda o: (getattr(o, "namespace", ""), o.name))
        objects = [o for o in objects if matches(o, labels, fields)]
        manifests = [self._wire(o, resource) for o in objects]
        version = str(cluster.resource_version)
        if _wants_table(request):
            return _json(tables.table(resource.plural, objects, manifests, now, version))
        return _json({"kind": f"{resource.kind}List", "apiVersion": resource.group_version,
                      "metadata": {"resourceVersion": version}, "items": manifests})

    def _create(self, resource: Resource, info: RequestInfo, caller: Caller,
                body: Any) -> Response:
        store = STORES[resource.plural]
        obj = from_manifest(body, store.model, namespace=info.namespace)
        if isinstance(body, dict) and isinstance(body.get("apiVersion"), str) and \
                body["apiVersion"] not in ("", resource.group_version):
            raise bad_request(f"the API version in the data ({body['apiVersion']}) does not "
                              f"match the expected API version ({resource.group_version})")
        confirm_no_escalation(self.emulator.cluster, caller, obj)
        created = store.create(self.emulator.cluster, obj)
        return _json(self._wire(created, resource), 201)

    def _delete(self, resource: Resource, info: RequestInfo, now: float) -> Response:
        cluster = self.emulator.cluster
        if resource.plural == "namespaces" and info.name in IMMORTAL_NAMESPACES:
            raise KubeError(403, "Forbidden",
                            f'namespaces "{info.name}" is forbidden: this namespace may not be '
                            "deleted", {"name": info.name, "kind": "namespaces"})
        obj = STORES[resource.plural].delete(cluster, info.namespace, info.name)
        manifest = self._wire(obj, resource)
        if isinstance(obj, Namespace):
            # The namespace controller empties and removes it; the model does so at once.
            manifest["metadata"]["deletionTimestamp"] = rfc3339(now)
            manifest["status"] = {"phase": "Terminating"}
            return _json(manifest)
        if isinstance(obj, (Profile, Pod, Workflow)):
            # Custom resources and (gracefully deleted) Pods answer with the deleted object.
            return _json(manifest)
        return _json(success(obj.name, resource.group, resource.plural, obj.uid))

    def _pod_log(self, info: RequestInfo) -> Response:
        """``pods/log``: the main container's output as plain text."""
        text = self.emulator.cluster.workloads.pod_log(info.namespace, info.name)
        if text is None:
            raise from_cluster(not_found("pods", info.name), "")
        return Response(text, media_type="text/plain")

    def _review(self, resource: Resource, caller: Caller, body: Any, now: float) -> Response:
        cluster = self.emulator.cluster
        if resource.plural == "subjectaccessreviews":
            answer = reviews.subject_access_review(cluster, caller, body)
        elif resource.plural == "selfsubjectaccessreviews":
            answer = reviews.self_subject_access_review(cluster, caller, body)
        elif resource.plural == "selfsubjectreviews":
            answer = reviews.self_subject_review(cluster, caller, body)
        else:
            answer = reviews.token_review(cluster, body, now)
        return _json(answer, 201)


def _wants_table(request: Request) -> bool:
    return tables.wants_table(request.headers.get("accept", ""))


def _decode(raw: bytes, content_type: str = "") -> Any:
    media = content_type.split(";")[0].strip().lower()
    if media == protobuf.MEDIA_TYPE:
        return protobuf.decode(raw)
    if media == "application/yaml":
        try:
            data = yaml.safe_load(raw or b"null")
            # Only what JSON can say: a YAML date or a NaN is a conversion error, as in Go.
            return json.loads(json.dumps(data, allow_nan=False))
        except (yaml.YAMLError, TypeError, ValueError) as exc:
            raise bad_request(f"error converting YAML to JSON: {exc}") from None
    if media and media not in ("application/json", "*/*"):
        raise protobuf.unsupported_media_type()
    try:
        return json.loads(raw or b"null", parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"couldn't get version/kind; json parse error: {exc}") from None


def _no_constants(name: str) -> Any:
    """``NaN``/``Infinity`` are not JSON (Python's decoder accepts them by default)."""
    raise ValueError(f"invalid character {name[0]!r} looking for beginning of value")


def build_kube_app(emulator: Emulator) -> KubeApp:
    return KubeApp(emulator)

"""ml-pipeline-ui's request routing (app.ts), over the emulator's parts.

Routes are served at ``/`` and under the base path ``/pipeline`` (``registerHandler``), except
the ML Metadata proxy, which app.ts mounts at the root only (the browser's gRPC-web client
posts to ``/ml_metadata.MetadataStoreService/<Method>`` on the origin).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from emulator import bugs
from emulator.http.asgi import with_error_net
from emulator.http.common import not_found_response
from emulator.ui import artifacts, pod_info, pod_logs
from emulator.ui.config import UiConfig
from emulator.ui.express import Query, decode_uri_component, raw_path, send
from emulator.ui.proxy import (
    ProxiedUrl,
    forward,
    generic_proxy_url,
    proxied_scope,
    split_proxied_url,
    without_prefix,
)

if TYPE_CHECKING:
    from emulator.core import Emulator

log = logging.getLogger("kfp_isolation.ui")

API_PREFIXES = ("/apis/v1beta1/", "/apis/v2beta1/")
_DEPRECATED_PROXY = re.compile(r"/apis/v(1|2)beta1/_proxy/.*", re.IGNORECASE | re.DOTALL)
_POD_LOGS = re.compile(r"/k8s/pod/logs/?", re.IGNORECASE)
_POD_INFO = re.compile(r"/k8s/pod/?", re.IGNORECASE)
_POD_EVENTS = re.compile(r"/k8s/pod/events/?", re.IGNORECASE)
METADATA_PREFIX = "/ml_metadata."
API_PORT = 8888  # Service ml-pipeline
METADATA_PORT = 9090  # Service metadata-envoy-service


def _metadata_app(emulator: Emulator) -> ASGIApp | None:
    """ML Metadata's gRPC-web endpoint (metadata-envoy), when this build has it."""
    try:
        from emulator.mlmd.grpc_web import build_grpc_web_app
    except ImportError:
        return None
    app: ASGIApp = build_grpc_web_app(emulator)
    return app


class UiServerApp:
    def __init__(self, emulator: Emulator, api_app: ASGIApp, web_app: ASGIApp,
                 config: UiConfig | None = None, metadata_app: ASGIApp | None = None) -> None:
        self.emulator = emulator
        self.api = api_app
        self.web = web_app
        self.config = config or UiConfig.for_emulator(emulator)
        self.metadata = metadata_app if metadata_app is not None else _metadata_app(emulator)

    async def __call__(self, scope: Scope, receive: Receive, send_: Send) -> None:
        if scope["type"] != "http":
            return
        # Express's final handler: a plain 500.
        await with_error_net(lambda sending: self._route(scope, receive, sending), scope,
                             receive, send_, log=log, what="UI server",
                             failure=lambda: send(500, "Internal Server Error"))

    def _local(self, path: str) -> str:
        """The path below the base path (routes are registered at both)."""
        base = self.config.base_path
        if path.lower() == base.lower() or path.lower().startswith(base.lower() + "/"):
            return path[len(base):] or "/"
        return path

    async def _route(self, scope: Scope, receive: Receive, send_: Send) -> None:
        path = str(scope["path"])
        method = str(scope.get("method", "GET"))
        if path.startswith(METADATA_PREFIX):
            await forward(self.metadata, scope, receive, send_)
            return
        local = self._local(path)
        # ISO-017: up to 2.16 the UI server forwarded /_proxy/<URL> (and requests whose Referer
        # named one) to any host, outside its authorization, instead of answering 410.
        if bugs.on(self.emulator.config, "ISO-017") and await self._generic_proxy(
                scope, receive, send_):
            return
        if _DEPRECATED_PROXY.fullmatch(local):
            gone = send(410, "The generic /_proxy/ endpoint is deprecated and no longer "
                             "supported.")
            await gone(scope, receive, send_)
            return
        if local.startswith(API_PREFIXES):
            await forward(self.api, without_prefix(scope, self.config.base_path), receive, send_)
            return
        if method in ("GET", "HEAD"):
            response = self._artifact_or_logs(scope, local)
            if response is not None:
                await response(scope, receive, send_)
                return
        await self.web(scope, receive, send_)

    async def _generic_proxy(self, scope: Scope, receive: Receive, send_: Send) -> bool:
        """The old proxy middleware (ISO-017): False when it would not proxy the request.
        The request goes on with the caller's own headers (so the API server still sees the
        gateway's identity header); only hosts the emulator serves answer."""
        full_raw = raw_path(scope)
        query = scope.get("query_string", b"").decode("latin-1")
        referer = Headers(scope=scope).get("referer", "")
        try:
            url = generic_proxy_url(full_raw, self._local(full_raw), query, referer)
            if url is None:
                return False
            target = split_proxied_url(url)
        except ValueError as error:
            await send(500, str(error))(scope, receive, send_)
            return True
        await forward(self._proxy_target(target), proxied_scope(scope, target), receive, send_)
        return True

    def _proxy_target(self, target: ProxiedUrl) -> ASGIApp | None:
        """The emulated in-cluster service at the URL's origin: the API server
        (``ml-pipeline:8888``, its API paths only) or metadata-envoy (``:9090``); None for any
        other host (the proxy's 504)."""
        namespace = self.emulator.config.pod_namespace

        def service(name: str) -> bool:
            return target.host in (name, f"{name}.{namespace}", f"{name}.{namespace}.svc",
                                   f"{name}.{namespace}.svc.cluster.local")

        if target.scheme != "http":
            return None
        if service("ml-pipeline") and target.port == API_PORT:
            return self._api_only
        if service("metadata-envoy-service") and target.port == METADATA_PORT:
            return self.metadata
        return None

    async def _api_only(self, scope: Scope, receive: Receive, send_: Send) -> None:
        """ml-pipeline:8888 as the cluster sees it: the KFP API, nothing of the emulator's own
        (its controls and KFAM share the direct listener here, not upstream)."""
        if str(scope["path"]).startswith(API_PREFIXES):
            await self.api(scope, receive, send_)
            return
        await not_found_response()(scope, receive, send_)

    def _artifact_or_logs(self, scope: Scope, local: str) -> Response | None:
        headers = Headers(scope=scope)
        if local.lower().startswith("/artifacts/"):
            query = Query.of(scope)
            full_raw = raw_path(scope)
            denied = artifacts.check_artifact_request(self.emulator, self.config, headers,
                                                      query, full_raw)
            if denied is not None:
                return denied
            route = artifacts.artifact_route(self._local(full_raw))
            if route is None:
                return None
            if route == "get":
                return artifacts.serve_artifact(self.emulator, self.config, query, None)
            decoded = tuple(decode_uri_component(part) for part in route)
            if any(part is None for part in decoded):
                return send(400, "Malformed URL encoding in artifact path")
            source, bucket, key = (part or "" for part in decoded)
            return artifacts.serve_artifact(self.emulator, self.config, query,
                                            (source, bucket, key))
        if _POD_LOGS.fullmatch(local):
            return pod_logs.serve_pod_logs(self.emulator, self.config, headers, Query.of(scope))
        if _POD_INFO.fullmatch(local) or _POD_EVENTS.fullmatch(local):
            return pod_info.serve_pod_info(self.emulator, self.config, headers, Query.of(scope),
                                           events=bool(_POD_EVENTS.fullmatch(local)))
        return None


def build_ui_server_app(emulator: Emulator, api_app: ASGIApp, web_app: ASGIApp) -> UiServerApp:
    """ml-pipeline-ui: ``ENABLE_AUTHZ`` on in multi-user deployments, off in standalone."""
    return UiServerApp(emulator, api_app, web_app)

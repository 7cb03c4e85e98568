"""The gateway listener.

Full Kubeflow (docs/upstream/kubeflow-platform.md 3.4-3.6): the Istio ingress gateway.  A request
without ``Authorization`` is checked by oauth2-proxy (session cookie); one with
``Authorization: Bearer`` by jwt_authn; one with another ``Authorization`` has no principal and is
denied.  ``/dex/`` and ``/oauth2/`` need no identity.  Then the VirtualServices route it:
``/pipeline`` to ml-pipeline-ui (which proxies ``/pipeline/apis/...`` to the API server, here the
direct app in-process), ``/ml_metadata`` to metadata-envoy (ML Metadata's gRPC-web, any
authenticated caller, emulator.mlmd.access), ``/kfam/`` to KFAM (whose policy admits only the
dashboard, so: 403, unless KFAM is exposed: ISO-024), ``/`` to the central dashboard.  The
gateway always drops a client-sent identity header and sets its own from the authenticated
identity (unless isolation bug ISO-023 is switched on).

Routing is on the normalized path, as Envoy's (Istio's default ``normalize_path``): dot
segments are removed first, so ``/pipeline/apis/../../_emulator`` is ``/_emulator`` (the
dashboard), never the direct app's controls.

Standalone KFP: the listener is a port-forward to ml-pipeline-ui: no login, headers untouched.

A bug in the gateway is logged and answered with a plain 500 (like the direct app's net), so it
never drops the connection.
"""

from __future__ import annotations

import logging
import posixpath
from typing import TYPE_CHECKING
from urllib.parse import quote

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from emulator import bugs
from emulator.gateway import dex, jwt, oauth2_proxy
from emulator.gateway.dashboard import Dashboard
from emulator.gateway.pages import request_uri
from emulator.http.asgi import with_error_net
from emulator.kfam import routes as kfam_routes
from emulator.mlmd.grpc_web import build_grpc_web_app
from emulator.ui.server import build_ui_server_app
from emulator.webui.app import build_web_app

if TYPE_CHECKING:
    from emulator.core import Emulator

log = logging.getLogger("kfp_isolation.gateway")

GROUPS_HEADER = "kubeflow-groups"
UI_PREFIX = "/pipeline"
METADATA_PREFIX = "/ml_metadata"  # VirtualService metadata-grpc -> metadata-envoy:9090
MAX_REALM_PATH = 256


def _open_path(path: str) -> bool:
    """Paths the CUSTOM and require-jwt policies leave alone (``/dex/*``, ``/oauth2/*``)."""
    return path.startswith(("/dex/", "/oauth2/"))


def _original_uri(scope: Scope) -> str:
    """Envoy's buildOriginalUri: scheme://host + the request URI, the path cut to 256."""
    host = Headers(scope=scope).get("host", "")
    return f"{scope.get('scheme', 'http')}://{host}{request_uri(scope)[:MAX_REALM_PATH]}"


def _normalized(scope: Scope) -> Scope:
    """Dot segments removed from the (decoded) path, as Envoy does before routing; a path
    without any is left exactly as sent."""
    path = scope["path"]
    segments = path.split("/")
    if "." not in segments and ".." not in segments:
        return scope
    clean = posixpath.normpath(path)
    clean = "/" + clean.lstrip("/")
    if path.endswith("/") and clean != "/":
        clean += "/"
    return {**scope, "path": clean, "raw_path": quote(clean).encode("ascii")}


def _internal_error() -> Response:
    return Response(b"Internal Server Error", status_code=500,
                    headers={"Content-Type": "text/plain; charset=utf-8"})


class GatewayApp:
    def __init__(self, emulator: Emulator, direct_app: ASGIApp) -> None:
        self.emulator = emulator
        self.direct = direct_app
        self.dashboard = Dashboard(emulator)
        # ml-pipeline-ui: its API proxy, artifact and pod-log endpoints, then the web UI.
        self.ui = build_ui_server_app(emulator, direct_app, build_web_app(emulator))
        self.metadata = build_grpc_web_app(emulator)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.direct(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        route = self._full if self.emulator.mode.multiuser else self._standalone
        await with_error_net(lambda sending: route(_normalized(scope), receive, sending),
                             scope, receive, send, log=log, what="gateway",
                             failure=_internal_error)

    # -- standalone: kubectl port-forward svc/ml-pipeline-ui ------------------------------------

    async def _standalone(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.ui(scope, receive, send)

    # -- full Kubeflow: Istio ingress gateway --------------------------------------------------

    async def _full(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        path = scope["path"]
        authorization = request.headers.get("authorization")
        identity: str | None = None
        groups: tuple[str, ...] = ()
        if authorization is None:
            if not _open_path(path):  # CUSTOM policy: oauth2-proxy's check
                identity = oauth2_proxy.session_email(request, self.emulator)
                if identity is None:
                    await oauth2_proxy.unauthenticated(request)(scope, receive, send)
                    return
        elif authorization.startswith("Bearer "):  # jwt_authn, on every path
            with self.emulator.kfp.state.lock:
                result = jwt.verify(authorization[len("Bearer "):], self.emulator.cluster.tokens,
                                    self.emulator.gateway_config, self.emulator.clock.now())
            if isinstance(result, jwt.JwtFailure):
                await jwt.failure_response(result, _original_uri(scope))(scope, receive, send)
                return
            identity, groups = result.user, result.groups
        elif not _open_path(path):  # no token extracted: no principal, the DENY policy
            await jwt.rbac_denied()(scope, receive, send)
            return

        if path.startswith("/dex/"):
            await (await dex.handle(request, self.emulator))(scope, receive, send)
            return
        if path.startswith("/oauth2/"):
            await (await oauth2_proxy.handle(request, self.emulator))(scope, receive, send)
            return
        upstream = self._with_identity(scope, identity, groups)
        if path.startswith("/kfam/"):  # profiles-kfam admits only the dashboard's principal
            denied = kfam_routes.istio_policy(self.emulator, path)
            await (denied or self.direct)(upstream, receive, send)  # direct: KFAM (ISO-024)
            return
        if path.startswith(METADATA_PREFIX):  # authenticated, then no tenant check (ISO-020)
            await self.metadata(upstream, receive, send)
            return
        if path == UI_PREFIX or path.startswith(f"{UI_PREFIX}/"):
            await self.ui(upstream, receive, send)
            return
        response = await self.dashboard(Request(upstream, receive))
        await response(scope, receive, send)

    def _with_identity(self, scope: Scope, identity: str | None,
                       groups: tuple[str, ...]) -> Scope:
        """Drop every client-sent identity/groups header, whatever its case and however often it
        was sent; set the authenticated identity.  ``Authorization`` is forwarded as sent
        (forwardOriginalToken)."""
        userid = self.emulator.config.userid_header.lower().encode("latin-1")
        # ISO-023: without the 1.5.0 policies the identity header was trusted from any source:
        # a client-sent one reaches the upstream as sent, in place of the authenticated one.
        forged = bugs.on(self.emulator.config, "ISO-023") and any(
            k.lower() == userid for k, _ in scope["headers"])
        dropped = {GROUPS_HEADER.encode()} if forged else {userid, GROUPS_HEADER.encode()}
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in dropped]
        if identity and not forged:
            value = self.emulator.config.userid_prefix + identity
            headers.append((userid, value.encode("utf-8")))
        if groups:
            headers.append((GROUPS_HEADER.encode(), ",".join(groups).encode("utf-8")))
        return {**scope, "headers": headers}


def build_gateway_app(emulator: Emulator, direct_app: ASGIApp) -> GatewayApp:
    return GatewayApp(emulator, direct_app)

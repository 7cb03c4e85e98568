"""The ASGI applications: the direct endpoint (the KFP REST API of both versions, the test
controls) and the builder of every listener's app."""

from __future__ import annotations

import logging
import traceback

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from emulator.core import Emulator
from emulator.errors import internal_error
from emulator.gateway.app import build_gateway_app
from emulator.http import (
    control,
    routes_artifacts,
    routes_logs,
    routes_reports,
    routes_v1,
    routes_v2,
)
from emulator.http.asgi import answer_lifespan
from emulator.http.common import error_response, method_not_allowed_response, not_found_response
from emulator.http.routing import Router, dispatch
from emulator.kfam import routes as kfam_routes
from emulator.kube.api.app import build_kube_app
from emulator.mlmd.grpc_web import build_grpc_web_app
from emulator.modes import Listener
from emulator.objectstore.s3 import build_s3_app

log = logging.getLogger("kfp_isolation.emulator")


async def _fallback(request: Request, other_method: bool) -> Response:
    return method_not_allowed_response() if other_method else not_found_response()


class EmulatorApp:
    """Routes requests; an unexpected exception is logged and answered as the server's 500."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.router = Router()
        routes_v2.register(self.router, emulator.kfp)
        routes_v1.register(self.router, emulator.kfp)
        for prefix in (routes_v1.PREFIX, routes_v2.PREFIX):
            routes_reports.register(self.router, emulator.kfp, prefix)
            routes_artifacts.register(self.router, emulator, prefix)
        routes_logs.register(self.router, emulator)  # /apis/v1alpha1 run logs
        control.register(self.router, emulator)
        # KFAM (profiles-kfam:8081): behind Istio's policy unless emulator.expose_kfam.
        kfam_routes.register(self.router, emulator)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        try:
            response = (kfam_routes.istio_policy(self.emulator, scope["path"])
                        or await dispatch(self.router, request, _fallback))
        except Exception as exc:
            log.error("unhandled error on %s %s\n%s", request.method, request.url.path,
                      traceback.format_exc())
            response = error_response(internal_error(repr(exc)))
        await response(scope, receive, send)

def build_app(emulator: Emulator) -> EmulatorApp:
    return EmulatorApp(emulator)


class CatchUp:
    """Fire the timers due by now before a request: with a clock that follows the wall clock
    (``serve``), a run's workflow, pods, objects and metadata must be there for whoever looks
    first, not only after the next KFP API call (which fires them too)."""

    def __init__(self, emulator: Emulator, app: ASGIApp) -> None:
        self.emulator = emulator
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            with self.emulator.kfp.state.lock:
                self.emulator.clock.fire_due()
        await self.app(scope, receive, send)


def build_apps(emulator: Emulator) -> dict[Listener, ASGIApp]:
    """One ASGI app per listener, all over the same emulator."""
    direct = build_app(emulator)
    return {
        Listener.DIRECT: direct,
        Listener.GATEWAY: CatchUp(emulator, build_gateway_app(emulator, direct)),
        Listener.KUBE: CatchUp(emulator, build_kube_app(emulator)),
        Listener.OBJECT_STORE: CatchUp(emulator, build_s3_app(emulator)),
        Listener.METADATA: CatchUp(emulator, build_grpc_web_app(emulator)),
    }

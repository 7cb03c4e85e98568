"""The web UI's ASGI app: the page shell, its static files and the decisions view.

The UI server mounts it for every ``/pipeline/...`` path it does not serve itself, with the
gateway's identity header already set.  Everything the page shows comes from the deployment's
public surface (the API proxy, artifacts, pod logs, ML Metadata) except the decisions view, which
is the emulator's own debugging aid under ``/pipeline/_emulator/``.

Every response carries a Content-Security-Policy that allows only this app's own scripts and
styles: the page never runs inline code, so no server-provided string can become one.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from emulator.webui.decisions import BadQuery, DecisionQuery, decisions_view

if TYPE_CHECKING:
    from emulator.core import Emulator

PREFIX = "/pipeline"
ASSETS = f"{PREFIX}/_emulator/webui/"
DECISIONS = f"{PREFIX}/_emulator/decisions"
# The page's files, by the name they are served under; nothing else is read from the package.
STATIC_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "mlmd.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "demo-pipeline.json": "application/json",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",
}


def load_static() -> dict[str, bytes]:
    """The page's files from the package data, read once."""
    folder = resources.files("emulator.webui").joinpath("static")
    return {name: folder.joinpath(name).read_bytes() for name in STATIC_TYPES}


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body).encode(), status_code=status,
                    media_type="application/json", headers=SECURITY_HEADERS)


class WebApp:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.static = load_static()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        response = self.respond(Request(scope, receive))
        await response(scope, receive, send)

    def respond(self, request: Request) -> Response:
        path = request.url.path
        if request.method not in ("GET", "HEAD"):
            # Express's answer for a route it does not have.
            return Response(f"Cannot {request.method} {path}", status_code=404,
                            media_type="text/plain; charset=utf-8", headers=SECURITY_HEADERS)
        if path == DECISIONS:
            try:
                query = DecisionQuery.parse(dict(request.query_params))
            except BadQuery as exc:
                return _json({"error": str(exc)}, 400)
            return _json(decisions_view(self.emulator, query))
        if path.startswith(ASSETS):
            name = path[len(ASSETS):]
            if name not in self.static:
                return Response("Not Found", status_code=404,
                                media_type="text/plain; charset=utf-8", headers=SECURITY_HEADERS)
            return self._file(name)
        return self._file("index.html")

    def _file(self, name: str) -> Response:
        return Response(self.static[name], media_type=STATIC_TYPES[name],
                        headers=SECURITY_HEADERS)


def build_web_app(emulator: Emulator) -> ASGIApp:
    """The web UI, for every ``/pipeline/...`` path the UI server does not serve itself."""
    return WebApp(emulator)

"""The UI server's proxies (``http-proxy-middleware``), in-process: the request goes on to the
target app with every header as sent; only the base path is cut for the API server."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from emulator.ui.express import POWERED_BY


def without_prefix(scope: Scope, prefix: str) -> Scope:
    """``pathRewrite``: ``/pipeline/apis/...`` -> ``/apis/...`` (raw path too)."""
    path = str(scope["path"])
    if not path.startswith(prefix):
        return scope
    raw = scope.get("raw_path")
    if isinstance(raw, bytes) and raw.startswith(prefix.encode()):
        raw = raw[len(prefix):] or b"/"
    else:
        raw = path[len(prefix):].encode() or b"/"
    return {**scope, "path": path[len(prefix):] or "/", "raw_path": raw}


async def forward(target: ASGIApp | None, scope: Scope, receive: Receive, send: Send) -> None:
    """Hand the request to ``target``; with no target, the proxy's answer for a refused
    connection (504 and its text)."""
    if target is not None:
        await target(scope, receive, send)
        return
    host = Headers(scope=scope).get("host", "")
    url = str(scope["path"]) + (f"?{scope['query_string'].decode('latin-1')}"
                                if scope.get("query_string") else "")
    await Response(f"Error occurred while trying to proxy: {host}{url}", status_code=504,
                   headers=POWERED_BY)(scope, receive, send)

"""The UI server's proxies (``http-proxy-middleware``), in-process: the request goes on to the
target app with every header as sent; only the base path is cut for the API server.

The generic ``/_proxy/`` route of KFP <= 2.16 exists here only as isolation bug ISO-017 (the
secure server answers 410): see :func:`generic_proxy_url`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from emulator.ui.express import POWERED_BY, decode_uri_component


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


# -- the generic /_proxy/ route of KFP <= 2.16 (isolation bug ISO-017) --------------------------

GENERIC_PROXY = re.compile(r"/apis/v[12]beta1/_proxy/(?P<url>.*)", re.IGNORECASE | re.DOTALL)
_IN_REFERER = re.compile(r"/apis/v[12]beta1/_proxy/", re.IGNORECASE)


@dataclass(frozen=True)
class ProxiedUrl:
    """Where a ``/_proxy/`` request goes: an origin, and the path and query sent there."""

    scheme: str
    host: str
    port: int
    path: str  # as in the URL (percent-escapes kept)
    query: str

    @property
    def host_header(self) -> str:
        """``changeOrigin``: the Host header names the target."""
        return f"{self.host}:{self.port}"


def _absolute(text: str) -> str:
    return text if text.startswith(("http://", "https://")) else "http://" + text


def _decoded(text: str) -> str:
    decoded = decode_uri_component(text)
    if decoded is None:
        raise ValueError("URIError: URI malformed")
    return decoded


def _origin(url: str) -> str:
    parts = urlsplit(_absolute(url))
    return f"{parts.scheme}://{parts.netloc}"


def generic_proxy_url(full_raw_path: str, local_raw_path: str, query_string: str,
                      referer: str) -> str | None:
    """The URL the old proxy middleware forwarded a request to; None when it would not have
    proxied it.  ``/apis/v1beta1/_proxy/<encoded URL>`` (or v2beta1) goes to that URL plus
    the request's query.  A Referer holding ``/_proxy/<encoded URL>`` names the origin
    instead, and then any other request goes there too, with its own path and query (the
    proxied page's relative requests).  Raises ``ValueError`` where ``decodeURIComponent``
    would throw."""
    query = f"?{query_string}" if query_string else ""
    in_referer = _IN_REFERER.search(referer)
    referer_origin = _origin(_decoded(referer[in_referer.end():])) if in_referer else None
    found = GENERIC_PROXY.fullmatch(local_raw_path)
    if found is None:
        return None if referer_origin is None else referer_origin + full_raw_path + query
    named = _absolute(_decoded(found["url"]))
    if referer_origin is None:
        return named + query
    parts = urlsplit(named)
    rest = parts.path + (f"?{parts.query}" if parts.query else "")
    return referer_origin + rest + query


def split_proxied_url(url: str) -> ProxiedUrl:
    """The target of a decoded proxy URL (``http://`` when it names no scheme); raises
    ``ValueError`` for what ``new URL()`` refuses."""
    parts = urlsplit(_absolute(url))
    if not parts.hostname:
        raise ValueError("TypeError: Invalid URL")
    default = 443 if parts.scheme == "https" else 80
    return ProxiedUrl(parts.scheme, parts.hostname, parts.port or default, parts.path or "/",
                      parts.query)


def proxied_scope(scope: Scope, target: ProxiedUrl) -> Scope:
    """The request as the proxy sends it on: same method, body and headers (the caller's
    identity header and credentials included), Host rewritten, the URL's path and query."""
    headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"host"]
    headers.append((b"host", target.host_header.encode("latin-1")))
    return {**scope, "path": unquote(target.path), "raw_path": target.path.encode("utf-8"),
            "query_string": target.query.encode("utf-8"), "root_path": "", "headers": headers}

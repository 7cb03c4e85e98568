"""Small pieces shared by the gateway's components (the login flow, Dex, the dashboard) and
KFAM: HTML pages, error pages, Set-Cookie values, the request URI, and safe header values."""

from __future__ import annotations

import html
from http import HTTPStatus

from starlette.responses import Response
from starlette.types import Scope

HTML = "text/html; charset=utf-8"


def page(title: str, body: str) -> bytes:
    """A complete, dependency-free HTML document (``body`` is already escaped HTML)."""
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title></head>\n<body>\n{body}\n</body>\n</html>\n"
            ).encode()


def error_page(status: int, message: str, title: str = "") -> Response:
    """An HTML error page: the status's reason phrase as the heading, then ``message``.
    oauth2-proxy titles it with the reason phrase; Dex passes ``title="Dex"``."""
    phrase = HTTPStatus(status).phrase
    body = page(title or phrase, f"<h2>{phrase}</h2>\n<p>{html.escape(message)}</p>")
    return Response(body, status_code=status, media_type=HTML)


def set_cookie(name: str, value: str, lifetime_seconds: int) -> str:
    """A cookie as oauth2-proxy v7.14.3 writes it with the manifests' options (Go's
    ``http.Cookie.String``): Path ``/``, ``Max-Age`` from the expiration, HttpOnly; no Domain,
    no Secure (``cookie_secure = false``), no SameSite (empty option), no Expires."""
    return f"{name}={value}; Path=/; Max-Age={int(lifetime_seconds)}; HttpOnly"


def clear_cookie(name: str) -> str:
    """oauth2-proxy clears a cookie with a negative expiration: Go writes ``Max-Age=0``."""
    return f"{name}=; Path=/; Max-Age=0; HttpOnly"


def request_uri(scope: Scope) -> str:
    """The request URI as the client sent it (Go's ``r.RequestURI``, Envoy's ``:path``): the raw
    path plus the raw query."""
    raw = scope.get("raw_path") or scope["path"].encode("utf-8")
    uri = raw.decode("latin-1")
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{uri}?{query}" if query else uri


def header_safe(text: str) -> str:
    """``text`` fit for a response header: every control character (< 0x20, 0x7f) and every
    non-ASCII character is percent-encoded (UTF-8), as Go's ``http.Redirect`` does for
    non-ASCII.  A header value can then never split the response or fail to encode."""
    return "".join(
        c if 0x20 <= ord(c) < 0x7f else "".join(f"%{b:02X}" for b in c.encode("utf-8"))
        for c in text)

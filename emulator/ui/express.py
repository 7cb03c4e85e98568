"""What the UI server's framework (Express 5 with the router 1.x override) does to requests
and responses, so the handlers read like upstream's: ``querystring`` parsing (a repeated
parameter becomes a list), ``res.send(text)`` answering ``text/html``, strict
``decodeURIComponent``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote_to_bytes

from starlette.responses import Response
from starlette.types import Scope

POWERED_BY = {"X-Powered-By": "Express"}
_RESOURCE_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def send(status: int, text: str) -> Response:
    """``res.status(status).send(text)``: a string body is sent as HTML."""
    return Response(text, status_code=status, media_type="text/html; charset=utf-8",
                    headers=POWERED_BY)


def send_plain(text: str) -> Response:
    """``res.type('text/plain').send(text)``."""
    return Response(text, media_type="text/plain; charset=utf-8", headers=POWERED_BY)


def stream(data: bytes, headers: dict[str, str] | None = None) -> Response:
    """A stream piped into the response: no Content-Type unless the handler set one."""
    return Response(data, headers={**POWERED_BY, **(headers or {})})


@dataclass(frozen=True)
class Query:
    """``req.query`` under Express 5's simple parser: name -> one string, or a list when the
    name was repeated."""

    values: dict[str, list[str]]

    @classmethod
    def of(cls, scope: Scope) -> Query:
        raw = scope.get("query_string", b"").decode("latin-1")
        values: dict[str, list[str]] = {}
        for name, value in parse_qsl(raw, keep_blank_values=True, errors="replace"):
            values.setdefault(name, []).append(value)
        return cls(values)

    def is_single(self, name: str) -> bool:
        """Absent or given once: what ``typeof value === 'string'`` accepts."""
        return len(self.values.get(name, ())) <= 1

    def get(self, name: str) -> str | None:
        """The value of a parameter given once (the first when repeated: callers check
        :meth:`is_single` first, as upstream does)."""
        found = self.values.get(name)
        return found[0] if found else None


def is_allowed_resource_name(name: str | None) -> bool:
    """utils.ts ``isAllowedResourceName``: a DNS-1123 label."""
    return name is not None and 0 < len(name) <= 63 and _RESOURCE_NAME.fullmatch(name) is not None


def decode_uri_component(text: str) -> str | None:
    """JavaScript's ``decodeURIComponent``; None where it would throw ``URIError``.  Raw
    path text (see :func:`raw_path`) carries undecodable bytes as surrogate escapes."""
    if _BAD_PERCENT.search(text):
        return None
    try:
        return unquote_to_bytes(text.encode("utf-8", "surrogateescape")).decode("utf-8")
    except UnicodeDecodeError:
        return None


def raw_path(scope: Scope) -> str:
    """The request path as sent (percent-encoded), like Express's ``req.path``."""
    raw = scope.get("raw_path")
    if isinstance(raw, bytes) and raw:
        return raw.decode("utf-8", "surrogateescape").split("?", 1)[0]
    return str(scope["path"])

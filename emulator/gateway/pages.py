"""Small HTML pages and Set-Cookie values shared by the login flow and the dashboard."""

from __future__ import annotations

import html
import time
from email.utils import formatdate

HTML = "text/html; charset=utf-8"
EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"


def page(title: str, body: str) -> bytes:
    """A complete, dependency-free HTML document (``body`` is already escaped HTML)."""
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title></head>\n<body>\n{body}\n</body>\n</html>\n"
            ).encode()


def set_cookie(name: str, value: str, lifetime_seconds: float) -> str:
    """A cookie as oauth2-proxy writes it (Go's http.Cookie order).  ``Expires`` is wall-clock
    time for the browser; the session itself expires on the emulator clock."""
    expires = formatdate(time.time() + lifetime_seconds, usegmt=True)
    return f"{name}={value}; Path=/; Expires={expires}; HttpOnly; SameSite=Lax"


def clear_cookie(name: str) -> str:
    return f"{name}=; Path=/; Expires={EPOCH}; HttpOnly; SameSite=Lax"

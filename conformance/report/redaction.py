"""The reports' last line of defence against secrets.

The results are redacted where they are made (:mod:`conformance.world` drops secret headers,
:meth:`conformance.target.Target.redacted` passwords), but a body or an assertion message can
still quote a token, a session cookie or a login form.  Every writer passes every string that
came from the wire through :func:`scrub` before it reaches a file.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "<redacted>"

# (pattern, replacement): the replacement keeps what says *which* secret it was.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # A JWT (header.payload.signature, base64url; the header always starts '{"' = eyJ).
    (re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),
    # Authorization: Bearer <token>, wherever it is quoted.
    (re.compile(r"\b(Bearer)[ \t]+(?!<redacted>)[^\s\"'<>,;()\[\]{}]+", re.IGNORECASE),
     rf"\1 {REDACTED}"),
    # The oauth2-proxy session cookie (also split as _0, _1 ...) and its CSRF cookie.
    (re.compile(r"\b(oauth2_proxy_kubeflow\w*|_oauth2_proxy\w*)=(?!<redacted>)[^;\s\"'&,]+"),
     rf"\1={REDACTED}"),
    # A login form's password (Dex: login=...&password=...), form-encoded or in a URL.
    (re.compile(r"\b(password)=(?!<redacted>)[^&\s\"';]+", re.IGNORECASE), rf"\1={REDACTED}"),
    # The same in JSON.
    (re.compile(r"(\"password\"\s*:\s*\")(?!<redacted>)(?:[^\"\\]|\\.)*(\")", re.IGNORECASE),
     rf"\1{REDACTED}\2"),
)


def scrub(text: str) -> str:
    """``text`` with bearer tokens, JWTs, oauth2-proxy cookies and passwords replaced by
    ``<redacted>``.  Idempotent."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


# Mapping keys whose values are secrets whatever they look like (a target file's extra keys).
SECRET_KEY = re.compile(r"password|passwd|token|secret|cookie|credential|api[_-]?key",
                        re.IGNORECASE)
# user:password@ in a URL.
_USERINFO = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)


def scrub_all(value: Any) -> Any:
    """Every string inside ``value`` (dicts, lists, tuples) scrubbed, and the whole value of
    any key that names a secret (``password_env`` names a variable, not a secret)."""
    if isinstance(value, str):
        return _USERINFO.sub(rf"\g<scheme>{REDACTED}@", scrub(value))
    if isinstance(value, dict):
        return {key: REDACTED if _secret_key(key) and item not in ("", None, REDACTED)
                else scrub_all(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_all(item) for item in value]
    return value


def _secret_key(key: Any) -> bool:
    return isinstance(key, str) and bool(SECRET_KEY.search(key)) and not key.endswith("_env")

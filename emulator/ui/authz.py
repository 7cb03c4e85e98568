"""The UI server's ``authorizeFn`` (helpers/auth.ts): ask the API server's ``AuthService``
(``GET /apis/v1beta1/auth``) whether the caller may ``verb`` ``resources`` in a namespace,
passing on only the identity header."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.datastructures import Headers

from emulator.errors import KfpError
from emulator.http.encoding import encode
from emulator.kfp.access import Credentials
from emulator.ui.config import UiConfig

if TYPE_CHECKING:
    from emulator.core import Emulator

VIEWERS = "VIEWERS"
GET = "GET"


def user_header(config: UiConfig, headers: Headers) -> str | None:
    """``req.headers[name]`` in Node: repeated values of a custom header joined by ", "."""
    values = headers.getlist(config.userid_header)
    return ", ".join(values) if values else None


def authorize(emulator: Emulator, config: UiConfig, headers: Headers, namespace: str,
              resources: str = VIEWERS, verb: str = GET) -> str | None:
    """None when allowed (or authorization is off); otherwise the UI's message, which quotes
    the API server's error body as the generated client saw it (the body has no ``error``
    field, so ``parseError`` falls back to the raw text)."""
    if not config.auth_enabled:
        return None
    user = user_header(config, headers)
    creds = Credentials(userid_headers=(user,) if user else ())
    try:
        with emulator.kfp.state.lock:
            emulator.kfp.authorize_viewers(creds, namespace, resources, verb)
    except KfpError as error:
        detail = encode(error.body()).decode("utf-8")
        return f"User is not authorized to {verb} {resources} in namespace {namespace}: {detail}"
    return None

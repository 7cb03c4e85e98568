"""oauth2-proxy as the Kubeflow manifests run it (docs/upstream/kubeflow-platform.md 3.1): the
ext_authz check of every request without ``Authorization``, and the ``/oauth2/`` endpoints that
start the OIDC login at Dex, take its code back and sign out.

Sessions are server-side (the cookie holds a random id); the real proxy encrypts the session into
the cookie.  The CSRF cookie holds the state nonce.

Every answer is built before any state changes, and every header value it carries is checked
or escaped, so no request can leave a half-done login behind or a header uvicorn refuses.
"""

from __future__ import annotations

import html
import json
import re
import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from emulator.gateway.pages import (
    HTML,
    clear_cookie,
    error_page,
    header_safe,
    page,
    request_uri,
    set_cookie,
)

if TYPE_CHECKING:
    from emulator.core import Emulator

COOKIE_NAME = "oauth2_proxy_kubeflow"
CSRF_COOKIE_NAME = f"{COOKIE_NAME}_csrf"
CSRF_SECONDS = 15 * 60  # cookie_csrf_expire default
CLIENT_ID = "kubeflow-oidc-authservice"
SCOPE = "profile email groups openid"
REDIRECT_URI = "/oauth2/callback"
LOGIN_URL = "/dex/auth"
# api_routes: unanchored regexes matched against the request path.
API_ROUTES = tuple(re.compile(p) for p in ("/api/", "/apis/", "^/ml_metadata"))
CSRF_FAILED = "Login Failed: Unable to find a valid CSRF token. Please try again."
# pkg/app/redirect/validator.go: //, /\ and either with whitespace or one or two dots between.
# Go's RE2 \s is [\t\n\f\r ]; \v is the vertical tab.
INVALID_REDIRECT = re.compile(r"[/\\](?:[\t\n\f\r \v]*|\.{1,2})[/\\]")
# The generic message of oauth2-proxy's error page for a 500 (errorMessages).
OOPS = "Oops! Something went wrong. For more information contact your server administrator."


def is_api_request(request: Request) -> bool:
    """``isAPIPath`` or ``isAjax`` (an Accept header naming exactly application/json)."""
    if any(route.search(request.scope["path"]) for route in API_ROUTES):
        return True
    return any(item.strip() == "application/json"
               for value in request.headers.getlist("accept") for item in value.split(","))


def session_email(request: Request, emulator: Emulator) -> str | None:
    """The ext_authz check: the signed-in user of the session cookie, if it is still valid."""
    with emulator.kfp.state.lock:
        return emulator.login_state.session_email(request.cookies.get(COOKIE_NAME),
                                                  emulator.clock.now())


def sign_in_page(request: Request, status: int, message: str = "",
                 redirect: str | None = None) -> Response:
    """The proxy's sign-in page (``skip_provider_button = false``); it clears the session cookie
    and is never cached."""
    rd = redirect if redirect is not None else request_uri(request.scope)
    notice = f"<p class=\"error\">{html.escape(message)}</p>\n" if message else ""
    body = page("Sign In", (
        f"{notice}<form method=\"GET\" action=\"/oauth2/start\">\n"
        f"<input type=\"hidden\" name=\"rd\" value=\"{html.escape(rd)}\">\n"
        "<button type=\"submit\">Sign in with OpenID Connect</button>\n</form>\n"
        f"<p><a id=\"sign-in\" href=\"/oauth2/start?{html.escape(urlencode({'rd': rd}))}\">"
        "Sign in</a></p>"))
    headers = {"Set-Cookie": clear_cookie(COOKIE_NAME),
               "Cache-Control": "no-cache, no-store, must-revalidate, max-age=0",
               "Expires": "Thu, 01 Jan 1970 00:00:00 UTC"}
    return Response(body, status_code=status, media_type=HTML, headers=headers)


def unauthenticated(request: Request) -> Response:
    """No valid session: 401 ``{}`` for API routes and JSON callers, else the 403 sign-in page."""
    if is_api_request(request):
        return Response(b"{}", status_code=401, headers={"Content-Type": "application/json"})
    return sign_in_page(request, 403)


def is_valid_redirect(rd: str) -> bool:
    """oauth2-proxy's ``IsValidRedirect`` for a relative target (no whitelisted domains are
    configured, so absolute URLs are refused): it starts with ``/``, not ``//``, and has no
    ``//``, ``/\\``, ``/./`` or ``/../`` form anywhere.  The emulator also refuses control
    characters, so a redirect can never carry one into the ``Location`` header."""
    if any(ord(c) < 0x20 or ord(c) == 0x7f for c in rd):
        return False
    return rd.startswith("/") and not rd.startswith("//") and not INVALID_REDIRECT.search(rd)


def app_redirect(rd: str) -> str:
    """The redirect target: ``rd`` when valid, else ``/``; non-ASCII percent-encoded as Go's
    ``http.Redirect`` writes it into ``Location``."""
    return header_safe(rd) if is_valid_redirect(rd) else "/"


async def start(request: Request, emulator: Emulator) -> Response:
    """Begin the OIDC flow: a CSRF nonce in a cookie and in ``state``, then off to Dex."""
    rd = app_redirect(request.query_params.get("rd", ""))
    nonce = secrets.token_urlsafe(24)
    # A random stand-in for the S256 challenge: the emulated Dex does not check PKCE, so no
    # verifier is kept (the real proxy keeps one in the CSRF cookie and sends it to /token).
    code_challenge = secrets.token_urlsafe(32)
    query = urlencode({
        "client_id": CLIENT_ID,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
        "nonce": secrets.token_urlsafe(16),
        "prompt": "none",
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": SCOPE,
        "state": f"{nonce}:{rd}",
    })
    headers = {"Location": f"{LOGIN_URL}?{query}",
               "Set-Cookie": set_cookie(CSRF_COOKIE_NAME, nonce, CSRF_SECONDS)}
    return Response(status_code=302, headers=headers)


async def callback(request: Request, emulator: Emulator) -> Response:
    """``OAuthCallback`` in upstream order: the provider's error; the state (``<nonce>:<rd>``,
    else 500); the CSRF cookie (else 403); redeem the code, which is used up (else 500); clear
    the CSRF cookie; the nonce must match the cookie (else 403 with the cookie cleared); save
    the session and go to ``rd`` (``/`` unless valid)."""
    params = request.query_params
    if params.get("error"):
        return error_page(403, f"Login Failed: The upstream identity provider returned an "
                               f"error: {params['error']}")
    state = params.get("state", "")
    if ":" not in state:  # decodeState: "invalid length"
        return error_page(500, OOPS)
    nonce, _, rd = state.partition(":")
    csrf = request.cookies.get(CSRF_COOKIE_NAME)
    if not csrf:
        return error_page(403, CSRF_FAILED)
    location = app_redirect(rd)  # everything the answer needs, before any state changes
    with emulator.kfp.state.lock:
        now = emulator.clock.now()
        code = emulator.login_state.redeem_code(params.get("code", ""), now)
        if code is None or code.client_id != CLIENT_ID:
            return error_page(500, OOPS)
        if not secrets.compare_digest(csrf.encode(), nonce.encode()):
            response = error_page(403, CSRF_FAILED)
            response.headers.append("Set-Cookie", clear_cookie(CSRF_COOKIE_NAME))
            return response
        lifetime = emulator.gateway_config.session_seconds
        session = emulator.login_state.open_session(code.email, now, lifetime)
    response = Response(status_code=302, headers={"Location": location})
    response.headers.append("Set-Cookie", clear_cookie(CSRF_COOKIE_NAME))
    response.headers.append("Set-Cookie", set_cookie(COOKIE_NAME, session, lifetime))
    return response


async def sign_out(request: Request, emulator: Emulator) -> Response:
    response = Response(status_code=302,
                        headers={"Location": app_redirect(request.query_params.get("rd", "")),
                                 "Set-Cookie": clear_cookie(COOKIE_NAME)})
    with emulator.kfp.state.lock:
        emulator.login_state.close_session(request.cookies.get(COOKIE_NAME))
    return response


async def sign_in(request: Request, emulator: Emulator) -> Response:
    rd = app_redirect(request.query_params.get("rd", ""))
    return sign_in_page(request, 200, redirect=rd)


async def auth(request: Request, emulator: Emulator) -> Response:
    """The proxy's own auth_request endpoint: 202 with a session, 401 without."""
    email = session_email(request, emulator)
    if email is None:
        return Response(b"Unauthorized", status_code=401, media_type="text/plain")
    return Response(status_code=202, headers={"X-Auth-Request-Email": header_safe(email),
                                              "X-Auth-Request-User": header_safe(email)})


async def userinfo(request: Request, emulator: Emulator) -> Response:
    email = session_email(request, emulator)
    if email is None:
        return Response(b"Unauthorized", status_code=401, media_type="text/plain")
    body = json.dumps({"user": email, "email": email})
    return Response(body.encode(), headers={"Content-Type": "application/json"})


ROUTES = {
    "/oauth2/start": start,
    "/oauth2/callback": callback,
    "/oauth2/sign_out": sign_out,
    "/oauth2/sign_in": sign_in,
    "/oauth2/auth": auth,
    "/oauth2/userinfo": userinfo,
}


async def handle(request: Request, emulator: Emulator) -> Response:
    handler = ROUTES.get(request.scope["path"])
    if handler is None or request.method not in ("GET", "HEAD", "POST"):
        return error_page(404, "We could not find the resource you were looking for.")
    return await handler(request, emulator)

"""Dex with its one password connector, ``local`` (docs/upstream/kubeflow-platform.md 3.2):
``/dex/auth`` -> ``/dex/auth/local`` -> ``/dex/auth/local/login`` (the form) -> 303 to the
client's redirect URI with a code.  The static users are ``emulator.login_users``.
"""

from __future__ import annotations

import html
from functools import partial
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import Response

from emulator.gateway.oauth2_proxy import CLIENT_ID, REDIRECT_URI
from emulator.gateway.pages import HTML, page
from emulator.gateway.pages import error_page as _error_page

if TYPE_CHECKING:
    from emulator.core import Emulator

CONNECTOR = "local"
USERNAME_PROMPT = "Email Address"
INVALID_CREDENTIALS = f"Invalid {USERNAME_PROMPT} and password."


# Dex's error.html: the shared error page under Dex's title.
error_page = partial(_error_page, title="Dex")


def login_form(post_url: str, login: str = "", invalid: bool = False) -> Response:
    """Dex's password.html: fields ``login`` and ``password``, posting to the same URL."""
    notice = (f"<div id=\"login-error\" class=\"dex-error-box\">{INVALID_CREDENTIALS}</div>\n"
              if invalid else "")
    body = page("Log in to dex", (
        "<h2>Log in to Your Account</h2>\n"
        f"<form method=\"post\" action=\"{html.escape(post_url)}\">\n"
        f"<label for=\"userid\">{USERNAME_PROMPT}</label>\n"
        f"<input id=\"login\" name=\"login\" type=\"text\" value=\"{html.escape(login)}\" "
        "required autofocus>\n"
        "<label for=\"password\">Password</label>\n"
        "<input id=\"password\" name=\"password\" type=\"password\" required>\n"
        f"{notice}<button type=\"submit\" id=\"submit-login\">Login</button>\n</form>"))
    return Response(body, media_type=HTML)


async def authorization(request: Request, emulator: Emulator) -> Response:
    """One connector and no ``alwaysShowLogin``: straight on to it, query kept."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "connector_id"]
    return Response(status_code=302,
                    headers={"Location": f"/dex/auth/{CONNECTOR}?{urlencode(query)}"})


async def connector_login(request: Request, emulator: Emulator) -> Response:
    if request.method != "GET":
        return error_page(400, "Unsupported request method.")
    params = request.query_params
    client_id = params.get("client_id", "")
    redirect_uri = params.get("redirect_uri", "")
    if client_id != CLIENT_ID:
        return error_page(400, f'Invalid client_id ("{client_id}").')
    if redirect_uri != REDIRECT_URI:
        return error_page(400, f'Unregistered redirect_uri ("{redirect_uri}").')
    if params.get("response_type", "") != "code":
        return error_page(400, f'Unsupported response type "{params.get("response_type", "")}"')
    with emulator.kfp.state.lock:
        request_id = emulator.login_state.new_auth_request(
            client_id, redirect_uri, params.get("state", ""), emulator.clock.now())
    location = f"/dex/auth/{CONNECTOR}/login?{urlencode({'back': '', 'state': request_id})}"
    return Response(status_code=302, headers={"Location": location})


async def password_login(request: Request, emulator: Emulator) -> Response:
    request_id = request.query_params.get("state", "")
    if not request_id:
        return error_page(400, "User session error.")
    post_url = f"/dex/auth/{CONNECTOR}/login?{urlencode({'back': '', 'state': request_id})}"
    with emulator.kfp.state.lock:
        pending = emulator.login_state.auth_request(request_id, emulator.clock.now())
    if pending is None:
        return error_page(400, "Requested resource does not exist.")
    if request.method == "GET":
        return login_form(post_url)
    if request.method != "POST":
        return error_page(400, "Unsupported request method.")
    # An HTML form posts application/x-www-form-urlencoded.
    form = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    login, password = form.get("login", [""])[0], form.get("password", [""])[0]
    with emulator.kfp.state.lock:
        # The password DB keys users by lower-cased email.
        users = {email.lower(): (email, secret)
                 for email, secret in emulator.login_users.items()}
    found = users.get(login.lower())
    if found is None or found[1] != password:
        return login_form(post_url, login, invalid=True)
    with emulator.kfp.state.lock:
        if emulator.login_state.auth_request(request_id, emulator.clock.now()) is None:
            return error_page(400, "Requested resource does not exist.")
        code, used = emulator.login_state.issue_code(request_id, found[0], emulator.clock.now())
    # skipApprovalScreen: the code goes straight back to the client.
    location = f"{used.redirect_uri}?{urlencode({'code': code, 'state': used.state})}"
    return Response(status_code=303, headers={"Location": location})


async def handle(request: Request, emulator: Emulator) -> Response:
    path = request.scope["path"].rstrip("/")
    if path == "/dex/auth":
        return await authorization(request, emulator)
    if path == f"/dex/auth/{CONNECTOR}":
        return await connector_login(request, emulator)
    if path == f"/dex/auth/{CONNECTOR}/login":
        return await password_login(request, emulator)
    return Response(b"404 page not found\n", status_code=404,
                    headers={"Content-Type": "text/plain; charset=utf-8"})

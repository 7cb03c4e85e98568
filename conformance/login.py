"""Sign in to a Kubeflow gateway the way a browser does, for ``kfp.Client(cookies=...)``.

Works against any gateway that runs the Kubeflow manifests' login stack (oauth2-proxy in front of
Dex with a password connector) and against the emulator's gateway.  The steps follow the
approach of the Kubeflow website's ``KFPClientManager`` (docs/upstream/kubeflow-platform.md 4.1):

1. ``GET <api_url>``.  A 403 is oauth2-proxy's sign-in page: go to ``/oauth2/start?rd=<path>``
   on the same host instead.  Any status other than 200 or 403 is an error.
2. No redirect at all means the endpoint needs no login: the answer is ``""``.
3. If the redirects stopped at Dex's connector chooser (``.../auth``), pick the connector.
4. Unless already there, follow on to the connector's login form (``.../auth/<x>/login``).
5. Post ``login`` and ``password`` to the form.  Good credentials redirect (through the
   oauth2-proxy callback, which sets the session cookie); bad ones re-render the form with 200.
6. If Dex asks for approval, approve.
7. Every cookie left in the session is the answer, as a ``Cookie`` header value.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests

__all__ = ["InvalidCredentials", "LoginError", "login_cookies", "login_session"]

_CHOOSER_PATH = re.compile(r"/auth$")
_LOGIN_FORM_PATH = re.compile(r"/auth/.*/login$")
_APPROVAL_PATH = re.compile(r"/approval$")
AUTH_TYPES = ("local", "ldap")


class LoginError(RuntimeError):
    """The gateway did not behave like a Kubeflow login flow."""


class InvalidCredentials(LoginError):
    """Dex showed the login form again instead of redirecting: wrong user or password."""


def _expect(response: requests.Response, status: int, what: str) -> None:
    if response.status_code != status:
        raise LoginError(f"expected HTTP {status} for {what} {response.url}, got "
                         f"{response.status_code}: {response.text[:200]!r}")


def _start_url(url: str) -> str:
    """``/oauth2/start?rd=<the path that asked for a login>`` on the same scheme and host."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/oauth2/start",
                       urlencode({"rd": parts.path or "/"}), ""))


def login_session(api_url: str, username: str, password: str, *, auth_type: str = "local",
                  verify: bool | str = True, timeout: float = 30.0,
                  session: requests.Session | None = None) -> requests.Session:
    """Run the login flow; the returned session holds the gateway's cookies (none if the
    endpoint turned out to need no login)."""
    if auth_type not in AUTH_TYPES:
        raise ValueError(f"auth_type must be one of {AUTH_TYPES}, not {auth_type!r}")
    http = session or requests.Session()
    http.verify = verify

    response = http.get(api_url, timeout=timeout)
    if response.status_code == 403:
        response = http.get(_start_url(response.url), timeout=timeout)
    elif response.status_code != 200:
        raise LoginError(f"expected HTTP 200 or 403 for GET {api_url}, got "
                         f"{response.status_code}: {response.text[:200]!r}")
    if not response.history:
        return http  # nothing redirected us anywhere: no login in front of this endpoint

    url = urlsplit(response.url)
    if _CHOOSER_PATH.search(url.path):
        url = url._replace(path=f"{url.path}/{auth_type}")
    if _LOGIN_FORM_PATH.search(url.path):
        form_url = urlunsplit(url)
    else:
        response = http.get(urlunsplit(url), timeout=timeout)
        _expect(response, 200, "GET")
        form_url = response.url

    response = http.post(form_url, data={"login": username, "password": password},
                         timeout=timeout)
    _expect(response, 200, "POST")
    if not response.history:
        raise InvalidCredentials(f"login as {username!r} failed: the login form at {form_url} "
                                 "was shown again (no redirect), so the credentials are "
                                 "probably invalid")
    if _APPROVAL_PATH.search(urlsplit(response.url).path):
        response = http.post(response.url, data={"approval": "approve"}, timeout=timeout)
        _expect(response, 200, "POST")
    return http


def login_cookies(api_url: str, username: str, password: str, *, auth_type: str = "local",
                  verify: bool | str = True, timeout: float = 30.0) -> str:
    """The ``Cookie`` header value after signing in at ``api_url`` (e.g.
    ``http://localhost:8080/pipeline``): pass it as ``kfp.Client(host=api_url, cookies=...)``.
    ``""`` when the endpoint needs no login."""
    http = login_session(api_url, username, password, auth_type=auth_type, verify=verify,
                         timeout=timeout)
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in http.cookies)

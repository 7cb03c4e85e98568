"""Per-identity test contexts and precise denial assertions for the emulator.

In the spirit of Firebase's rules-unit-testing: ask for a client *as* someone (``as_user``,
``as_service_account``, ``as_anonymous``), and assert a denial with :func:`assert_denied`, which
accepts only the real server's 403 PermissionDenied body, never "any error".
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from emulator.core import Emulator, ProfileSpec
from emulator.gateway.oauth2_proxy import COOKIE_NAME as SESSION_COOKIE
from emulator.kube.cluster import EDITOR_SA
from emulator.serving import EmulatorServer

# The standard cast, following the conventions of the isolation bug catalog.
OWNER = "alice@example.com"
OWNER_NAMESPACE = "alice"
CONTRIBUTOR = "carol@example.com"  # edit rights in alice
VIEWER = "victor@example.com"  # view rights in alice
STRANGER = "bob@example.com"  # owns bob, nothing in alice
STRANGER_NAMESPACE = "bob"


def standard_profiles() -> list[ProfileSpec]:
    return [
        ProfileSpec(OWNER_NAMESPACE, OWNER, ((CONTRIBUTOR, "edit"), (VIEWER, "view"))),
        ProfileSpec(STRANGER_NAMESPACE, STRANGER),
    ]


class IdentitySession(requests.Session):
    """A requests session bound to one KFP host and one caller's credentials: relative URLs go
    to the host, and no request waits forever."""

    def __init__(self, base_url: str, headers: dict[str, str], name: str) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.identity = name
        self.headers.update(headers)
        # The environment's proxy and CA settings, read once for the host instead of on every
        # request (requests re-reads every environment variable per request otherwise: a fifth
        # of a short request's time).
        self.proxies.update(requests.utils.get_environ_proxies(self.base_url))
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            self.verify = bundle
        self.trust_env = False

    def request(self, method: str | bytes, url: str | bytes, *args: Any,
                **kwargs: Any) -> requests.Response:
        text = url.decode() if isinstance(url, bytes) else url
        if text.startswith("/"):
            text = self.base_url + text
        kwargs.setdefault("timeout", 30)
        return super().request(method, text, *args, **kwargs)


@dataclass
class KfpTestEnv:
    """A running emulator and the identities a test acts as."""

    emulator: Emulator
    server: EmulatorServer
    # Created on first use (token files) and removed by close().
    _tmp: Path | None = None

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def gateway_url(self) -> str:
        return self.server.gateway_url

    @property
    def kube_url(self) -> str:
        return self.server.kube_url

    @property
    def userid_header(self) -> str:
        return self.emulator.config.userid_header

    def as_user(self, email: str) -> IdentitySession:
        """A caller the gateway authenticated: the identity header carries the email."""
        prefix = self.emulator.config.userid_prefix
        return IdentitySession(self.url, {self.userid_header: prefix + email}, email)

    def as_service_account(self, namespace: str, name: str = EDITOR_SA) -> IdentitySession:
        """An in-cluster caller with a projected ServiceAccount token."""
        token = self.emulator.service_account_token(namespace, name)
        return IdentitySession(self.url, {"Authorization": f"Bearer {token}"},
                               f"system:serviceaccount:{namespace}:{name}")

    def through_gateway(self, email: str) -> IdentitySession:
        """A signed-in browser or ``kfp.Client(cookies=...)`` outside the cluster: relative URLs
        go to the gateway's ``/pipeline``, with the login session's cookie."""
        cookie = self.emulator.login_session(email)
        return IdentitySession(self.gateway_url + "/pipeline",
                               {"Cookie": f"{SESSION_COOKIE}={cookie}"}, email)

    def kubeconfig(self) -> Path:
        """A kubeconfig with the cluster-admin credential (for kubectl or the kubernetes client)."""
        return self.server.write_kubeconfig(self._tmp_dir() / "kubeconfig")

    def as_anonymous(self) -> IdentitySession:
        return IdentitySession(self.url, {}, "anonymous")

    def as_owner(self) -> IdentitySession:
        return self.as_user(OWNER)

    def as_contributor(self) -> IdentitySession:
        return self.as_user(CONTRIBUTOR)

    def as_viewer(self) -> IdentitySession:
        return self.as_user(VIEWER)

    def as_stranger(self) -> IdentitySession:
        return self.as_user(STRANGER)

    def token_file(self, namespace: str, name: str = EDITOR_SA) -> Path:
        """A file holding a fresh SA token, for ``KF_PIPELINES_SA_TOKEN_PATH``."""
        path = self._tmp_dir() / f"{namespace}-{name}.token"
        path.write_text(self.emulator.service_account_token(namespace, name))
        return path

    def _tmp_dir(self) -> Path:
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="kfp-iso-"))
        return self._tmp

    def advance(self, seconds: float) -> int:
        return self.emulator.advance(seconds)

    def reset(self) -> None:
        self.emulator.reset()

    def close(self) -> None:
        """Remove the token files this environment wrote."""
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


@contextmanager
def running_env(emulator: Emulator | None = None) -> Iterator[KfpTestEnv]:
    emulator = emulator or Emulator(profiles=standard_profiles())
    with EmulatorServer(emulator) as server:
        env = KfpTestEnv(emulator, server)
        try:
            yield env
        finally:
            env.close()


def _body(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"expected a JSON error body, got {response.status_code}: "
                             f"{response.text[:300]!r}") from None
    if not isinstance(body, dict):
        raise AssertionError(f"expected a JSON object, got {body!r}")
    return body


def assert_denied(response: requests.Response) -> dict[str, Any]:
    """Exactly the real server's 403: gRPC code 7 with a PermissionDenied detail."""
    body = _body(response)
    assert response.status_code == 403, \
        f"expected 403 PermissionDenied, got {response.status_code}: {body}"
    assert body.get("code") == 7, f"expected gRPC code 7, got {body}"
    detail = (body.get("details") or [{}])[0].get("message", "")
    assert "is not authorized" in detail, f"not a PermissionDenied detail: {body}"
    return body


def assert_unauthenticated(response: requests.Response) -> dict[str, Any]:
    body = _body(response)
    assert response.status_code == 401, f"expected 401, got {response.status_code}: {body}"
    assert body.get("code") == 16, f"expected gRPC code 16, got {body}"
    detail = (body.get("details") or [{}])[0].get("message", "")
    assert detail == ("Failed to check authorization. User identity is empty in the request "
                      "header"), body
    return body


def assert_error(response: requests.Response, status: int, code: int,
                 detail: str | None = None) -> dict[str, Any]:
    body = _body(response)
    assert (response.status_code, body.get("code")) == (status, code), \
        f"expected HTTP {status} / gRPC {code}, got {response.status_code}: {body}"
    if detail is not None:
        got = (body.get("details") or [{}])[0].get("message")
        assert got == detail, f"expected detail {detail!r}, got {got!r}"
    return body

"""Helpers for driving the emulator through the real, unmodified kfp 2.17.3 SDK.

Every client is a plain ``kfp.Client``; identities come from the two ways users really
authenticate it:

* ``credentials=kfp.client.ServiceAccountTokenVolumeCredentials(path=None)`` with
  ``KF_PIPELINES_SA_TOKEN_PATH`` naming a file that holds a projected token the emulator minted
  for a ServiceAccount (the in-cluster notebook case);
* ``~/.config/kfp/context.json`` carrying ``client_authentication_header_name`` /
  ``client_authentication_header_value`` (what a gateway would add as ``kubeflow-userid``).

HOME is always isolated by ``kfp_home``; a header-authenticated user gets a HOME of their own
(their own workstation), so their context.json never leaks into the owner's clients.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kfp
import pytest
from kfp.client.client import Client
from kfp_server_api.exceptions import ApiException

from emulator.kube.cluster import EDITOR_SA
from emulator.testing import OWNER_NAMESPACE, KfpTestEnv

SA_TOKEN_ENV = "KF_PIPELINES_SA_TOKEN_PATH"
PIPELINES_GROUP = "pipelines.kubeflow.org"
UNAUTHENTICATED_DETAIL = ("Failed to check authorization. User identity is empty in the request "
                          "header")
FUTURE_WARNING_FILTER = pytest.mark.filterwarnings(
    "ignore:This client only works with Kubeflow Pipeline:FutureWarning")


def sa_username(namespace: str, name: str = EDITOR_SA) -> str:
    return f"system:serviceaccount:{namespace}:{name}"


# -- clients -----------------------------------------------------------------------------------


@dataclass
class Caller:
    """A kfp.Client plus who the server will see behind it."""

    client: Client
    identity: str  # the SAR user named in a 403 detail
    namespace: str  # the namespace this caller owns
    how: str


class SdkClients:
    """Builds real ``kfp.Client`` instances against the emulator for a given identity."""

    def __init__(self, env: KfpTestEnv, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.env = env
        self.home = home
        self.monkeypatch = monkeypatch

    @property
    def context_file(self) -> Path:
        """The context.json the SDK reads and ``set_user_namespace`` writes in this HOME."""
        return self.home / ".config" / "kfp" / "context.json"

    def service_account(self, namespace: str, sa: str = EDITOR_SA, *,
                        user_namespace: str | None = None) -> Client:
        """An in-cluster style client: SA token file via ``KF_PIPELINES_SA_TOKEN_PATH``.

        The credentials object resolves the env var when built and re-reads the file on every
        request, so clients built one after the other keep their own identities.
        """
        self.monkeypatch.setenv(SA_TOKEN_ENV, str(self.env.token_file(namespace, sa)))
        kwargs: dict[str, Any] = {}
        if user_namespace is not None:
            kwargs["namespace"] = user_namespace
        return kfp.Client(
            host=self.env.url,
            credentials=kfp.client.ServiceAccountTokenVolumeCredentials(path=None),
            **kwargs)

    def header_user(self, email: str, namespace: str) -> Client:
        """A user whose context.json makes the SDK send ``kubeflow-userid: <email>``.

        The context lives in a HOME of the user's own, in effect while the client is built (the
        SDK reads context.json once, in ``Client.__init__``).
        """
        home = self.home.parent / f"home-{email.split('@')[0]}"
        context = home / ".config" / "kfp" / "context.json"
        context.parent.mkdir(parents=True, exist_ok=True)
        context.write_text(json.dumps({
            "namespace": namespace,
            "client_authentication_header_name": self.env.userid_header,
            "client_authentication_header_value": email,
        }))
        with self.monkeypatch.context() as patch:
            patch.setenv("HOME", str(home))
            patch.setattr(Client, "_LOCAL_KFP_CONTEXT", str(context))
            return kfp.Client(host=self.env.url)

    def without_credentials(self, user_namespace: str = OWNER_NAMESPACE) -> Client:
        return kfp.Client(host=self.env.url, namespace=user_namespace)


# -- assertions --------------------------------------------------------------------------------


def error_body(exc: ApiException) -> dict[str, Any]:
    raw = exc.body.decode() if isinstance(exc.body, bytes) else exc.body
    try:
        body = json.loads(raw or "")
    except ValueError:
        raise AssertionError(f"expected a JSON error body, got {exc.status}: {raw!r}") from None
    assert isinstance(body, dict), body
    return body


def assert_sdk_denied(exc: ApiException, identity: str, verb: str, resource: str,
                      namespace: str = OWNER_NAMESPACE) -> dict[str, Any]:
    """Exactly the server's 403 PermissionDenied for this (user, verb, resource, namespace)."""
    body = error_body(exc)
    assert exc.status == 403, f"expected 403, got {exc.status}: {body}"
    assert body.get("code") == 7, f"expected gRPC code 7, got {body}"
    details = body.get("details") or []
    assert details and details[0].get("code") == 7, body
    detail = details[0].get("message", "")
    assert detail.startswith(f"User '{identity}' is not authorized with reason:"), detail
    for attribute in (f"Namespace:{namespace},", f"Verb:{verb},", f"Group:{PIPELINES_GROUP},",
                      f"Resource:{resource},"):
        assert attribute in detail, f"{attribute!r} not in {detail!r}"
    return body


def assert_sdk_error(exc: ApiException, status: int, code: int,
                     detail: str | None = None) -> dict[str, Any]:
    body = error_body(exc)
    assert (exc.status, body.get("code")) == (status, code), \
        f"expected HTTP {status} / gRPC {code}, got {exc.status}: {body}"
    if detail is not None:
        assert (body.get("details") or [{}])[0].get("message") == detail, body
    return body


@contextmanager
def denied(caller: Caller, verb: str, resource: str,
           namespace: str = OWNER_NAMESPACE) -> Iterator[None]:
    """The block must fail with the server's 403 for ``caller`` on (verb, resource, namespace)."""
    with pytest.raises(ApiException) as info:
        yield
    assert_sdk_denied(info.value, caller.identity, verb, resource, namespace)


# -- the owner's objects ---------------------------------------------------------------------


@dataclass
class Workspace:
    """Objects the owner created in ``alice`` through the SDK."""

    experiment_id: str
    pipeline_id: str
    version_id: str


def only_version_id(client: Client, pipeline_id: str) -> str:
    versions = client.list_pipeline_versions(pipeline_id).pipeline_versions
    assert versions and len(versions) == 1, versions
    return str(versions[0].pipeline_version_id)


def run_ids(response: Any) -> set[str]:
    """Run ids in a V2beta1ListRunsResponse (an empty list comes back as ``{}``)."""
    return {r.run_id for r in response.runs or []}

"""Who is calling: the identity header, bearer tokens and their precedence (spec section 2).

Identity comes from the configured header first (its value must start with the configured
prefix), then from ``Authorization: Bearer`` reviewed for the ``pipelines.kubeflow.org``
audience.  Whatever fails, the caller gets the same 401 body, and the status message is echoed
in ``WWW-Authenticate``.
"""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from emulator.config import EmulatorConfig
from emulator.core import Emulator
from emulator.testing import (
    OWNER,
    STRANGER,
    VIEWER,
    KfpTestEnv,
    assert_denied,
    assert_unauthenticated,
    running_env,
    standard_profiles,
)
from tests.support.api import V1, V2, ok

NS = "alice"
HEADER = "kubeflow-userid"
EMPTY_IDENTITY = "Failed to check authorization. User identity is empty in the request header"
NO_HEADER = "Request header error: there is no user identity header."
EDITOR_SA_USER = "system:serviceaccount:alice:default-editor"
VIEWER_SA_USER = "system:serviceaccount:alice:default-viewer"
IAP_HEADER = "x-goog-authenticated-user-email"
IAP_PREFIX = "accounts.google.com:"


def mint(env: KfpTestEnv, **request: Any) -> str:
    """A token from ``POST /_emulator/tokens`` ({"user"} or {"namespace", "service_account"})."""
    body = ok(requests.post(f"{env.url}/_emulator/tokens", json=request))
    token = body["token"]
    assert isinstance(token, str) and token
    return token


def with_headers(env: KfpTestEnv, headers: dict[str, str]) -> requests.Session:
    session = env.as_anonymous()
    session.headers.update(headers)
    return session


def bearer(env: KfpTestEnv, token: str) -> requests.Session:
    return with_headers(env, {"Authorization": f"Bearer {token}"})


def advance(env: KfpTestEnv, seconds: float) -> None:
    ok(requests.post(f"{env.url}/_emulator/clock:advance", json={"seconds": seconds}))


def decisions_since(env: KfpTestEnv, since: int) -> list[dict[str, Any]]:
    body = ok(requests.get(f"{env.url}/_emulator/decisions", params={"since": since}))
    return list(body["decisions"])


def last_seq(env: KfpTestEnv) -> int:
    return env.emulator.cluster.authorizer.last_seq()


def new_experiment(env: KfpTestEnv, name: str = "identity-exp") -> dict[str, Any]:
    return ok(env.as_owner().post(f"{V2}/experiments", json={"display_name": name,
                                                              "namespace": NS}))


def assert_401(response: requests.Response, *causes: str) -> dict[str, Any]:
    """The one 401 body, with each authenticator's failure somewhere in the internal chain."""
    body = assert_unauthenticated(response)
    assert response.headers.get("WWW-Authenticate") == body["message"], response.headers
    assert f"Unauthenticated: {EMPTY_IDENTITY}: " in body["message"], body
    for cause in causes:
        assert cause in body["message"], (cause, body["message"])
    return body


def raw_get(url: str, path: str, headers: list[tuple[str, str]]
            ) -> tuple[int, dict[str, str], dict[str, Any]]:
    """GET with possibly repeated header names, which ``requests`` cannot send."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port,
                                            timeout=10)
    try:
        connection.putrequest("GET", path)
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        payload = json.loads(response.read() or b"{}")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, payload
    finally:
        connection.close()


# ---------------------------------------------------------------------------------------------
# The identity header


def test_identity_header_is_the_caller(kfp_env: KfpTestEnv) -> None:
    exp = new_experiment(kfp_env)
    since = last_seq(kfp_env)
    ok(kfp_env.as_owner().get(f"{V2}/experiments/{exp['experiment_id']}"))
    assert [d["user"] for d in decisions_since(kfp_env, since)] == [OWNER]


def test_header_name_is_case_insensitive(kfp_env: KfpTestEnv) -> None:
    exp = new_experiment(kfp_env)
    session = with_headers(kfp_env, {"KubeFlow-UserID": OWNER})
    ok(session.get(f"{V2}/experiments/{exp['experiment_id']}"))


def test_identity_value_is_case_sensitive(kfp_env: KfpTestEnv) -> None:
    exp = new_experiment(kfp_env)
    ok(kfp_env.as_owner().get(f"{V2}/experiments/{exp['experiment_id']}"))
    body = assert_denied(kfp_env.as_user(OWNER.upper()).get(
        f"{V2}/experiments/{exp['experiment_id']}"))
    assert body["details"][0]["message"].startswith(f"User '{OWNER.upper()}' is not authorized")


@pytest.mark.parametrize("headers", [
    {},
    {HEADER: ""},
    {"Cookie": f"authservice_session=x; {HEADER}={OWNER}"},
    {"X-Forwarded-User": OWNER},
    {"X-Auth-Request-Email": OWNER},
    {IAP_HEADER: IAP_PREFIX + OWNER},
    {"Authorization": f"Basic {base64.b64encode(OWNER.encode()).decode()}"},
], ids=["nothing", "empty-header", "cookie", "x-forwarded-user", "oauth2-proxy-email",
        "iap-header", "basic-auth"])
def test_nothing_else_identifies_a_caller(kfp_env: KfpTestEnv, headers: dict[str, str]) -> None:
    exp = new_experiment(kfp_env)
    path = f"{V2}/experiments/{exp['experiment_id']}"
    ok(kfp_env.as_owner().get(path))
    since = last_seq(kfp_env)
    assert_401(with_headers(kfp_env, headers).get(path))
    assert decisions_since(kfp_env, since) == []


def test_healthz_needs_no_identity(kfp_env: KfpTestEnv) -> None:
    anonymous = kfp_env.as_anonymous()
    assert ok(anonymous.get(f"{V2}/healthz"))["multi_user"] is True
    assert ok(anonymous.get(f"{V1}/healthz"))["multi_user"] is True


def test_duplicate_identity_header_is_unauthenticated(kfp_env: KfpTestEnv) -> None:
    exp = new_experiment(kfp_env)
    path = f"{V2}/experiments/{exp['experiment_id']}"
    status, _, body = raw_get(kfp_env.url, path, [(HEADER, OWNER)])
    assert status == 200, body
    status, headers, body = raw_get(kfp_env.url, path, [(HEADER, OWNER), (HEADER, OWNER)])
    assert status == 401, body
    assert body["code"] == 16 and body["details"][0]["message"] == EMPTY_IDENTITY
    assert (f"Request header error: unexpected number of '{HEADER}' headers. Expect 1 got 2"
            in body["message"]), body
    assert headers["www-authenticate"] == body["message"]


def test_duplicate_header_falls_through_to_the_bearer_token(kfp_env: KfpTestEnv) -> None:
    exp = new_experiment(kfp_env)
    token = mint(kfp_env, user=VIEWER)
    since = last_seq(kfp_env)
    status, _, body = raw_get(kfp_env.url, f"{V2}/experiments/{exp['experiment_id']}", [
        (HEADER, OWNER), (HEADER, STRANGER), ("Authorization", f"Bearer {token}")])
    assert status == 200, body
    assert [d["user"] for d in decisions_since(kfp_env, since)] == [VIEWER]


# ---------------------------------------------------------------------------------------------
# Bearer tokens


def test_user_bearer_token(kfp_env: KfpTestEnv) -> None:
    exp = new_experiment(kfp_env)
    path = f"{V2}/experiments/{exp['experiment_id']}"
    assert_401(kfp_env.as_anonymous().get(path))
    since = last_seq(kfp_env)
    ok(bearer(kfp_env, mint(kfp_env, user=OWNER)).get(path))
    assert [(d["user"], d["allowed"]) for d in decisions_since(kfp_env, since)] == [
        (OWNER, True)]
    # The token's user is subject to RBAC like anyone else.
    body = assert_denied(bearer(kfp_env, mint(kfp_env, user=STRANGER)).get(path))
    assert body["details"][0]["message"].startswith(f"User '{STRANGER}' is not authorized")


def test_service_account_tokens_act_as_the_service_account(kfp_env: KfpTestEnv) -> None:
    editor = bearer(kfp_env, mint(kfp_env, namespace=NS, service_account="default-editor"))
    viewer = bearer(kfp_env, mint(kfp_env, namespace=NS, service_account="default-viewer"))
    since = last_seq(kfp_env)
    exp = ok(editor.post(f"{V2}/experiments", json={"display_name": "by-sa", "namespace": NS}))
    assert [d["user"] for d in decisions_since(kfp_env, since)] == [EDITOR_SA_USER]
    ok(viewer.get(f"{V2}/experiments/{exp['experiment_id']}"))
    body = assert_denied(viewer.post(f"{V2}/experiments", json={"display_name": "by-viewer",
                                                                 "namespace": NS}))
    assert body["details"][0]["message"].startswith(f"User '{VIEWER_SA_USER}' is not authorized")
    # The editor SA of alice is a stranger in bob.
    assert_denied(editor.get(f"{V2}/experiments", params={"namespace": "bob"}))


def test_header_wins_over_an_invalid_bearer_token(kfp_env: KfpTestEnv) -> None:
    exp = new_experiment(kfp_env)
    path = f"{V2}/experiments/{exp['experiment_id']}"
    assert_401(with_headers(kfp_env, {"Authorization": "Bearer garbage"}).get(path))
    ok(with_headers(kfp_env, {HEADER: OWNER, "Authorization": "Bearer garbage"}).get(path))


def test_header_wins_over_a_valid_bearer_token(kfp_env: KfpTestEnv) -> None:
    exp = new_experiment(kfp_env)
    path = f"{V2}/experiments/{exp['experiment_id']}"
    owner_token = mint(kfp_env, user=OWNER)
    control = new_experiment(kfp_env, "control")
    ok(bearer(kfp_env, owner_token).delete(f"{V2}/experiments/{control['experiment_id']}"))
    session = with_headers(kfp_env, {HEADER: VIEWER, "Authorization": f"Bearer {owner_token}"})
    since = last_seq(kfp_env)
    assert_denied(session.delete(path))
    assert [(d["user"], d["allowed"]) for d in decisions_since(kfp_env, since)] == [
        (VIEWER, False)]
    ok(kfp_env.as_owner().get(path))


def test_expired_token_is_unauthenticated(kfp_env: KfpTestEnv) -> None:
    exp = new_experiment(kfp_env)
    path = f"{V2}/experiments/{exp['experiment_id']}"
    session = bearer(kfp_env, mint(kfp_env, user=OWNER, ttl_seconds=5))
    ok(session.get(path))
    advance(kfp_env, 4)
    ok(session.get(path))
    # Kubernetes' validator tolerates 60 s of clock skew past the expiry (go-jose leeway).
    advance(kfp_env, 60)
    ok(session.get(path))
    advance(kfp_env, 2)
    assert_401(session.get(path), "Review.Status.Authenticated is false. Error ")
    ok(bearer(kfp_env, mint(kfp_env, user=OWNER, ttl_seconds=5)).get(path))


def test_token_for_another_audience_is_unauthenticated(kfp_env: KfpTestEnv) -> None:
    exp = new_experiment(kfp_env)
    path = f"{V2}/experiments/{exp['experiment_id']}"
    ok(bearer(kfp_env, mint(kfp_env, user=OWNER, audiences=["pipelines.kubeflow.org",
                                                            "other"])).get(path))
    since = last_seq(kfp_env)
    assert_401(bearer(kfp_env, mint(kfp_env, user=OWNER, audiences=["other"])).get(path))
    assert_401(bearer(kfp_env, mint(kfp_env, namespace=NS, service_account="default-editor",
                                    audiences=["https://kubernetes.default.svc"])).get(path))
    assert decisions_since(kfp_env, since) == []


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def forged_variants(token: str) -> dict[str, str]:
    """Tampered copies of a genuine bob token that try to claim alice's identity."""
    header, payload, signature = token.split(".")
    claims = json.loads(_unb64(payload))
    claims["sub"] = OWNER
    swapped = _b64(json.dumps(claims).encode())
    none_header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return {
        "swapped-subject": f"{header}.{swapped}.{signature}",
        "alg-none": f"{none_header}.{swapped}.",
        "unsigned": f"{header}.{swapped}",
        "truncated-signature": f"{header}.{payload}.{signature[:-4]}",
        "garbage": "not-a-token",
        "empty": "",
    }


@pytest.mark.parametrize("variant", ["swapped-subject", "alg-none", "unsigned",
                                     "truncated-signature", "garbage", "empty"])
def test_forged_or_garbage_tokens_are_unauthenticated(kfp_env: KfpTestEnv,
                                                      variant: str) -> None:
    exp = new_experiment(kfp_env)
    path = f"{V2}/experiments/{exp['experiment_id']}"
    genuine = mint(kfp_env, user=STRANGER)
    assert_denied(bearer(kfp_env, genuine).get(path))  # genuine: authenticated as bob
    since = last_seq(kfp_env)
    assert_401(bearer(kfp_env, forged_variants(genuine)[variant]).get(path))
    assert decisions_since(kfp_env, since) == []


@pytest.mark.parametrize("authorization", ["bearer {t}", "Bearer  {t}", "Token {t}", "{t}"],
                         ids=["lower-case-scheme", "two-spaces", "token-scheme", "no-scheme"])
def test_bearer_scheme_must_be_exact(kfp_env: KfpTestEnv, authorization: str) -> None:
    exp = new_experiment(kfp_env)
    path = f"{V2}/experiments/{exp['experiment_id']}"
    token = mint(kfp_env, user=OWNER)
    ok(with_headers(kfp_env, {"Authorization": f"Bearer {token}"}).get(path))
    assert_401(with_headers(kfp_env, {"Authorization": authorization.format(t=token)}).get(path))


def test_token_of_a_deleted_service_account_is_unauthenticated(kfp_env: KfpTestEnv) -> None:
    exp = new_experiment(kfp_env)
    path = f"{V2}/experiments/{exp['experiment_id']}"
    session = bearer(kfp_env, mint(kfp_env, namespace=NS, service_account="default-editor"))
    ok(session.get(path))
    with kfp_env.emulator.kfp.state.lock:
        kfp_env.emulator.cluster.delete_service_account(NS, "default-editor")
    since = last_seq(kfp_env)
    assert_401(session.get(path), "Review.Status.Authenticated is false. Error ")
    assert decisions_since(kfp_env, since) == []
    # Other service accounts of the namespace are unaffected.
    ok(bearer(kfp_env, mint(kfp_env, namespace=NS, service_account="default-viewer")).get(path))
    # And no new token can be requested for the deleted account.
    response = requests.post(f"{kfp_env.url}/_emulator/tokens",
                             json={"namespace": NS, "service_account": "default-editor"})
    assert response.status_code == 404, response.text


def test_unauthenticated_body_for_a_rejected_token(kfp_env: KfpTestEnv) -> None:
    exp = new_experiment(kfp_env)
    response = bearer(kfp_env, "garbage").get(f"{V2}/experiments/{exp['experiment_id']}")
    body = assert_401(response, f"Unauthenticated: {NO_HEADER}",
                      "Unauthenticated: Review.Status.Authenticated is false. Error ")
    assert body["message"].startswith("Failed to fetch experiment: Failed to authorize the "
                                      "request: Failed to authorize with API: Unauthenticated: ")
    assert body["details"] == [{"@type": "type.googleapis.com/google.rpc.Status", "code": 16,
                                "message": EMPTY_IDENTITY}]


# ---------------------------------------------------------------------------------------------
# A deployment with the Go defaults: IAP header and the accounts.google.com: prefix


@pytest.fixture(scope="module")
def prefixed_env() -> Iterator[KfpTestEnv]:
    emulator = Emulator(EmulatorConfig(userid_prefix=IAP_PREFIX), profiles=standard_profiles())
    with running_env(emulator) as env:
        yield env


@pytest.fixture(scope="module")
def iap_env() -> Iterator[KfpTestEnv]:
    config = EmulatorConfig(userid_header=IAP_HEADER, userid_prefix=IAP_PREFIX)
    with running_env(Emulator(config, profiles=standard_profiles())) as env:
        yield env


def test_prefix_is_required_and_stripped(prefixed_env: KfpTestEnv) -> None:
    prefixed_env.reset()
    owner = with_headers(prefixed_env, {HEADER: IAP_PREFIX + OWNER})
    exp = ok(owner.post(f"{V2}/experiments", json={"display_name": "p", "namespace": NS}))
    path = f"{V2}/experiments/{exp['experiment_id']}"
    since = last_seq(prefixed_env)
    ok(owner.get(path))
    assert [d["user"] for d in decisions_since(prefixed_env, since)] == [OWNER]
    assert_401(with_headers(prefixed_env, {HEADER: OWNER}).get(path),
               f"Header '{HEADER}' is incorrectly formatted. Expected prefix '{IAP_PREFIX}'")
    assert_401(with_headers(prefixed_env, {HEADER: "ACCOUNTS.GOOGLE.COM:" + OWNER}).get(path))
    # The test helper applies the configured prefix itself.
    ok(prefixed_env.as_owner().get(path))
    # A bearer token is unaffected by the header prefix.
    ok(bearer(prefixed_env, mint(prefixed_env, user=OWNER)).get(path))


def test_configured_header_name_replaces_kubeflow_userid(iap_env: KfpTestEnv) -> None:
    iap_env.reset()
    owner = with_headers(iap_env, {IAP_HEADER: IAP_PREFIX + OWNER})
    exp = ok(owner.post(f"{V2}/experiments", json={"display_name": "iap", "namespace": NS}))
    path = f"{V2}/experiments/{exp['experiment_id']}"
    ok(owner.get(path))
    assert_401(with_headers(iap_env, {HEADER: OWNER}).get(path))
    assert_401(with_headers(iap_env, {HEADER: IAP_PREFIX + OWNER}).get(path))
    assert_401(with_headers(iap_env, {IAP_HEADER: OWNER}).get(path),
               f"Header '{IAP_HEADER}' is incorrectly formatted. Expected prefix "
               f"'{IAP_PREFIX}'")


def test_the_decision_log_reads_what_is_new_and_says_its_last_number(
        kfp_env: KfpTestEnv) -> None:
    start = last_seq(kfp_env)
    ok(kfp_env.as_owner().get(f"{V2}/experiments", params={"namespace": NS}))
    ok(kfp_env.as_owner().get(f"{V2}/runs", params={"namespace": NS}))
    new = decisions_since(kfp_env, start)
    assert [d["seq"] for d in new] == list(range(start + 1, start + 1 + len(new)))
    assert [(d["verb"], d["resource"]) for d in new][-2:] == [("list", "experiments"),
                                                               ("list", "runs")]
    only_last = ok(requests.get(f"{kfp_env.url}/_emulator/decisions",
                                params={"since": start, "limit": 0}))
    assert only_last == {"decisions": [], "last": new[-1]["seq"]}
    first = ok(requests.get(f"{kfp_env.url}/_emulator/decisions",
                            params={"since": start, "limit": 1}))
    assert first["decisions"] == new[:1]
    for bad in ({"limit": -1}, {"limit": "x"}, {"since": "y"}):
        assert requests.get(f"{kfp_env.url}/_emulator/decisions", params=bad,
                            timeout=5).status_code == 400

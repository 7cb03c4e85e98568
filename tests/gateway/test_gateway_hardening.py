"""The gateway and KFAM against hostile input: KFAM closed to everyone but the dashboard
(ISO-024), oauth2-proxy's redirect validation and callback order, malformed JWT claims, path
tricks, duplicated identity headers (docs/upstream/kubeflow-platform.md 1.7, 3.1, 3.6, 5)."""

from __future__ import annotations

import http.client
import logging
import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
import requests

from emulator.core import DEFAULT_PASSWORD
from emulator.gateway import oauth2_proxy
from emulator.gateway.config import GatewayConfig
from emulator.testing import (
    CONTRIBUTOR,
    OWNER,
    OWNER_NAMESPACE,
    STRANGER,
    VIEWER,
    assert_denied,
)
from tests.gateway.conftest import (
    NEWCOMER,
    USERID,
    V2,
    Gateway,
    encode_part,
    jwt_part,
)

RBAC = "RBAC: access denied"
CSRF_FAILED = "Login Failed: Unable to find a valid CSRF token. Please try again."
STRANGER_BINDING = "user-bob-example-com-clusterrole-edit"


def binding_of(user: str, namespace: str) -> dict[str, Any]:
    return {"user": {"kind": "User", "name": user}, "referredNamespace": namespace,
            "RoleRef": {"kind": "ClusterRole", "name": "edit"}}


def has_binding(gw: Gateway, namespace: str, name: str) -> bool:
    with gw.emulator.kfp.state.lock:
        return name in gw.emulator.cluster.rbac.bindings.get(namespace, {})


def raw_request(base: str, method: str, path: str, headers: list[tuple[str, str]],
                body: bytes = b"") -> tuple[int, dict[str, str], str]:
    """A request sent exactly as written: no path normalization, headers repeated as given."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return (response.status, {k.lower(): v for k, v in response.getheaders()},
                response.read().decode("utf-8", "replace"))
    finally:
        connection.close()


def cookie_header(gw: Gateway, email: str) -> tuple[str, str]:
    return ("Cookie", gw.cookie(email))


# -- KFAM is closed to everyone but the dashboard (ISO-024) ------------------------------------


def test_kfam_is_closed_by_default_even_with_a_forged_header(gw: Gateway) -> None:
    assert gw.emulator.expose_kfam is False
    alice = gw.signed_in(OWNER)
    added = alice.post(f"{gw.url}/api/workgroup/add-contributor/{OWNER_NAMESPACE}",
                       json={"contributor": NEWCOMER})
    assert (added.status_code, added.json()) == (200, [CONTRIBUTOR, NEWCOMER])  # control

    forged = requests.post(f"{gw.direct_url}/kfam/v1/bindings", headers={USERID: OWNER},
                           json=binding_of(STRANGER, OWNER_NAMESPACE))
    assert (forged.status_code, forged.text) == (403, RBAC)
    assert forged.headers["content-type"] == "text/plain"
    assert not has_binding(gw, OWNER_NAMESPACE, STRANGER_BINDING)
    assert_denied(requests.get(f"{gw.direct_url}{V2}/experiments",
                               params={"namespace": OWNER_NAMESPACE},
                               headers={USERID: STRANGER}))

    for method, path in (("GET", "/kfam"), ("GET", "/kfam/"), ("GET", "/kfam/v1/bindings"),
                         ("GET", "/kfam/v1/role/clusteradmin?user=x"),
                         ("POST", "/kfam/v1/profiles"), ("DELETE", "/kfam/v1/bindings"),
                         ("DELETE", f"/kfam/v1/profiles/{OWNER_NAMESPACE}"),
                         ("GET", "/kfam/no-such-route")):
        response = requests.request(method, gw.direct_url + path, headers={USERID: OWNER})
        assert (response.status_code, response.text) == (403, RBAC), (method, path)
    with gw.emulator.kfp.state.lock:
        assert OWNER_NAMESPACE in gw.emulator.cluster.profiles
    gw.emulator.reset()
    assert gw.emulator.expose_kfam is False  # a constructor setting, kept by reset


# -- oauth2-proxy's redirect validation ----------------------------------------------------------

BAD_REDIRECTS = ["https://evil.example.com", "//evil.example.com", "/\\evil.example.com",
                 "/\t/evil.example.com", "\r\n/evil", "/ok\r\nSet-Cookie: x=1", "/a/../b",
                 "/a/./b", "evil", "/\x7f/x"]


def start_state(gw: Gateway, raw_query: str) -> tuple[requests.Response, str]:
    response = requests.get(f"{gw.url}/oauth2/start?{raw_query}", allow_redirects=False)
    assert response.status_code == 302
    state = parse_qs(urlsplit(response.headers["location"]).query)["state"][0]
    return response, state.partition(":")[2]


def test_start_keeps_a_valid_rd_and_replaces_others_with_slash(gw: Gateway) -> None:
    assert start_state(gw, urlencode({"rd": "/pipeline/#/runs?x=1"}))[1] == "/pipeline/#/runs?x=1"
    for rd in BAD_REDIRECTS:
        assert start_state(gw, urlencode({"rd": rd}))[1] == "/", rd
    # Sent raw: %09 is a tab between two slashes.
    assert start_state(gw, "rd=/%09/evil")[1] == "/"


def test_sign_out_redirect_is_validated(gw: Gateway) -> None:
    ok = requests.get(f"{gw.url}/oauth2/sign_out", params={"rd": "/pipeline"},
                      allow_redirects=False)
    assert (ok.status_code, ok.headers["location"]) == (302, "/pipeline")  # control
    for rd in BAD_REDIRECTS:
        response = requests.get(f"{gw.url}/oauth2/sign_out", params={"rd": rd},
                                allow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (302, "/"), rd
    # Non-ASCII is percent-encoded (Go's http.Redirect), never a failure.
    accented = requests.get(f"{gw.url}/oauth2/sign_out", params={"rd": "/pipeline/ü中"},
                            allow_redirects=False)
    assert accented.headers["location"] == "/pipeline/%C3%BC%E4%B8%AD"


def until_callback(gw: Gateway, rd: str = "/pipeline") -> tuple[requests.Session, str]:
    """Run the login flow up to Dex's redirect; the callback URL is returned, not visited."""
    browser = requests.Session()
    form = browser.get(f"{gw.url}/oauth2/start", params={"rd": rd})
    assert form.status_code == 200
    submitted = browser.post(form.url, data={"login": OWNER, "password": DEFAULT_PASSWORD},
                             allow_redirects=False)
    assert submitted.status_code == 303
    return browser, urljoin(form.url, submitted.headers["location"])


def with_state(callback: str, state: str) -> str:
    parts = urlsplit(callback)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query["state"] = state
    return parts._replace(query=urlencode(query)).geturl()


def test_callback_validates_the_redirect_in_the_state(gw: Gateway) -> None:
    browser, callback = until_callback(gw, "/pipeline/x")
    ok = browser.get(callback, allow_redirects=False)
    assert (ok.status_code, ok.headers["location"]) == (302, "/pipeline/x")  # control
    for rd in BAD_REDIRECTS:
        browser, callback = until_callback(gw)
        nonce = parse_qs(urlsplit(callback).query)["state"][0].partition(":")[0]
        response = browser.get(with_state(callback, f"{nonce}:{rd}"), allow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (302, "/"), rd
        assert "oauth2_proxy_kubeflow=" in response.headers["set-cookie"]


def test_a_replayed_code_is_refused_and_opens_no_session(gw: Gateway) -> None:
    browser, callback = until_callback(gw)
    first = browser.get(callback, allow_redirects=False)
    assert first.status_code == 302  # control: the code works once
    replay = requests.Session()
    replay.cookies.set(oauth2_proxy.CSRF_COOKIE_NAME,
                       parse_qs(urlsplit(callback).query)["state"][0].partition(":")[0])
    again = replay.get(callback, allow_redirects=False)
    assert again.status_code == 500
    assert "set-cookie" not in again.headers
    assert oauth2_proxy.COOKIE_NAME not in replay.cookies


def test_a_nonce_mismatch_is_403_and_clears_the_csrf_cookie(gw: Gateway) -> None:
    browser, callback = until_callback(gw)
    mismatched = with_state(callback, "another-nonce:/pipeline")
    response = browser.get(mismatched, allow_redirects=False)
    assert response.status_code == 403
    assert CSRF_FAILED in response.text
    assert response.headers["set-cookie"] == (
        "oauth2_proxy_kubeflow_csrf=; Path=/; Max-Age=0; HttpOnly")
    assert oauth2_proxy.COOKIE_NAME not in browser.cookies
    # The code was redeemed (used up) before the nonce check, as upstream does.
    browser.cookies.set(oauth2_proxy.CSRF_COOKIE_NAME, "another-nonce")
    assert browser.get(mismatched, allow_redirects=False).status_code == 500


def test_callback_checks_in_upstream_order(gw: Gateway) -> None:
    browser, callback = until_callback(gw)
    error = browser.get(callback + "&error=access_denied", allow_redirects=False)
    assert error.status_code == 403
    assert "The upstream identity provider returned an error: access_denied" in error.text
    no_colon = browser.get(with_state(callback, "no-colon"), allow_redirects=False)
    assert no_colon.status_code == 500
    no_cookie = requests.get(callback, allow_redirects=False)
    assert (no_cookie.status_code, CSRF_FAILED in no_cookie.text) == (403, True)
    # None of these used the code up.
    assert browser.get(callback, allow_redirects=False).status_code == 302


# -- JWT claims of the wrong type ----------------------------------------------------------------


@pytest.mark.parametrize(("claims", "message"), [
    ({"exp": "soon"}, "Jwt payload [exp] field is not an integer"),
    ({"exp": True}, "Jwt payload [exp] field is not an integer"),
    ({"exp": -5}, "Jwt payload [exp] field is not a positive 64 bit integer"),
    ({"nbf": [1]}, "Jwt payload [nbf] field is not an integer"),
    ({"iat": None}, "Jwt payload [iat] field is not an integer"),
    ({"aud": 5}, "Jwt payload [aud] field is not a string or string list"),
    ({"aud": True}, "Jwt payload [aud] field is not a string or string list"),
    ({"aud": ["ok", 1]}, "Jwt payload [aud] field is not a string or string list"),
    ({"sub": 42}, "Jwt payload [sub] field is not a string"),
    ({"iss": 1}, "Jwt payload [iss] field is not a string"),
    ({"jti": {}}, "Jwt payload [jti] field is not a string"),
])
@pytest.mark.parametrize("audiences", [(), ("pipelines.kubeflow.org",)])
def test_malformed_claims_are_envoy_401s(gw: Gateway, monkeypatch: pytest.MonkeyPatch,
                                         claims: dict[str, Any], message: str,
                                         audiences: tuple[str, ...]) -> None:
    monkeypatch.setattr(gw.emulator, "gateway_config", GatewayConfig(audiences=audiences))
    token = gw.emulator.user_token(OWNER, audiences=["pipelines.kubeflow.org"])
    url = f"{gw.pipeline_url}{V2}/experiments"
    params = {"namespace": OWNER_NAMESPACE}
    assert requests.get(url, params=params, headers=gw.bearer(token)).status_code == 200
    header, payload, signature = token.split(".")
    bad = ".".join((header, encode_part({**jwt_part(payload), **claims}), signature))
    response = requests.get(url, params=params, headers=gw.bearer(bad))
    assert (response.status_code, response.text) == (401, message)
    assert response.headers["content-type"] == "text/plain"
    assert response.headers["www-authenticate"].endswith(', error="invalid_token"')


def test_a_gateway_bug_is_logged_and_a_plain_500(gw: Gateway, monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    assert requests.get(f"{gw.url}/oauth2/userinfo").status_code == 401  # control

    async def broken(request: Any, emulator: Any) -> Any:
        raise RuntimeError("planted gateway bug")

    monkeypatch.setitem(oauth2_proxy.ROUTES, "/oauth2/userinfo", broken)
    with caplog.at_level(logging.ERROR, logger="kfp_isolation.gateway"):
        response = requests.get(f"{gw.url}/oauth2/userinfo")
    assert (response.status_code, response.text) == (500, "Internal Server Error")
    assert response.headers["content-type"].startswith("text/plain")
    logged = [r for r in caplog.records if r.name == "kfp_isolation.gateway"]
    assert logged and "planted gateway bug" in logged[0].getMessage()


# -- path tricks never reach the direct app's controls or KFAM ------------------------------------

CONTROL_PATHS = [
    "/_emulator/reset",
    "/pipeline/_emulator/reset",
    "/pipeline/apis/v2beta1/../../_emulator/reset",
    "/pipeline/apis/v2beta1/..%2F..%2F_emulator/reset",
    "/pipeline/apis%2F..%2F_emulator/reset",
    "/pipeline/apis/v2beta1/%2E%2E/%2E%2E/_emulator/reset",
    "/pipeline/apis/../_emulator/reset",
    "/pipeline/apis/v2beta1/%2F_emulator/reset",
    "//_emulator/reset",
    "/pipeline//apis/../../_emulator/reset",
]


def test_path_tricks_do_not_reach_the_emulator_controls(gw: Gateway) -> None:
    alice = cookie_header(gw, OWNER)
    status, _, body = raw_request(gw.url, "POST", f"/pipeline{V2}/experiments",
                                  [alice, ("Content-Type", "application/json")],
                                  b'{"display_name":"keep-me","namespace":"alice"}')
    assert status == 200, body  # control: the session works through the gateway
    direct = requests.get(f"{gw.direct_url}/_emulator/state")
    assert direct.status_code == 200 and "keep-me" in direct.text  # control: controls exist
    for path in CONTROL_PATHS:
        status, _, body = raw_request(gw.url, "POST", path, [alice])
        assert status != 200 or "keep-me" not in body, path
        state_path = path.replace("reset", "state")
        status, _, body = raw_request(gw.url, "GET", state_path, [alice])
        assert "keep-me" not in body, state_path
    listed = requests.get(f"{gw.direct_url}{V2}/experiments",
                          params={"namespace": OWNER_NAMESPACE}, headers={USERID: OWNER})
    assert [e["display_name"] for e in listed.json()["experiments"]] == ["keep-me"]


def test_path_tricks_do_not_reach_kfam(gw: Gateway) -> None:
    bob = cookie_header(gw, STRANGER)
    body = (b'{"user":{"kind":"User","name":"bob@example.com"},"referredNamespace":"alice",'
            b'"RoleRef":{"kind":"ClusterRole","name":"edit"}}')
    headers = [bob, (USERID, OWNER), ("Content-Type", "application/json")]
    for path in ("/kfam/v1/bindings", "//kfam/v1/bindings", "/kfam%2Fv1%2Fbindings",
                 "/pipeline/../kfam/v1/bindings", "/pipeline/apis/../../kfam/v1/bindings",
                 "/pipeline/apis/v2beta1/..%2F..%2F..%2Fkfam/v1/bindings",
                 "/api/../kfam/v1/bindings"):
        status, _, text = raw_request(gw.url, "POST", path, headers, body)
        assert status in (403, 404), (path, status, text)
        assert not has_binding(gw, OWNER_NAMESPACE, STRANGER_BINDING), path
    status, _, text = raw_request(gw.url, "POST", "/pipeline/apis/../../kfam/v1/bindings",
                                  headers, body)
    assert (status, text) == (403, RBAC)  # normalized to /kfam/..., then Istio's policy


# -- identity headers sent by the client are always replaced ------------------------------------


def test_duplicated_and_mixed_case_identity_headers_are_replaced(gw: Gateway) -> None:
    path = f"/pipeline{V2}/experiments?namespace={OWNER_NAMESPACE}"
    status, _, _ = raw_request(gw.url, "GET", path, [cookie_header(gw, OWNER)])
    assert status == 200  # control: alice's own session
    forged = [cookie_header(gw, STRANGER), (USERID, OWNER), (USERID, OWNER),
              ("Kubeflow-Userid", OWNER), ("KUBEFLOW-USERID", OWNER),
              ("kubeflow-groups", "system:masters"), ("Kubeflow-Groups", "system:masters")]
    status, headers, text = raw_request(gw.url, "GET", path, forged)
    assert status == 403, text
    assert re.search(rf"User '{re.escape(STRANGER)}' is not authorized", text), text
    assert headers["content-type"].startswith("application/json")
    token = gw.emulator.user_token(STRANGER)
    status, _, text = raw_request(gw.url, "GET", path,
                                  [("Authorization", f"Bearer {token}"), (USERID, OWNER),
                                   ("KubeFlow-UserID", OWNER)])
    assert status == 403 and STRANGER in text


def test_only_the_owner_removes_a_contributor_via_the_dashboard(gw: Gateway) -> None:
    url = f"{gw.url}/api/workgroup/remove-contributor/{OWNER_NAMESPACE}"
    added = gw.signed_in(OWNER).post(
        f"{gw.url}/api/workgroup/add-contributor/{OWNER_NAMESPACE}", json={"contributor": NEWCOMER})
    assert added.status_code == 200
    for email in (STRANGER, CONTRIBUTOR, VIEWER):
        response = gw.signed_in(email).delete(url, json={"contributor": NEWCOMER})
        assert response.status_code == 403, email
        assert response.json() == {
            "error": f"Unable to add new contributor for {OWNER_NAMESPACE}. HTTP 403 - Forbidden"}
    kept = gw.signed_in(OWNER).get(f"{gw.url}/api/workgroup/get-contributors/{OWNER_NAMESPACE}")
    assert kept.json() == [CONTRIBUTOR, NEWCOMER]
    removed = gw.signed_in(OWNER).delete(url, json={"contributor": NEWCOMER})
    assert (removed.status_code, removed.json()) == (200, [CONTRIBUTOR])  # the owner may

"""Who the gateway says the caller is: login sessions, bearer tokens (Envoy jwt_authn), and the
identity header it always overwrites (docs/upstream/kubeflow-platform.md 3.3-3.6, 5)."""

from __future__ import annotations

import pytest
import requests

from emulator.gateway.config import GatewayConfig
from emulator.kube.tokens import API_AUDIENCE
from emulator.testing import (
    OWNER,
    OWNER_NAMESPACE,
    STRANGER,
    STRANGER_NAMESPACE,
    assert_denied,
)
from tests.gateway.conftest import USERID, V2, Gateway, encode_part, experiment_body, jwt_part

SA_ALICE = "system:serviceaccount:alice:default-editor"


def experiments(base: str, namespace: str, **kwargs: object) -> requests.Response:
    return requests.get(f"{base}{V2}/experiments", params={"namespace": namespace},
                        **kwargs)  # type: ignore[arg-type]


def assert_envoy(response: requests.Response, status: int, body: str) -> None:
    assert (response.status_code, response.text) == (status, body)
    assert response.headers["content-type"] == "text/plain"


# -- the identity header: the gateway's, never the client's --------------------------------------


def test_a_forged_header_with_a_session_is_ignored(gw: Gateway) -> None:
    alice = gw.signed_in(OWNER)
    assert alice.get(f"{gw.pipeline_url}{V2}/experiments",
                     params={"namespace": OWNER_NAMESPACE}).status_code == 200  # control
    bob = gw.signed_in(STRANGER)
    assert bob.get(f"{gw.pipeline_url}{V2}/experiments",
                   params={"namespace": STRANGER_NAMESPACE}).status_code == 200  # control
    forged = bob.get(f"{gw.pipeline_url}{V2}/experiments", params={"namespace": OWNER_NAMESPACE},
                     headers={USERID: OWNER, "kubeflow-groups": "system:masters"})
    body = assert_denied(forged)
    assert body["details"][0]["message"].startswith(f"User '{STRANGER}' is not authorized")


def test_a_forged_header_without_a_session_is_unauthenticated_at_the_gateway(
        gw: Gateway) -> None:
    assert experiments(gw.pipeline_url, OWNER_NAMESPACE,
                       cookies=gw.signed_in(OWNER).cookies).status_code == 200  # control
    response = experiments(gw.pipeline_url, OWNER_NAMESPACE, headers={USERID: OWNER})
    assert (response.status_code, response.text) == (401, "{}")
    created = requests.post(f"{gw.pipeline_url}{V2}/experiments", headers={USERID: OWNER},
                            json=experiment_body("forged", OWNER_NAMESPACE))
    assert (created.status_code, created.text) == (401, "{}")


def test_the_direct_endpoint_trusts_a_forged_header(gw: Gateway) -> None:
    """The real ml-pipeline:8888 trusts ``kubeflow-userid`` from anyone who can reach it (spec
    2.2; catalogued as ISO-023 in isolation-bugs.md).  The emulator reproduces that on its direct
    listener; only the gateway (and, in a real mesh, Istio's policies) stand in front of it."""
    response = experiments(gw.direct_url, OWNER_NAMESPACE, headers={USERID: OWNER})
    assert response.status_code == 200, response.text
    created = requests.post(f"{gw.direct_url}{V2}/experiments", headers={USERID: OWNER},
                            json=experiment_body("forged-direct", OWNER_NAMESPACE))
    assert created.status_code == 200, created.text


# -- bearer tokens through jwt_authn -------------------------------------------------------------


def test_a_service_account_token_of_any_audience_works_in_its_namespace_only(
        gw: Gateway) -> None:
    token = gw.emulator.service_account_token(OWNER_NAMESPACE, audiences=[API_AUDIENCE])
    headers = gw.bearer(token)
    created = requests.post(f"{gw.pipeline_url}{V2}/experiments", headers=headers,
                            json=experiment_body("from-sa", OWNER_NAMESPACE))
    assert created.status_code == 200, created.text
    assert experiments(gw.pipeline_url, OWNER_NAMESPACE, headers=headers).status_code == 200

    body = assert_denied(experiments(gw.pipeline_url, STRANGER_NAMESPACE, headers=headers))
    assert body["details"][0]["message"].startswith(f"User '{SA_ALICE}' is not authorized")
    # A forged header next to the token changes nothing: the token's sub wins.
    forged = experiments(gw.pipeline_url, STRANGER_NAMESPACE,
                         headers={**headers, USERID: STRANGER})
    assert assert_denied(forged)["details"][0]["message"].startswith(f"User '{SA_ALICE}'")


def test_an_expired_token_is_refused_after_envoys_clock_skew(gw: Gateway) -> None:
    token = gw.emulator.user_token(OWNER, ttl_seconds=600)
    headers = gw.bearer(token)
    assert experiments(gw.pipeline_url, OWNER_NAMESPACE, headers=headers).status_code == 200
    gw.emulator.advance(600 + 60)  # exp + 60 s of clock skew: still accepted
    assert experiments(gw.pipeline_url, OWNER_NAMESPACE, headers=headers).status_code == 200
    gw.emulator.advance(1)
    response = experiments(gw.pipeline_url, OWNER_NAMESPACE, headers=headers)
    assert_envoy(response, 401, "Jwt is expired")
    url = f"{gw.pipeline_url}{V2}/experiments?namespace={OWNER_NAMESPACE}"
    assert response.headers["www-authenticate"] == f'Bearer realm="{url}", error="invalid_token"'


def test_a_tampered_token_fails_verification(gw: Gateway) -> None:
    token = gw.emulator.user_token(STRANGER)
    assert experiments(gw.pipeline_url, STRANGER_NAMESPACE,
                       headers=gw.bearer(token)).status_code == 200  # control
    header, payload, signature = token.split(".")
    claims = jwt_part(payload)
    claims["sub"] = OWNER
    forged = ".".join((header, encode_part(claims), signature))
    response = experiments(gw.pipeline_url, OWNER_NAMESPACE, headers=gw.bearer(forged))
    assert_envoy(response, 401, "Jwt verification fails")
    assert response.headers["www-authenticate"].endswith(', error="invalid_token"')


def test_malformed_tokens_and_unknown_issuers(gw: Gateway) -> None:
    token = gw.emulator.user_token(OWNER)
    assert experiments(gw.pipeline_url, OWNER_NAMESPACE,
                       headers=gw.bearer(token)).status_code == 200  # control
    assert_envoy(experiments(gw.pipeline_url, OWNER_NAMESPACE, headers=gw.bearer("abc.def")),
                 401, "Jwt is not in the form of Header.Payload.Signature")
    header, payload, signature = token.split(".")
    claims = jwt_part(payload)
    claims["iss"] = "https://issuer.example.com"
    other = ".".join((header, encode_part(claims), signature))
    assert_envoy(experiments(gw.pipeline_url, OWNER_NAMESPACE, headers=gw.bearer(other)),
                 401, "Jwt issuer is not configured")
    broken = ".".join(("%%%", payload, signature))
    assert_envoy(experiments(gw.pipeline_url, OWNER_NAMESPACE, headers=gw.bearer(broken)),
                 401, "Jwt header is an invalid Base64url input or an invalid JSON")


def test_configured_audiences_refuse_other_tokens_with_403(
        gw: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gw.emulator, "gateway_config",
                        GatewayConfig(audiences=("pipelines.kubeflow.org",)))
    good = gw.emulator.user_token(OWNER, audiences=["pipelines.kubeflow.org"])
    assert experiments(gw.pipeline_url, OWNER_NAMESPACE,
                       headers=gw.bearer(good)).status_code == 200  # control
    other = gw.emulator.user_token(OWNER, audiences=[API_AUDIENCE])
    response = experiments(gw.pipeline_url, OWNER_NAMESPACE, headers=gw.bearer(other))
    assert_envoy(response, 403, "Audiences in Jwt are not allowed")
    assert response.headers["www-authenticate"].endswith(', error="invalid_token"')


def test_an_authorization_header_that_is_not_bearer_is_denied_by_rbac(gw: Gateway) -> None:
    token = gw.emulator.user_token(OWNER)
    assert experiments(gw.pipeline_url, OWNER_NAMESPACE,
                       headers=gw.bearer(token)).status_code == 200  # control
    response = experiments(gw.pipeline_url, OWNER_NAMESPACE,
                           headers={"Authorization": f"Basic {token}"})
    assert_envoy(response, 403, "RBAC: access denied")


def test_kfam_is_not_reachable_through_the_gateway(gw: Gateway) -> None:
    session = gw.signed_in(OWNER)
    # Control: KFAM is up, behind the dashboard (its one admitted caller).
    contributors = session.get(f"{gw.url}/api/workgroup/get-contributors/{OWNER_NAMESPACE}")
    assert contributors.status_code == 200
    for method, path in (("GET", "/kfam/v1/bindings"), ("POST", "/kfam/v1/bindings"),
                         ("GET", "/kfam/v1/role/clusteradmin?user=x")):
        response = session.request(method, gw.url + path)
        assert_envoy(response, 403, "RBAC: access denied")
    token = gw.emulator.user_token(OWNER)
    assert_envoy(requests.get(gw.url + "/kfam/v1/bindings", headers=gw.bearer(token)),
                 403, "RBAC: access denied")

"""The central dashboard's workgroup API behind the gateway (docs/upstream/kubeflow-platform.md
2.2-2.3), signed in through the login flow."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from emulator.testing import (
    CONTRIBUTOR,
    OWNER,
    OWNER_NAMESPACE,
    STRANGER,
    STRANGER_NAMESPACE,
    VIEWER,
    assert_denied,
)
from tests.gateway.conftest import NEWCOMER, V2, Gateway, experiment_body

PLATFORM = {"kubeflowVersion": "unknown", "provider": "other://", "providerName": "other",
            "logoutUrl": "/oauth2/sign_out"}


def env_info(gw: Gateway, email: str) -> dict[str, Any]:
    response = gw.signed_in(email).get(f"{gw.url}/api/workgroup/env-info")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert list(body) == ["user", "platform", "namespaces", "isClusterAdmin"]
    return body


@pytest.mark.parametrize(("email", "role"), [(OWNER, "owner"), (CONTRIBUTOR, "contributor"),
                                             (VIEWER, "viewer")])
def test_env_info_names_the_users_role(gw: Gateway, email: str, role: str) -> None:
    assert env_info(gw, email) == {
        "user": email, "platform": PLATFORM,
        "namespaces": [{"user": email, "namespace": OWNER_NAMESPACE, "role": role}],
        "isClusterAdmin": False}


def test_env_info_of_a_kfam_cluster_admin(gw: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    assert env_info(gw, STRANGER)["isClusterAdmin"] is False  # control
    monkeypatch.setattr(gw.emulator, "kfam_admins", [STRANGER])
    assert env_info(gw, STRANGER) == {
        "user": STRANGER, "platform": PLATFORM,
        "namespaces": [{"user": STRANGER, "namespace": STRANGER_NAMESPACE, "role": "owner"}],
        "isClusterAdmin": True}


def test_exists_reports_an_owned_workgroup(gw: Gateway) -> None:
    owner = gw.signed_in(OWNER).get(f"{gw.url}/api/workgroup/exists").json()
    assert owner == {"hasAuth": True, "user": "alice", "hasWorkgroup": True,
                     "registrationFlowAllowed": False}
    viewer = gw.signed_in(VIEWER).get(f"{gw.url}/api/workgroup/exists").json()
    assert viewer["hasWorkgroup"] is False


def test_owner_adds_and_removes_a_contributor(gw: Gateway) -> None:
    alice = gw.signed_in(OWNER)
    url = f"{gw.url}/api/workgroup"
    assert alice.get(f"{url}/get-contributors/{OWNER_NAMESPACE}").json() == [CONTRIBUTOR]
    dave = gw.bearer(gw.emulator.user_token(NEWCOMER))
    create = f"{gw.pipeline_url}{V2}/experiments"
    assert_denied(requests.post(create, headers=dave,
                                json=experiment_body("before", OWNER_NAMESPACE)))

    added = alice.post(f"{url}/add-contributor/{OWNER_NAMESPACE}",
                       json={"contributor": NEWCOMER})
    assert added.status_code == 200, added.text
    assert added.json() == [CONTRIBUTOR, NEWCOMER]
    created = requests.post(create, headers=dave, json=experiment_body("now", OWNER_NAMESPACE))
    assert created.status_code == 200, created.text
    assert env_info(gw, CONTRIBUTOR)["namespaces"][0]["role"] == "contributor"

    removed = alice.delete(f"{url}/remove-contributor/{OWNER_NAMESPACE}",
                           json={"contributor": NEWCOMER})
    assert (removed.status_code, removed.json()) == (200, [CONTRIBUTOR])
    assert_denied(requests.post(create, headers=dave,
                                json=experiment_body("after", OWNER_NAMESPACE)))


def test_a_viewer_cannot_add_a_contributor(gw: Gateway) -> None:
    url = f"{gw.url}/api/workgroup/add-contributor/{OWNER_NAMESPACE}"
    owner = gw.signed_in(OWNER).post(url, json={"contributor": NEWCOMER})
    assert owner.status_code == 200  # control
    for email in (VIEWER, CONTRIBUTOR, STRANGER):
        response = gw.signed_in(email).post(url, json={"contributor": "eve@example.com"})
        assert response.status_code == 403, email
        assert response.json() == {
            "error": f"Unable to add new contributor for {OWNER_NAMESPACE}. HTTP 403 - Forbidden"}
    contributors = gw.signed_in(OWNER).get(
        f"{gw.url}/api/workgroup/get-contributors/{OWNER_NAMESPACE}").json()
    assert contributors == [CONTRIBUTOR, NEWCOMER]


def test_add_contributor_input_errors(gw: Gateway) -> None:
    alice = gw.signed_in(OWNER)
    url = f"{gw.url}/api/workgroup/add-contributor/{OWNER_NAMESPACE}"
    again = alice.post(url, json={"contributor": CONTRIBUTOR})  # KFAM's text comes through
    assert again.status_code == 403
    assert again.json() == {"error": 'rolebindings.rbac.authorization.k8s.io '
                                     '"user-carol-example-com-clusterrole-edit" already exists'}
    missing = alice.post(url, json={})
    assert (missing.status_code, missing.json()) == (400, {"error": "Missing contributor field."})
    bad = alice.post(url, json={"contributor": "not an email"})
    assert (bad.status_code, bad.json()) == (
        400, {"error": "Contributor doesn't look like a valid email address"})


def test_home_page_lists_namespaces_and_roles(gw: Gateway) -> None:
    page = gw.signed_in(CONTRIBUTOR).get(gw.url + "/")
    assert page.status_code == 200
    assert CONTRIBUTOR in page.text
    assert f"<td>{OWNER_NAMESPACE}</td><td>contributor</td>" in page.text
    unknown = gw.signed_in(OWNER).get(f"{gw.url}/api/nothing-here")
    assert (unknown.status_code, unknown.json()) == (
        404, {"error": "Could not find the route you're looking for"})

"""KFAM on the in-cluster network (the direct listener), docs/upstream/kubeflow-platform.md 1:
bindings change who the KFP API server lets in."""

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
from tests.gateway.conftest import NEWCOMER, USERID, V2, Gateway, experiment_body

KFAM_JSON = "application/json; charset=UTF-8"


def binding(user: str, namespace: str, role: str = "edit") -> dict[str, Any]:
    """What the dashboard sends (no apiGroup)."""
    return {"user": {"kind": "User", "name": user}, "referredNamespace": namespace,
            "RoleRef": {"kind": "ClusterRole", "name": role}}


def kfam(gw: Gateway, method: str, path: str, caller: str | None = None,
         **kwargs: Any) -> requests.Response:
    headers = {USERID: caller} if caller is not None else {}
    response = requests.request(method, f"{gw.direct_url}/kfam{path}", headers=headers, **kwargs)
    assert response.headers["content-type"] == KFAM_JSON
    return response


def create_experiment(gw: Gateway, user: str, name: str) -> requests.Response:
    return requests.post(f"{gw.direct_url}{V2}/experiments", headers={USERID: user},
                         json=experiment_body(name, OWNER_NAMESPACE))


def item(user: str, namespace: str, role: str) -> dict[str, Any]:
    return {"user": {"kind": "User", "name": user}, "referredNamespace": namespace,
            "RoleRef": {"apiGroup": "", "kind": "ClusterRole", "name": role}}


def test_owner_grants_and_revokes_access_that_kfp_honours(gw: Gateway) -> None:
    assert create_experiment(gw, OWNER, "owner-first").status_code == 200  # control
    assert_denied(create_experiment(gw, NEWCOMER, "too-early"))

    added = kfam(gw, "POST", "/v1/bindings", OWNER, json=binding(NEWCOMER, OWNER_NAMESPACE))
    assert (added.status_code, added.text) == (200, "")
    created = create_experiment(gw, NEWCOMER, "dave-exp")
    assert created.status_code == 200, created.text
    listed = kfam(gw, "GET", "/v1/bindings", params={"user": NEWCOMER})
    assert listed.json() == {"bindings": [item(NEWCOMER, OWNER_NAMESPACE, "edit")]}

    removed = kfam(gw, "DELETE", "/v1/bindings", OWNER, json=binding(NEWCOMER, OWNER_NAMESPACE))
    assert (removed.status_code, removed.text) == (200, "")
    assert_denied(create_experiment(gw, NEWCOMER, "after-removal"))
    assert kfam(gw, "GET", "/v1/bindings", params={"user": NEWCOMER}).text == "{}"


def test_a_stranger_cannot_add_himself(gw: Gateway) -> None:
    own = kfam(gw, "POST", "/v1/bindings", STRANGER, json=binding(NEWCOMER, STRANGER_NAMESPACE))
    assert own.status_code == 200  # control: bob manages his own namespace
    for caller in (STRANGER, CONTRIBUTOR, VIEWER, None):
        denied = kfam(gw, "POST", "/v1/bindings", caller, json=binding(STRANGER, OWNER_NAMESPACE))
        assert (denied.status_code, denied.text) == (403, ""), caller
    assert kfam(gw, "GET", "/v1/bindings",
                params={"namespace": OWNER_NAMESPACE, "user": STRANGER}).text == "{}"
    assert_denied(requests.get(f"{gw.direct_url}{V2}/experiments",
                               params={"namespace": OWNER_NAMESPACE}, headers={USERID: STRANGER}))
    # Nor remove the owner's contributor.
    gone = kfam(gw, "DELETE", "/v1/bindings", STRANGER, json=binding(CONTRIBUTOR, OWNER_NAMESPACE))
    assert (gone.status_code, gone.text) == (403, "")
    assert create_experiment(gw, CONTRIBUTOR, "still-here").status_code == 200


def test_list_bindings_shape_and_filters(gw: Gateway) -> None:
    everything = kfam(gw, "GET", "/v1/bindings")
    assert everything.status_code == 200
    assert everything.json() == {"bindings": [
        item(OWNER, OWNER_NAMESPACE, "admin"),  # the profile controller's namespaceAdmin
        item(CONTRIBUTOR, OWNER_NAMESPACE, "edit"),
        item(VIEWER, OWNER_NAMESPACE, "view"),
        item(STRANGER, STRANGER_NAMESPACE, "admin"),
    ]}
    by_role = kfam(gw, "GET", "/v1/bindings", params={"namespace": OWNER_NAMESPACE,
                                                      "role": "view"})
    assert by_role.json() == {"bindings": [item(VIEWER, OWNER_NAMESPACE, "view")]}
    assert kfam(gw, "GET", "/v1/bindings", params={"user": "nobody@example.com"}).text == "{}"
    assert kfam(gw, "GET", "/v1/bindings", params={"namespace": "kubeflow"}).text == "{}"


def test_cluster_admin_query_and_powers(gw: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    admin = "admin@example.com"
    monkeypatch.setattr(gw.emulator, "kfam_admins", [f" {admin} , "])
    assert kfam(gw, "GET", "/v1/role/clusteradmin", params={"user": admin}).text == "true"
    assert kfam(gw, "GET", "/v1/role/clusteradmin", params={"user": OWNER}).text == "false"
    assert kfam(gw, "GET", "/v1/role/clusteradmin").text == "false"  # empty user: never
    added = kfam(gw, "POST", "/v1/bindings", admin, json=binding(NEWCOMER, OWNER_NAMESPACE))
    assert (added.status_code, added.text) == (200, "")
    assert create_experiment(gw, NEWCOMER, "admin-granted").status_code == 200
    # Even an admin needs the Profile to exist.
    missing = kfam(gw, "POST", "/v1/bindings", admin, json=binding(NEWCOMER, "nowhere"))
    assert (missing.status_code, missing.text) == (403, "")


def test_kubernetes_errors_come_back_as_403_text(gw: Gateway) -> None:
    name = "user-dave-example-com-clusterrole-edit"
    first = kfam(gw, "POST", "/v1/bindings", OWNER, json=binding(NEWCOMER, OWNER_NAMESPACE))
    assert first.status_code == 200  # control
    again = kfam(gw, "POST", "/v1/bindings", OWNER, json=binding(NEWCOMER, OWNER_NAMESPACE))
    assert (again.status_code, again.text) == (
        403, f'rolebindings.rbac.authorization.k8s.io "{name}" already exists')
    odd = kfam(gw, "POST", "/v1/bindings", OWNER,
               json=binding(NEWCOMER, OWNER_NAMESPACE, role="owner"))
    assert (odd.status_code, odd.text) == (
        403, 'RoleBinding.rbac.authorization.k8s.io "user-dave-example-com-clusterrole-owner" '
             'is invalid: roleRef.name: Required value')
    absent = kfam(gw, "DELETE", "/v1/bindings", OWNER,
                  json=binding(NEWCOMER, OWNER_NAMESPACE, role="view"))
    assert (absent.status_code, absent.text) == (
        403, 'rolebinding.rbac.authorization.k8s.io "user-dave-example-com-clusterrole-view" '
             'not found')
    empty = kfam(gw, "POST", "/v1/bindings", OWNER, data=b"")
    assert (empty.status_code, empty.text) == (403, "EOF")


def test_profiles_create_and_delete(gw: Gateway) -> None:
    profile = {"metadata": {"name": "dave"},
               "spec": {"owner": {"kind": "User", "name": NEWCOMER}}}
    created = kfam(gw, "POST", "/v1/profiles", None, json=profile)  # no caller check
    assert (created.status_code, created.text) == (200, "")
    listed = kfam(gw, "GET", "/v1/bindings", params={"namespace": "dave"})
    assert listed.json() == {"bindings": [item(NEWCOMER, "dave", "admin")]}
    again = kfam(gw, "POST", "/v1/profiles", None, json=profile)
    assert (again.status_code, again.text) == (
        403, 'profiles.kubeflow.org "dave" already exists')

    denied = kfam(gw, "DELETE", "/v1/profiles/dave", STRANGER)
    assert (denied.status_code, denied.text) == (401, "")
    deleted = kfam(gw, "DELETE", "/v1/profiles/dave", NEWCOMER)
    assert (deleted.status_code, deleted.text) == (200, "")
    assert kfam(gw, "GET", "/v1/bindings", params={"namespace": "dave"}).text == "{}"

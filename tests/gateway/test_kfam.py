"""KFAM's wire API, docs/upstream/kubeflow-platform.md 1: bindings change who the KFP API server
lets in.

These tests talk to KFAM directly, trusting the identity header, so they use an emulator built
with ``expose_kfam=True`` (KFAM without its Istio policy, as Kubeflow <= 1.4 ran it: ISO-024).
The default emulator refuses them (see test_kfam_is_closed_by_default)."""

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


@pytest.fixture
def gw(exposed_kfam: Gateway) -> Gateway:
    """Every test here reaches KFAM on the direct listener: the exposed (ISO-024) emulator."""
    return exposed_kfam


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


def test_binding_type_errors_are_gos_decode_errors(gw: Gateway) -> None:
    good = kfam(gw, "POST", "/v1/bindings", OWNER, json=binding(NEWCOMER, OWNER_NAMESPACE))
    assert good.status_code == 200  # control
    wrong_name = binding("x@example.com", OWNER_NAMESPACE)
    wrong_name["user"]["name"] = 7
    response = kfam(gw, "POST", "/v1/bindings", OWNER, json=wrong_name)
    # Go names the innermost struct and the JSON path from the top.
    assert (response.status_code, response.text) == (
        403, "json: cannot unmarshal number into Go struct field Subject.user.name of type string")
    listed = kfam(gw, "GET", "/v1/bindings", params={"namespace": OWNER_NAMESPACE,
                                                     "role": "edit"})
    assert [b["user"]["name"] for b in listed.json()["bindings"]] == [CONTRIBUTOR, NEWCOMER]


def profile_body(name: str, owner: Any = NEWCOMER, **extra: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, **extra.pop("metadata", {})},
            "spec": {"owner": {"kind": "User", "name": owner}, **extra}}


@pytest.mark.parametrize(("body", "error"), [
    (profile_body("p1", owner=5),
     "json: cannot unmarshal number into Go struct field Subject.spec.owner.name of type string"),
    (profile_body("p1", owner=["a"]),
     "json: cannot unmarshal array into Go struct field Subject.spec.owner.name of type string"),
    ({"metadata": {"name": 12}, "spec": {"owner": {"kind": "User", "name": NEWCOMER}}},
     "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.name of type "
     "string"),
    (profile_body("p1", metadata={"labels": "x"}),
     "json: cannot unmarshal string into Go struct field ObjectMeta.metadata.labels of type "
     "map[string]string"),
    (profile_body("p1", metadata={"labels": {"a": True}}),
     "json: cannot unmarshal bool into Go struct field ObjectMeta.metadata.labels of type "
     "string"),
    (profile_body("p1", resourceQuotaSpec="big"),
     "json: cannot unmarshal string into Go struct field ProfileSpec.spec.resourceQuotaSpec of "
     "type v1.ResourceQuotaSpec"),
    ({"metadata": {"name": "p1"}, "spec": "owner"},
     "json: cannot unmarshal string into Go struct field Profile.spec of type "
     "v1beta1.ProfileSpec"),
    ([profile_body("p1")], "json: cannot unmarshal array into Go value of type v1beta1.Profile"),
])
def test_profile_type_errors_are_403_and_make_nothing(gw: Gateway, body: Any,
                                                      error: str) -> None:
    created = kfam(gw, "POST", "/v1/profiles", None, json=profile_body("p0"))
    assert (created.status_code, created.text) == (200, "")  # control
    response = kfam(gw, "POST", "/v1/profiles", None, json=body)
    assert (response.status_code, response.text) == (403, error)
    assert "p1" not in gw.emulator.cluster.profiles
    assert kfam(gw, "GET", "/v1/bindings", params={"namespace": "p1"}).text == "{}"


def test_profile_labels_and_case_insensitive_fields_are_kept(gw: Gateway) -> None:
    body = {"Metadata": {"NAME": "p2", "labels": {"team": "a"}},
            "spec": {"Owner": {"kind": "User", "name": NEWCOMER}}}
    created = kfam(gw, "POST", "/v1/profiles", None, json=body)
    assert (created.status_code, created.text) == (200, "")
    profile = gw.emulator.cluster.profiles["p2"]
    assert (profile.owner, profile.labels) == (NEWCOMER, {"team": "a"})

"""RBAC escalation prevention: a namespace admin grants only what they hold.

A Profile owner (``kubeflow-admin`` in their namespace) may create Roles and RoleBindings, but
kube-apiserver refuses any that would grant rights the owner does not hold — otherwise binding
``cluster-admin`` inside one's own namespace would unlock TokenRequests and everything else no
Kubeflow role grants.
"""

from __future__ import annotations

from typing import Any

import pytest
from kube_support import KubeEnv

from emulator.testing import OWNER, OWNER_NAMESPACE, STRANGER

RBAC = "rbac.authorization.k8s.io"
ROLEBINDINGS = f"/apis/{RBAC}/v1/namespaces/{OWNER_NAMESPACE}/rolebindings"
ROLES = f"/apis/{RBAC}/v1/namespaces/{OWNER_NAMESPACE}/roles"
TOKEN = f"/api/v1/namespaces/{OWNER_NAMESPACE}/serviceaccounts/default-editor/token"
GROUPS = '["system:authenticated"]'


def _binding(name: str, role_kind: str, role: str, user: str) -> dict[str, Any]:
    return {"metadata": {"name": name},
            "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": role},
            "subjects": [{"apiGroup": RBAC, "kind": "User", "name": user}]}


def _role(name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"metadata": {"name": name}, "rules": rules}


def _forbidden(kube: KubeEnv, plural: str, name: str, missing: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": f'{plural}.{RBAC} "{name}" is forbidden: user "{OWNER}" '
                       f"(groups={GROUPS}) is attempting to grant RBAC permissions not "
                       f"currently held:\n{missing}",
            "reason": "Forbidden", "details": {"name": name, "group": RBAC, "kind": plural},
            "code": 403}


def test_owner_binds_what_they_hold_but_not_cluster_admin(kube: KubeEnv) -> None:
    owner = kube.kube_token(OWNER)
    # Positive control: kubeflow-edit is part of the owner's kubeflow-admin.
    granted = kube.raw("POST", ROLEBINDINGS, owner,
                       json=_binding("helper-edit", "ClusterRole", "kubeflow-edit", STRANGER))
    assert granted.status_code == 201, granted.text
    before = kube.snapshot()
    refused = kube.raw("POST", ROLEBINDINGS, owner,
                       json=_binding("escalate", "ClusterRole", "cluster-admin", OWNER))
    assert refused.status_code == 403
    assert refused.json() == _forbidden(
        kube, "rolebindings", "escalate",
        '{APIGroups:["*"], Resources:["*"], Verbs:["*"]}\n{NonResourceURLs:["*"], Verbs:["*"]}')
    assert kube.snapshot() == before
    # ...so the owner still cannot mint ServiceAccount tokens, which no Kubeflow role grants.
    assert kube.raw("POST", TOKEN, owner, json={"spec": {}}).status_code == 403
    assert kube.raw("POST", TOKEN, kube.admin_token(), json={"spec": {}}).status_code == 201


def test_owner_cannot_write_a_role_broader_than_their_own(kube: KubeEnv) -> None:
    owner = kube.kube_token(OWNER)
    reader = _role("experiment-reader", [{"apiGroups": ["pipelines.kubeflow.org"],
                                          "resources": ["experiments"],
                                          "verbs": ["get", "list"]}])
    assert kube.raw("POST", ROLES, owner, json=reader).status_code == 201
    before = kube.snapshot()
    broad = _role("token-minter", [{"apiGroups": [""], "resources": ["serviceaccounts/token"],
                                    "verbs": ["create"]},
                                   {"apiGroups": [""], "resources": ["secrets"],
                                    "verbs": ["get", "list"]}])
    refused = kube.raw("POST", ROLES, owner, json=broad)
    assert refused.status_code == 403
    # Only what is missing is named: the owner does read secrets (kubeflow-edit).
    assert refused.json() == _forbidden(
        kube, "roles", "token-minter",
        '{APIGroups:[""], Resources:["serviceaccounts/token"], Verbs:["create"]}')
    assert kube.snapshot() == before


def test_binding_a_missing_role_is_not_found_for_a_tenant(kube: KubeEnv) -> None:
    owner = kube.kube_token(OWNER)
    before = kube.snapshot()
    missing = kube.raw("POST", ROLEBINDINGS, owner,
                       json=_binding("ghost", "Role", "does-not-exist", STRANGER))
    assert missing.status_code == 404
    assert missing.json()["message"] == f'roles.{RBAC} "does-not-exist" not found'
    assert kube.snapshot() == before
    # system:masters may bind anything, even a role that does not exist yet.
    assert kube.raw("POST", ROLEBINDINGS, kube.admin_token(),
                    json=_binding("ghost", "Role", "does-not-exist", STRANGER)
                    ).status_code == 201


@pytest.mark.parametrize("path", [
    f"/api/v1/namespaces/{OWNER_NAMESPACE}",
    f"/api/v1/namespaces/{OWNER_NAMESPACE}/secrets/existing",
])
def test_post_to_an_item_path_is_method_not_allowed(kube: KubeEnv, path: str) -> None:
    before = kube.snapshot()
    response = kube.raw("POST", path, kube.admin_token(),
                        json={"metadata": {"name": "elsewhere"}})
    assert response.status_code == 405
    assert response.json()["message"] == \
        "the server does not allow this method on the requested resource"
    assert kube.snapshot() == before


@pytest.mark.parametrize("body", [
    b"kind: SelfSubjectAccessReview\nspec: {extra: {when: 2020-01-01}}\n",
    b"kind: SelfSubjectAccessReview\nspec: {nonResourceAttributes: {path: .nan}}\n",
])
def test_yaml_that_json_cannot_say_is_a_bad_request(kube: KubeEnv, body: bytes) -> None:
    response = kube.raw("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                        kube.kube_token(OWNER), data=body,
                        headers={"Content-Type": "application/yaml"})
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith("error converting YAML to JSON")


def test_json_nan_is_a_bad_request(kube: KubeEnv) -> None:
    response = kube.raw("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                        kube.kube_token(OWNER), data=b'{"spec": {"x": NaN}}',
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text

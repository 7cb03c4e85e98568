"""Tenant provisioning through the Kubernetes API changes what the KFP API allows.

Profiles, RoleBindings and ClusterRoleBindings created with the official client are the very
objects KFP's SubjectAccessReviews are answered from.
"""

from __future__ import annotations

import pytest
import requests
from kube_support import KubeEnv, status_body, status_of
from kubernetes import client

from emulator.testing import (
    CONTRIBUTOR,
    OWNER,
    OWNER_NAMESPACE,
    STRANGER,
    STRANGER_NAMESPACE,
    VIEWER,
    assert_denied,
)

NEWCOMER = "nina@example.com"
RBAC = "rbac.authorization.k8s.io"


def _create_experiment(kube: KubeEnv, email: str, namespace: str,
                       name: str = "exp") -> requests.Response:
    return kube.kfp_as(email).post("/apis/v2beta1/experiments",
                                   json={"display_name": name, "namespace": namespace})


def _list_experiments(kube: KubeEnv, email: str, namespace: str) -> requests.Response:
    return kube.kfp_as(email).get(f"/apis/v2beta1/experiments?namespace={namespace}")


def _profile(name: str, owner: str, version: str) -> dict[str, object]:
    return {"apiVersion": f"kubeflow.org/{version}", "kind": "Profile",
            "metadata": {"name": name}, "spec": {"owner": {"kind": "User", "name": owner}}}


@pytest.mark.parametrize("version", ["v1", "v1beta1"])
def test_profile_provisions_a_tenant_kfp_then_honours(kube: KubeEnv, version: str) -> None:
    assert_denied(_list_experiments(kube, NEWCOMER, "nina"))
    with kube.admin() as api:
        objects = client.CustomObjectsApi(api)
        created = objects.create_cluster_custom_object(
            "kubeflow.org", version, "profiles", _profile("nina", NEWCOMER, version))
        assert created["apiVersion"] == f"kubeflow.org/{version}"
        assert created["spec"]["owner"] == {"kind": "User", "name": NEWCOMER}
        got = objects.get_cluster_custom_object("kubeflow.org", version, "profiles", "nina")
        assert got["apiVersion"] == f"kubeflow.org/{version}"
        namespace = client.CoreV1Api(api).read_namespace("nina")
        assert namespace.metadata.annotations["owner"] == NEWCOMER
        bindings = {b.metadata.name: b for b in client.RbacAuthorizationV1Api(api)
                    .list_namespaced_role_binding("nina").items}
        assert bindings["namespaceAdmin"].role_ref.name == "kubeflow-admin"
        assert [(s.kind, s.name) for s in bindings["namespaceAdmin"].subjects] == [
            ("User", NEWCOMER)]
        assert bindings["default-editor"].role_ref.name == "kubeflow-edit"
        assert bindings["default-viewer"].role_ref.name == "kubeflow-view"
        accounts = {a.metadata.name for a in
                    client.CoreV1Api(api).list_namespaced_service_account("nina").items}
        assert {"default", "default-editor", "default-viewer"} <= accounts
    listed = _list_experiments(kube, NEWCOMER, "nina")
    assert listed.status_code == 200, listed.text
    assert _create_experiment(kube, NEWCOMER, "nina").status_code == 200
    assert_denied(_list_experiments(kube, STRANGER, "nina"))


def test_profile_delete_removes_namespace_and_its_experiments(kube: KubeEnv) -> None:
    made = _create_experiment(kube, OWNER, OWNER_NAMESPACE)
    assert made.status_code == 200, made.text
    with kube.admin() as api:
        objects = client.CustomObjectsApi(api)
        objects.delete_cluster_custom_object("kubeflow.org", "v1", "profiles", OWNER_NAMESPACE)
        names = {ns.metadata.name for ns in client.CoreV1Api(api).list_namespace().items}
        assert OWNER_NAMESPACE not in names
        with pytest.raises(client.ApiException) as gone:
            objects.get_cluster_custom_object("kubeflow.org", "v1", "profiles",
                                              OWNER_NAMESPACE)
    assert gone.value.status == 404
    assert kube.raw("GET", "/api/v1/namespaces/alice", kube.admin_token()).status_code == 404
    # The owner's binding went with the namespace.
    assert_denied(_list_experiments(kube, OWNER, OWNER_NAMESPACE))
    # A new Profile of the same name starts empty: KFP dropped the namespace's experiments.
    with kube.admin() as api:
        client.CustomObjectsApi(api).create_cluster_custom_object(
            "kubeflow.org", "v1", "profiles", _profile(OWNER_NAMESPACE, OWNER, "v1"))
    listed = _list_experiments(kube, OWNER, OWNER_NAMESPACE)
    assert listed.status_code == 200, listed.text
    assert listed.json().get("experiments", []) == []
    lookup = kube.kfp_as(OWNER).get(f"/apis/v2beta1/experiments/{made.json()['experiment_id']}")
    assert lookup.status_code == 404


def test_tenant_cannot_create_a_profile(kube: KubeEnv) -> None:
    with kube.admin() as api:
        assert len(client.CustomObjectsApi(api).list_cluster_custom_object(
            "kubeflow.org", "v1", "profiles")["items"]) == 2
    before = kube.snapshot()
    with kube.as_user(OWNER) as api, pytest.raises(client.ApiException) as denied:
        client.CustomObjectsApi(api).create_cluster_custom_object(
            "kubeflow.org", "v1", "profiles", _profile("grab", OWNER, "v1"))
    assert status_of(denied.value) == status_body(
        403, "Forbidden",
        'profiles.kubeflow.org is forbidden: User "alice@example.com" cannot create resource '
        '"profiles" in API group "kubeflow.org" at the cluster scope',
        {"group": "kubeflow.org", "kind": "profiles"})
    assert kube.snapshot() == before


def _contributor_binding(email: str, role: str, namespace: str) -> client.V1RoleBinding:
    name = "user-" + email.replace("@", "-").replace(".", "-") + f"-clusterrole-{role}"
    return client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name=name, namespace=namespace,
                                     annotations={"user": email, "role": role}),
        role_ref=client.V1RoleRef(api_group=RBAC, kind="ClusterRole", name=f"kubeflow-{role}"),
        subjects=[client.RbacV1Subject(api_group=RBAC, kind="User", name=email)])


def test_owner_adds_and_removes_a_contributor_with_a_rolebinding(kube: KubeEnv) -> None:
    assert_denied(_create_experiment(kube, NEWCOMER, OWNER_NAMESPACE))
    binding = _contributor_binding(NEWCOMER, "edit", OWNER_NAMESPACE)
    with kube.as_user(OWNER) as api:
        rbac = client.RbacAuthorizationV1Api(api)
        rbac.create_namespaced_role_binding(OWNER_NAMESPACE, binding)
        made = _create_experiment(kube, NEWCOMER, OWNER_NAMESPACE)
        assert made.status_code == 200, made.text
        rbac.delete_namespaced_role_binding(binding.metadata.name, OWNER_NAMESPACE)
    assert_denied(_create_experiment(kube, NEWCOMER, OWNER_NAMESPACE, "again"))


def test_stranger_cannot_bind_himself_into_the_owners_namespace(kube: KubeEnv) -> None:
    # Positive control: the owner may bind a contributor in her namespace.
    with kube.as_user(OWNER) as api:
        client.RbacAuthorizationV1Api(api).create_namespaced_role_binding(
            OWNER_NAMESPACE, _contributor_binding(NEWCOMER, "view", OWNER_NAMESPACE))
    assert _list_experiments(kube, NEWCOMER, OWNER_NAMESPACE).status_code == 200
    before = kube.snapshot()
    binding = _contributor_binding(STRANGER, "admin", OWNER_NAMESPACE)
    with kube.as_user(STRANGER) as api, pytest.raises(client.ApiException) as denied:
        client.RbacAuthorizationV1Api(api).create_namespaced_role_binding(
            OWNER_NAMESPACE, binding)
    assert status_of(denied.value) == status_body(
        403, "Forbidden",
        'rolebindings.rbac.authorization.k8s.io is forbidden: User "bob@example.com" cannot '
        'create resource "rolebindings" in API group "rbac.authorization.k8s.io" in the '
        'namespace "alice"', {"group": RBAC, "kind": "rolebindings"})
    assert kube.snapshot() == before
    assert_denied(_create_experiment(kube, STRANGER, OWNER_NAMESPACE))


@pytest.mark.parametrize(("user", "can_read"), [(OWNER, True), (CONTRIBUTOR, True),
                                                (VIEWER, False), (STRANGER, False)])
def test_secrets_are_for_editors_of_the_namespace(kube: KubeEnv, user: str,
                                                  can_read: bool) -> None:
    """kubeflow-edit reads and writes secrets; kubeflow-view has none (the manifests' roles)."""
    with kube.admin() as api:
        client.CoreV1Api(api).create_namespaced_secret(OWNER_NAMESPACE, client.V1Secret(
            metadata=client.V1ObjectMeta(name="s3"), string_data={"key": "v"}))
    path = f"/api/v1/namespaces/{OWNER_NAMESPACE}/secrets/s3"
    response = kube.raw("GET", path, kube.kube_token(user))
    if can_read:
        assert response.status_code == 200, response.text
        assert response.json()["data"] == {"key": "dg=="}
    else:
        assert response.json() == status_body(
            403, "Forbidden",
            f'secrets "s3" is forbidden: User "{user}" cannot get resource "secrets" in API '
            f'group "" in the namespace "{OWNER_NAMESPACE}"', {"name": "s3", "kind": "secrets"})


def test_an_editor_cannot_grant_access(kube: KubeEnv) -> None:
    """Only kubeflow-admin (the owner) holds rolebindings; an edit contributor does not."""
    binding = _contributor_binding(NEWCOMER, "view", OWNER_NAMESPACE)
    before = kube.snapshot()
    with kube.as_user(CONTRIBUTOR) as api, pytest.raises(client.ApiException) as denied:
        client.RbacAuthorizationV1Api(api).create_namespaced_role_binding(
            OWNER_NAMESPACE, binding)
    assert denied.value.status == 403
    assert kube.snapshot() == before
    with kube.as_user(OWNER) as api:  # the owner can
        client.RbacAuthorizationV1Api(api).create_namespaced_role_binding(
            OWNER_NAMESPACE, binding)


def test_custom_read_only_role_allows_list_but_not_create(kube: KubeEnv) -> None:
    role = client.V1Role(
        metadata=client.V1ObjectMeta(name="experiment-reader"),
        rules=[client.V1PolicyRule(api_groups=["pipelines.kubeflow.org"],
                                   resources=["experiments"], verbs=["get", "list"])])
    binding = client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name="nina-reads"),
        role_ref=client.V1RoleRef(api_group=RBAC, kind="Role", name="experiment-reader"),
        subjects=[client.RbacV1Subject(api_group=RBAC, kind="User", name=NEWCOMER)])
    assert_denied(_list_experiments(kube, NEWCOMER, OWNER_NAMESPACE))
    with kube.admin() as api:
        rbac = client.RbacAuthorizationV1Api(api)
        rbac.create_namespaced_role(OWNER_NAMESPACE, role)
        rbac.create_namespaced_role_binding(OWNER_NAMESPACE, binding)
        assert [r.metadata.name for r in rbac.list_namespaced_role(OWNER_NAMESPACE).items] == [
            "experiment-reader"]
    listed = _list_experiments(kube, NEWCOMER, OWNER_NAMESPACE)
    assert listed.status_code == 200, listed.text
    assert _create_experiment(kube, OWNER, OWNER_NAMESPACE).status_code == 200
    assert_denied(_create_experiment(kube, NEWCOMER, OWNER_NAMESPACE))


def test_cluster_admin_binding_is_honoured_by_kfp_but_group_admin_is_not(kube: KubeEnv) -> None:
    assert_denied(_list_experiments(kube, NEWCOMER, STRANGER_NAMESPACE))
    with kube.admin() as api:
        client.RbacAuthorizationV1Api(api).create_cluster_role_binding(
            client.V1ClusterRoleBinding(
                metadata=client.V1ObjectMeta(name="nina-cluster-admin"),
                role_ref=client.V1RoleRef(api_group=RBAC, kind="ClusterRole",
                                          name="cluster-admin"),
                subjects=[client.RbacV1Subject(api_group=RBAC, kind="User", name=NEWCOMER)]))
    for namespace in (OWNER_NAMESPACE, STRANGER_NAMESPACE):
        assert _list_experiments(kube, NEWCOMER, namespace).status_code == 200
        assert _create_experiment(kube, NEWCOMER, namespace).status_code == 200
    # The kubeconfig's kubernetes-admin is cluster-admin on the Kubernetes API only through the
    # group system:masters.  KFP's SubjectAccessReview carries spec.user alone (no groups), so
    # the same person is a stranger to KFP.
    with kube.admin() as api:
        assert client.CoreV1Api(api).list_namespace().items
    assert_denied(_list_experiments(kube, "kubernetes-admin", OWNER_NAMESPACE))


def test_a_deleted_profile_namespace_comes_back_empty(kube: KubeEnv) -> None:
    """The Profile owns its namespace: the controller makes it again, without the old objects."""
    assert _create_experiment(kube, OWNER, OWNER_NAMESPACE, "old").status_code == 200
    response = kube.raw("DELETE", f"/api/v1/namespaces/{OWNER_NAMESPACE}", kube.admin_token())
    assert response.status_code == 200, response.text
    assert response.json()["status"] == {"phase": "Terminating"}
    assert OWNER_NAMESPACE in kube.emulator.cluster.profiles
    listed = _list_experiments(kube, OWNER, OWNER_NAMESPACE)
    assert listed.status_code == 200, listed.text  # the owner's binding is back...
    assert listed.json() == {}  # ...and the old experiment is gone
    assert_denied(_list_experiments(kube, STRANGER, OWNER_NAMESPACE))


def test_a_service_account_may_own_a_profile(kube: KubeEnv) -> None:
    robot = "system:serviceaccount:bob:default-editor"
    with kube.admin() as api:
        client.CustomObjectsApi(api).create_cluster_custom_object(
            "kubeflow.org", "v1", "profiles",
            {"apiVersion": "kubeflow.org/v1", "kind": "Profile", "metadata": {"name": "robots"},
             "spec": {"owner": {"kind": "ServiceAccount", "name": "default-editor",
                                "namespace": STRANGER_NAMESPACE}}})
        got = client.CustomObjectsApi(api).get_cluster_custom_object(
            "kubeflow.org", "v1", "profiles", "robots")
    assert got["spec"]["owner"] == {"kind": "ServiceAccount", "name": "default-editor",
                                    "namespace": STRANGER_NAMESPACE}
    assert _create_experiment(kube, robot, "robots").status_code == 200
    assert_denied(_create_experiment(kube, OWNER, "robots"))

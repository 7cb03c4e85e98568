"""Discovery, namespaces, secrets and the exact Status bodies of the Kubernetes API listener."""

from __future__ import annotations

import pytest
from kube_support import KubeEnv, status_body, status_of
from kubernetes import client

from emulator.objectstore.provisioning import SECRET_NAME as ARTIFACT_SECRET
from emulator.testing import OWNER, OWNER_NAMESPACE, STRANGER, STRANGER_NAMESPACE

RFC1123_LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
                 "or '-', and must start and end with an alphanumeric character (e.g. 'my-name', "
                 " or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")


def test_discovery_through_the_official_client(kube: KubeEnv) -> None:
    with kube.admin() as api:
        versions = client.CoreApi(api).get_api_versions()
        assert versions.versions == ["v1"]
        core = {r.name: r for r in client.CoreV1Api(api).get_api_resources().resources}
        assert core["namespaces"].namespaced is False
        assert core["namespaces"].short_names == ["ns"]
        assert core["secrets"].namespaced is True
        assert core["serviceaccounts/token"].kind == "TokenRequest"
        assert core["serviceaccounts/token"].verbs == ["create"]
        groups = {g.name: g for g in client.ApisApi(api).get_api_versions().groups}
        assert [v.version for v in groups["kubeflow.org"].versions] == ["v1", "v1beta1"]
        assert groups["kubeflow.org"].preferred_version.version == "v1"
        assert {"rbac.authorization.k8s.io", "authorization.k8s.io",
                "authentication.k8s.io"} <= set(groups)
        rbac = client.RbacAuthorizationV1Api(api).get_api_resources()
        assert {r.name for r in rbac.resources} == {
            "roles", "rolebindings", "clusterroles", "clusterrolebindings"}
        version = client.VersionApi(api).get_code()
        assert (version.major, version.minor) == ("1", "32")


def test_discovery_needs_authentication_but_version_and_health_do_not(kube: KubeEnv) -> None:
    assert kube.raw("GET", "/api", kube.kube_token(STRANGER)).status_code == 200
    assert kube.raw("GET", "/version").status_code == 200
    health = kube.raw("GET", "/healthz")
    assert (health.status_code, health.text) == (200, "ok")
    denied = kube.raw("GET", "/api")
    assert denied.status_code == 403
    assert denied.json() == status_body(
        403, "Forbidden", 'forbidden: User "system:anonymous" cannot get path "/api"', {})


def test_admin_lists_and_gets_namespaces(kube: KubeEnv) -> None:
    with kube.admin() as api:
        core = client.CoreV1Api(api)
        names = {ns.metadata.name for ns in core.list_namespace().items}
        assert {"default", "kube-system", "kubeflow", OWNER_NAMESPACE,
                STRANGER_NAMESPACE} <= names
        alice = core.read_namespace(OWNER_NAMESPACE)
        assert alice.metadata.annotations["owner"] == OWNER
        assert alice.status.phase == "Active"
        selected = core.list_namespace(label_selector="pipelines.kubeflow.org/enabled=true")
        assert {ns.metadata.name for ns in selected.items} == {OWNER_NAMESPACE,
                                                               STRANGER_NAMESPACE}


def test_tenant_gets_own_namespace_but_cannot_list_all(kube: KubeEnv) -> None:
    with kube.as_user(OWNER) as api:
        core = client.CoreV1Api(api)
        assert core.read_namespace(OWNER_NAMESPACE).metadata.name == OWNER_NAMESPACE
        with pytest.raises(client.ApiException) as listing:
            core.list_namespace()
        with pytest.raises(client.ApiException) as other:
            core.read_namespace(STRANGER_NAMESPACE)
    assert listing.value.status == 403
    assert status_of(listing.value) == status_body(
        403, "Forbidden",
        'namespaces is forbidden: User "alice@example.com" cannot list resource "namespaces" '
        'in API group "" at the cluster scope', {"kind": "namespaces"})
    assert status_of(other.value) == status_body(
        403, "Forbidden",
        'namespaces "bob" is forbidden: User "alice@example.com" cannot get resource '
        '"namespaces" in API group "" in the namespace "bob"',
        {"name": "bob", "kind": "namespaces"})


def test_owner_manages_own_secret_and_cannot_read_strangers(kube: KubeEnv) -> None:
    with kube.as_user(STRANGER) as api:
        client.CoreV1Api(api).create_namespaced_secret(STRANGER_NAMESPACE, client.V1Secret(
            metadata=client.V1ObjectMeta(name="bobs"), string_data={"k": "v"}))
    with kube.as_user(OWNER) as api:
        core = client.CoreV1Api(api)
        core.create_namespaced_secret(OWNER_NAMESPACE, client.V1Secret(
            metadata=client.V1ObjectMeta(name="mine"), string_data={"password": "s3cret"}))
        assert core.read_namespaced_secret("mine", OWNER_NAMESPACE).data == {
            "password": "czNjcmV0"}
        # Besides the pipelines profile controller's object-store Secret.
        assert [s.metadata.name for s in core.list_namespaced_secret(OWNER_NAMESPACE).items
                if s.metadata.name != ARTIFACT_SECRET] == ["mine"]
        before = kube.snapshot()
        with pytest.raises(client.ApiException) as denied:
            core.read_namespaced_secret("bobs", STRANGER_NAMESPACE)
        with pytest.raises(client.ApiException) as create:
            core.create_namespaced_secret(STRANGER_NAMESPACE, client.V1Secret(
                metadata=client.V1ObjectMeta(name="planted")))
        assert kube.snapshot() == before
        core.delete_namespaced_secret("mine", OWNER_NAMESPACE)
        assert [s.metadata.name for s in
                core.list_namespaced_secret(OWNER_NAMESPACE).items] == [ARTIFACT_SECRET]
    assert status_of(denied.value) == status_body(
        403, "Forbidden",
        'secrets "bobs" is forbidden: User "alice@example.com" cannot get resource "secrets" in '
        'API group "" in the namespace "bob"', {"name": "bobs", "kind": "secrets"})
    assert status_of(create.value)["message"] == (
        'secrets is forbidden: User "alice@example.com" cannot create resource "secrets" in API '
        'group "" in the namespace "bob"')


def test_garbage_token_is_401_and_changes_nothing(kube: KubeEnv) -> None:
    assert kube.raw("GET", "/api/v1/namespaces", kube.admin_token()).status_code == 200
    before = kube.snapshot()
    response = kube.raw("POST", "/api/v1/namespaces", "not-a-token",
                        json={"metadata": {"name": "zzz"}})
    assert response.status_code == 401
    assert response.json() == status_body(401, "Unauthorized", "Unauthorized")
    assert kube.snapshot() == before


def test_expired_token_is_401(kube: KubeEnv) -> None:
    token = kube.emulator.user_token(OWNER, ttl_seconds=600,
                                     audiences=["https://kubernetes.default.svc.cluster.local"])
    assert kube.raw("GET", f"/api/v1/namespaces/{OWNER_NAMESPACE}", token).status_code == 200
    kube.emulator.advance(661)  # past the expiry and the validator's 60 s leeway
    assert kube.raw("GET", f"/api/v1/namespaces/{OWNER_NAMESPACE}", token).status_code == 401


def test_kfp_audience_token_is_not_a_kubernetes_credential(kube: KubeEnv) -> None:
    good = kube.raw("GET", f"/api/v1/namespaces/{OWNER_NAMESPACE}", kube.kube_token(OWNER))
    assert good.status_code == 200
    kfp_only = kube.emulator.user_token(OWNER, audiences=["pipelines.kubeflow.org"])
    assert kube.raw("GET", f"/api/v1/namespaces/{OWNER_NAMESPACE}", kfp_only).status_code == 401


def test_not_found_already_exists_and_invalid_bodies(kube: KubeEnv) -> None:
    token = kube.admin_token()
    created = kube.raw("POST", "/api/v1/namespaces", token, json={
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-x"}})
    assert created.status_code == 201
    assert created.json()["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team-x"}
    before = kube.snapshot()
    missing = kube.raw("GET", "/api/v1/namespaces/ghost", token)
    assert missing.json() == status_body(404, "NotFound", 'namespaces "ghost" not found',
                                         {"name": "ghost", "kind": "namespaces"})
    profile = kube.raw("GET", "/apis/kubeflow.org/v1/profiles/ghost", token)
    assert profile.json() == status_body(
        404, "NotFound", 'profiles.kubeflow.org "ghost" not found',
        {"name": "ghost", "group": "kubeflow.org", "kind": "profiles"})
    again = kube.raw("POST", "/api/v1/namespaces", token, json={"metadata": {"name": "team-x"}})
    assert again.json() == status_body(409, "AlreadyExists", 'namespaces "team-x" already exists',
                                       {"name": "team-x", "kind": "namespaces"})
    bad = kube.raw("POST", "/api/v1/namespaces", token, json={"metadata": {"name": "Team_X"}})
    cause = f'Invalid value: "Team_X": {RFC1123_LABEL}'
    assert bad.json() == status_body(
        422, "Invalid", f'Namespace "Team_X" is invalid: metadata.name: {cause}',
        {"name": "Team_X", "kind": "Namespace",
         "causes": [{"reason": "FieldValueInvalid", "message": cause,
                     "field": "metadata.name"}]})
    role = kube.raw("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/alice/roles", token,
                    json={"metadata": {"name": "r"}, "rules": [{"apiGroups": [""]}]})
    assert role.status_code == 422
    assert role.json()["message"].startswith(
        'Role.rbac.authorization.k8s.io "r" is invalid: rules[0].verbs: Required value')
    assert role.json()["details"]["group"] == "rbac.authorization.k8s.io"
    garbage = kube.raw("POST", "/api/v1/namespaces", token, data=b"{not json",
                       headers={"Content-Type": "application/json"})
    assert garbage.status_code == 400
    assert garbage.json()["reason"] == "BadRequest"
    unknown = kube.raw("GET", "/api/v1/nodes", token)
    assert unknown.json() == status_body(
        404, "NotFound", "the server could not find the requested resource", {})
    assert kube.snapshot() == before


def test_watch_is_refused_rather_than_hanging(kube: KubeEnv) -> None:
    token = kube.admin_token()
    assert kube.raw("GET", "/api/v1/namespaces", token).status_code == 200
    watch = kube.raw("GET", "/api/v1/namespaces?watch=true", token)
    assert watch.status_code == 405
    assert watch.json()["reason"] == "MethodNotAllowed"


def test_table_for_kubectl_and_plain_list_otherwise(kube: KubeEnv) -> None:
    token = kube.admin_token()
    plain = kube.raw("GET", "/api/v1/namespaces", token).json()
    assert (plain["kind"], plain["apiVersion"]) == ("NamespaceList", "v1")
    assert plain["metadata"]["resourceVersion"]
    kube.emulator.advance(300)
    table = kube.raw("GET", "/api/v1/namespaces", token, headers={
        "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}).json()
    assert (table["kind"], table["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Status", "Age"]
    rows = {row["cells"][0]: row for row in table["rows"]}
    assert rows[OWNER_NAMESPACE]["cells"] == [OWNER_NAMESPACE, "Active", "5m"]
    assert rows[OWNER_NAMESPACE]["object"]["kind"] == "PartialObjectMetadata"
    assert rows[OWNER_NAMESPACE]["object"]["metadata"]["name"] == OWNER_NAMESPACE


def test_system_namespace_cannot_be_deleted_and_admin_can_delete_others(kube: KubeEnv) -> None:
    with kube.admin() as api:
        core = client.CoreV1Api(api)
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="scratch")))
        core.delete_namespace("scratch")
        assert "scratch" not in {ns.metadata.name for ns in core.list_namespace().items}
        with pytest.raises(client.ApiException) as denied:
            core.delete_namespace("default")
    assert status_of(denied.value)["message"] == (
        'namespaces "default" is forbidden: this namespace may not be deleted')
    with kube.as_user(OWNER) as api, pytest.raises(client.ApiException) as tenant:
        client.CoreV1Api(api).delete_namespace(OWNER_NAMESPACE)
    assert status_of(tenant.value)["message"] == (
        'namespaces "alice" is forbidden: User "alice@example.com" cannot delete resource '
        '"namespaces" in API group "" in the namespace "alice"')


def test_a_delete_moves_the_list_resource_version(kube: KubeEnv) -> None:
    path = "/api/v1/namespaces/alice/secrets"
    admin = kube.admin_token()
    created = kube.raw("POST", path, admin, json={"metadata": {"name": "gone"}})
    assert created.status_code == 201, created.text
    before = kube.raw("GET", path, admin).json()["metadata"]["resourceVersion"]
    assert kube.raw("DELETE", path + "/gone", admin).status_code == 200
    after = kube.raw("GET", path, admin).json()
    assert [item["metadata"]["name"] for item in after["items"]] == [ARTIFACT_SECRET]
    assert int(after["metadata"]["resourceVersion"]) > int(before)

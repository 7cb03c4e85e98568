"""The one authorizer: RBAC semantics a SubjectAccessReview from KFP relies on."""

from __future__ import annotations

import pytest

from emulator.kube.cluster import Cluster, ClusterError, contributor_binding_name
from emulator.kube.rbac import (
    ClusterRole,
    PolicyRule,
    ResourceAttributes,
    Role,
    RoleBinding,
    RoleRef,
    Subject,
    service_account_username,
)

VIEW_VERBS = {"experiments": {"get", "list"}, "runs": {"get", "list", "readArtifact"},
              "jobs": {"get", "list"}, "pipelines": {"get", "list"}}
EDIT_ONLY = {"experiments": {"create", "delete", "archive", "unarchive"},
             "runs": {"create", "delete", "archive", "unarchive", "retry", "terminate",
                      "reportMetrics"},
             "jobs": {"create", "delete", "enable", "disable"},
             "pipelines": {"create", "delete", "update"}}


@pytest.fixture
def cluster() -> Cluster:
    c = Cluster()
    c.create_profile("alice", "alice@example.com")
    c.create_profile("bob", "bob@example.com")
    c.add_contributor("alice", "carol@example.com", "edit")
    c.add_contributor("alice", "victor@example.com", "view")
    return c


def allowed(cluster: Cluster, user: str, verb: str, resource: str, namespace: str) -> bool:
    return cluster.authorizer.review(
        user, ResourceAttributes(namespace=namespace, verb=verb, resource=resource)).allowed


@pytest.mark.parametrize("resource", sorted(VIEW_VERBS))
def test_view_edit_admin_verb_sets_follow_the_kubeflow_roles(cluster: Cluster,
                                                            resource: str) -> None:
    for verb in VIEW_VERBS[resource]:
        assert allowed(cluster, "victor@example.com", verb, resource, "alice")
        assert allowed(cluster, "carol@example.com", verb, resource, "alice")
        assert allowed(cluster, "alice@example.com", verb, resource, "alice")
    for verb in EDIT_ONLY[resource]:
        assert not allowed(cluster, "victor@example.com", verb, resource, "alice")
        assert allowed(cluster, "carol@example.com", verb, resource, "alice")
        assert allowed(cluster, "alice@example.com", verb, resource, "alice")


def test_nobody_reaches_into_another_namespace(cluster: Cluster) -> None:
    assert allowed(cluster, "bob@example.com", "get", "experiments", "bob")
    for verb in ("get", "list", "create", "delete"):
        assert not allowed(cluster, "bob@example.com", verb, "experiments", "alice")
        assert not allowed(cluster, "carol@example.com", verb, "experiments", "bob")


def test_profile_service_accounts_get_edit_and_view(cluster: Cluster) -> None:
    editor = service_account_username("alice", "default-editor")
    viewer = service_account_username("alice", "default-viewer")
    assert allowed(cluster, editor, "create", "runs", "alice")
    assert allowed(cluster, viewer, "list", "runs", "alice")
    assert not allowed(cluster, viewer, "create", "runs", "alice")
    assert not allowed(cluster, editor, "list", "runs", "bob")


def test_custom_role_with_partial_verbs_is_honoured_verb_by_verb(cluster: Cluster) -> None:
    cluster.rbac.put_role(Role("alice", "archiver", [
        PolicyRule(("pipelines.kubeflow.org",), ("experiments",), ("get", "list", "archive"))]))
    cluster.rbac.put_binding(RoleBinding("alice", "dana-archiver", RoleRef("Role", "archiver"),
                                         [Subject("User", "dana@example.com")]))
    assert allowed(cluster, "dana@example.com", "archive", "experiments", "alice")
    assert not allowed(cluster, "dana@example.com", "delete", "experiments", "alice")
    assert not allowed(cluster, "dana@example.com", "archive", "runs", "alice")
    # A Role is namespaced: the same name in another namespace grants nothing there.
    assert not allowed(cluster, "dana@example.com", "archive", "experiments", "bob")


def test_group_bindings_never_match_because_kfp_sends_no_groups(cluster: Cluster) -> None:
    cluster.rbac.put_binding(RoleBinding(
        "alice", "all-sas", RoleRef("ClusterRole", "kubeflow-edit"),
        [Subject("Group", "system:serviceaccounts:bob")]))
    bob_editor = service_account_username("bob", "default-editor")
    assert not allowed(cluster, bob_editor, "get", "experiments", "alice")


def test_aggregation_follows_labels_like_kubernetes(cluster: Cluster) -> None:
    cluster.put_cluster_role(ClusterRole(
        "extra-view", [PolicyRule(("pipelines.kubeflow.org",), ("widgets",), ("get",))],
        labels={"rbac.authorization.kubeflow.org/aggregate-to-kubeflow-view": "true"}))
    assert allowed(cluster, "victor@example.com", "get", "widgets", "alice")
    assert allowed(cluster, "alice@example.com", "get", "widgets", "alice")  # admin ⊇ view


def test_every_decision_is_recorded_with_its_reason(cluster: Cluster) -> None:
    before = cluster.authorizer.last_seq()
    allowed(cluster, "carol@example.com", "delete", "runs", "alice")
    allowed(cluster, "bob@example.com", "delete", "runs", "alice")
    granted, denied = cluster.authorizer.decisions(before)
    assert (granted.user, granted.verb, granted.namespace, granted.allowed) == (
        "carol@example.com", "delete", "alice", True)
    assert "kubeflow-edit" in granted.reason
    assert (denied.user, denied.allowed, denied.sar_reason) == ("bob@example.com", False, "")
    assert "no binding" in denied.reason and "alice" in denied.reason


def test_contributor_binding_names_follow_kfam() -> None:
    assert contributor_binding_name("alice@example.com", "edit") == \
        "user-alice-example-com-clusterrole-edit"
    assert contributor_binding_name("First.Last+x@Corp.io", "view") == \
        "user-first-last-x-corp-io-clusterrole-view"


def test_removing_a_contributor_revokes_access(cluster: Cluster) -> None:
    assert allowed(cluster, "carol@example.com", "create", "runs", "alice")
    cluster.remove_contributor("alice", "carol@example.com", "edit")
    assert not allowed(cluster, "carol@example.com", "create", "runs", "alice")
    with pytest.raises(ClusterError) as raised:
        cluster.remove_contributor("alice", "carol@example.com", "edit")
    assert raised.value.code == 404


def test_profile_cannot_adopt_a_namespace_owned_by_someone_else(cluster: Cluster) -> None:
    with pytest.raises(ClusterError) as raised:
        cluster.create_profile("alice", "mallory@example.com")
    assert raised.value.code == 409
    assert cluster.profiles["alice"].owner == "alice@example.com"


def test_invalid_namespace_names_are_rejected() -> None:
    with pytest.raises(ClusterError) as raised:
        Cluster().create_namespace("Not_A_Label")
    assert raised.value.code == 422


def test_deleting_a_profile_removes_its_bindings(cluster: Cluster) -> None:
    assert allowed(cluster, "bob@example.com", "list", "runs", "bob")
    cluster.delete_profile("bob")
    assert not allowed(cluster, "bob@example.com", "list", "runs", "bob")
    assert "bob" not in cluster.namespaces


def test_permission_denied_text_names_the_resource_attributes() -> None:
    attrs = ResourceAttributes(namespace="ns2", verb="get", resource="experiments", name="exp1")
    assert attrs.go_repr() == (
        "&ResourceAttributes{Namespace:ns2,Verb:get,Group:pipelines.kubeflow.org,"
        "Version:v1beta1,Resource:experiments,Subresource:,Name:exp1,FieldSelector:nil,"
        "LabelSelector:nil,}")


def test_a_profile_with_an_unknown_contributor_role_is_refused_whole() -> None:
    from emulator.core import Emulator, ProfileSpec

    emulator = Emulator()
    with pytest.raises(ValueError, match="unknown contributor role"):
        emulator.add_profile(ProfileSpec("team", "ann@example.com",
                                         (("ben@example.com", "owner"),)))
    assert "team" not in emulator.cluster.profiles
    assert "team" not in emulator.cluster.namespaces

"""Provisioning through the Kubernetes API: what it makes, that KFP honours it, and teardown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from conformance.provisioning import (
    CustomRole,
    Tenant,
    deprovision,
    kfam_binding_name,
    provision,
)
from emulator.core import Emulator
from emulator.serving import EmulatorServer
from emulator.testing import assert_denied

TEAM = Tenant("team-a", "ann@example.com",
              contributors=(("eve@example.com", "edit"), ("val@example.com", "view")),
              roles=(CustomRole("reader", ("experiments",), ("get", "list"),
                                ("rita@example.com",)),))
OTHER = Tenant("team-b", "ben@example.com")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[EmulatorServer, k8s.ApiClient]]:
    with EmulatorServer(Emulator(profiles=[])) as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        api = k8s_config.new_client_from_config(config_file=str(kubeconfig))
        try:
            yield server, api
        finally:
            api.close()


def _list(server: EmulatorServer, user: str, namespace: str) -> requests.Response:
    return requests.get(f"{server.url}/apis/v2beta1/experiments?namespace={namespace}",
                        headers={"kubeflow-userid": user}, timeout=5)


def test_provisioned_tenants_are_what_kfp_decides_on(
        cluster: tuple[EmulatorServer, k8s.ApiClient]) -> None:
    server, api = cluster
    made = provision(api, [TEAM, OTHER])
    bindings = {b.metadata.name: b for b in
                k8s.RbacAuthorizationV1Api(api).list_namespaced_role_binding("team-a").items}
    eve = bindings[kfam_binding_name("eve@example.com", "edit")]
    assert eve.metadata.annotations == {"user": "eve@example.com", "role": "edit"}
    assert eve.role_ref.name == "kubeflow-edit"
    assert bindings["reader-binding"].role_ref.kind == "Role"
    # Every person of the tenant gets in; the other tenant's owner does not.
    for user in ("ann@example.com", "eve@example.com", "val@example.com", "rita@example.com"):
        assert _list(server, user, "team-a").status_code == 200, user
    assert_denied(_list(server, "ben@example.com", "team-a"))
    # The minted editor token is a KFP credential of the tenant's namespace only.
    token = {"Authorization": f"Bearer {made.tokens['team-a']}"}
    assert requests.get(f"{server.url}/apis/v2beta1/experiments?namespace=team-a",
                        headers=token, timeout=5).status_code == 200
    assert_denied(requests.get(f"{server.url}/apis/v2beta1/experiments?namespace=team-b",
                               headers=token, timeout=5))
    assert made.service_account_user("team-a") == \
        "system:serviceaccount:team-a:default-editor"


def test_deprovision_removes_the_tenants_and_is_repeatable(
        cluster: tuple[EmulatorServer, k8s.ApiClient]) -> None:
    server, api = cluster
    provision(api, [TEAM])
    assert _list(server, "ann@example.com", "team-a").status_code == 200
    assert deprovision(api, [TEAM]) == []
    names = {n.metadata.name for n in k8s.CoreV1Api(api).list_namespace().items}
    assert "team-a" not in names
    assert_denied(_list(server, "ann@example.com", "team-a"))
    assert deprovision(api, [TEAM]) == ["team-a"]  # already gone: harmless


def test_an_unknown_contributor_role_is_refused_before_anything_is_made() -> None:
    with pytest.raises(ValueError, match="has role 'owner'"):
        Tenant("t", "a@x", contributors=(("b@x", "owner"),))

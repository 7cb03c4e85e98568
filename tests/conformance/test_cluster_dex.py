"""Dex static users for the cast: the configuration transform and the API calls that apply it.

The emulator's Kubernetes API has no PUT and no apps/v1 Deployments, so the ConfigMap replace
and the rollout restart are checked against a small fake of the client's API classes."""

from __future__ import annotations

import sys
from typing import Any

import bcrypt
import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from conformance.cluster import dex

DEFAULT_USER = {"email": "user@example.com", "hashFromEnv": "DEX_USER_PASSWORD",
                "username": "user", "userID": "15841185641784"}
CONFIG = {"issuer": "http://dex.auth.svc.cluster.local:5556/dex",
          "enablePasswordDB": False,
          "staticPasswords": [DEFAULT_USER],
          "staticClients": [{"idEnv": "OIDC_CLIENT_ID", "redirectURIs": ["/oauth2/callback"]}]}


def by_email(config: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {entry["email"]: entry for entry in config["staticPasswords"]}


def test_users_are_added_with_verifiable_hashes_and_others_kept() -> None:
    passwords = {"alice@example.com": "pw-a", "bob@example.com": "pw-b"}
    updated = dex.with_users(CONFIG, {e: dex.hash_password(p) for e, p in passwords.items()})
    users = by_email(updated)
    assert users["user@example.com"] == DEFAULT_USER
    for email, password in passwords.items():
        entry = users[email]
        assert bcrypt.checkpw(password.encode(), entry["hash"].encode())
        assert not bcrypt.checkpw(b"wrong", entry["hash"].encode())
        assert entry["username"] == email.split("@")[0]
        assert entry["hash"].startswith("$2a$10$")  # the form Dex's examples use
        assert password not in yaml.safe_dump(updated)
    assert len({entry["userID"] for entry in users.values()}) == 3
    assert updated["enablePasswordDB"] is True
    assert updated["staticClients"] == CONFIG["staticClients"]
    assert CONFIG["staticPasswords"] == [DEFAULT_USER]  # the input is left alone


def test_adding_again_replaces_the_entry_of_the_same_email() -> None:
    first = dex.with_users(CONFIG, {"alice@example.com": dex.hash_password("one")})
    second = dex.with_users(first, {"Alice@Example.com": dex.hash_password("two")})
    alices = [e for e in second["staticPasswords"] if e["email"].lower() == "alice@example.com"]
    assert len(alices) == 1
    assert bcrypt.checkpw(b"two", alices[0]["hash"].encode())
    assert len(second["staticPasswords"]) == 2
    # the same email keeps the same userID across re-registrations
    assert by_email(first)["alice@example.com"]["userID"] == alices[0]["userID"]


def test_a_config_without_users_gets_them() -> None:
    updated = dex.with_users({"issuer": "x"}, {"a@example.com": "$2b$10$hash"})
    assert [e["email"] for e in updated["staticPasswords"]] == ["a@example.com"]


def test_fresh_passwords_differ() -> None:
    passwords = dex.fresh_passwords(["a@example.com", "b@example.com"])
    assert len(set(passwords.values())) == 2 and all(len(p) >= 16 for p in passwords.values())
    assert passwords != dex.fresh_passwords(["a@example.com", "b@example.com"])


def test_without_bcrypt_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "bcrypt", None)  # import bcrypt raises ImportError
    with pytest.raises(dex.DexError, match=r"kfp-isolation\[cluster\]"):
        dex.hash_password("x")


class FakeCore:
    """CoreV1Api's two ConfigMap calls the registration makes."""

    def __init__(self, maps: dict[tuple[str, str], k8s.V1ConfigMap]) -> None:
        self.maps = maps
        self.replaced: list[tuple[str, str, k8s.V1ConfigMap]] = []

    def read_namespaced_config_map(self, name: str, namespace: str) -> k8s.V1ConfigMap:
        return self.maps[(namespace, name)]

    def replace_namespaced_config_map(self, name: str, namespace: str,
                                      body: k8s.V1ConfigMap) -> k8s.V1ConfigMap:
        self.replaced.append((namespace, name, body))
        return body


class FakeApps:
    def __init__(self) -> None:
        self.patched: list[tuple[str, str, dict[str, Any]]] = []

    def patch_namespaced_deployment(self, name: str, namespace: str,
                                    body: dict[str, Any]) -> None:
        self.patched.append((namespace, name, body))


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeCore, FakeApps]:
    configmap = k8s.V1ConfigMap(
        metadata=k8s.V1ObjectMeta(name="dex", namespace="auth", resource_version="42"),
        data={"config.yaml": yaml.safe_dump(CONFIG)})
    core, apps = FakeCore({("auth", "dex"): configmap}), FakeApps()
    monkeypatch.setattr(dex.k8s, "CoreV1Api", lambda api: core)
    monkeypatch.setattr(dex.k8s, "AppsV1Api", lambda api: apps)
    return core, apps


def test_register_replaces_the_configmap_and_restarts_dex(
        fakes: tuple[FakeCore, FakeApps]) -> None:
    core, apps = fakes
    dex.register(k8s.ApiClient(), {"alice@example.com": "secret-a"})
    [(namespace, name, body)] = core.replaced
    assert (namespace, name) == ("auth", "dex")
    assert body.metadata.resource_version == "42"  # a replace guarded by what was read
    config = yaml.safe_load(body.data["config.yaml"])
    users = by_email(config)
    assert bcrypt.checkpw(b"secret-a", users["alice@example.com"]["hash"].encode())
    assert users["user@example.com"] == DEFAULT_USER
    assert "secret-a" not in body.data["config.yaml"]
    [(namespace, name, patch)] = apps.patched
    assert (namespace, name) == ("auth", "dex")
    annotations = patch["spec"]["template"]["metadata"]["annotations"]
    assert annotations[dex.RESTARTED_AT].endswith("Z")


def test_a_dex_configmap_without_its_config_is_an_error(
        fakes: tuple[FakeCore, FakeApps]) -> None:
    core, apps = fakes
    core.maps[("auth", "dex")].data = {"other": "x"}
    with pytest.raises(dex.DexError, match=r"config\.yaml"):
        dex.register(k8s.ApiClient(), {"alice@example.com": "pw"})
    assert core.replaced == [] and apps.patched == []


def test_a_config_that_is_not_a_mapping_is_an_error() -> None:
    with pytest.raises(dex.DexError, match="not a mapping"):
        dex.parse_config("- a\n- b\n")
    with pytest.raises(dex.DexError, match="not YAML"):
        dex.parse_config("a: [\n")


def test_a_cluster_without_dex_is_named(fakes: tuple[FakeCore, FakeApps]) -> None:
    core, apps = fakes

    def missing(name: str, namespace: str) -> k8s.V1ConfigMap:
        raise ApiException(status=404, reason="Not Found")
    core.read_namespaced_config_map = missing  # type: ignore[method-assign]
    with pytest.raises(dex.DexError, match="no ConfigMap auth/dex"):
        dex.register(k8s.ApiClient(), {"alice@example.com": "pw"})
    assert apps.patched == []

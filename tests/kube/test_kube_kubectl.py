"""The real kubectl (v1.32) against the emulator's Kubernetes API, unchanged.

kubectl sends kubeconfig credentials only to an https server, reads legacy discovery when the
response is plain ``application/json``, asks for server-side Tables, and sends typed requests
(create namespace/token, auth can-i/whoami) as protobuf.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from kube_support import KubeEnv

from emulator.kube.kubeconfig import write_kubeconfig
from emulator.testing import OWNER, OWNER_NAMESPACE, STRANGER, assert_denied

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


def _kubectl(kubeconfig: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert KUBECTL is not None
    return subprocess.run([KUBECTL, "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache),
                           *args], capture_output=True, text=True, timeout=30, check=False)


def _tenant_kubeconfig(kube: KubeEnv, email: str, path: Path) -> Path:
    return write_kubeconfig(path, kube.server.kube_url, kube.kube_token(email),
                            ca_pem=kube.server.kube_cert.cert_pem)


def test_get_namespaces_and_profiles(kube: KubeEnv, tmp_path: Path) -> None:
    namespaces = _kubectl(kube.kubeconfig, tmp_path, "get", "namespaces")
    assert namespaces.returncode == 0, namespaces.stderr
    lines = [line.split() for line in namespaces.stdout.splitlines()]
    assert lines[0] == ["NAME", "STATUS", "AGE"]
    assert [OWNER_NAMESPACE, "Active", "0s"] in lines
    for resource in ("profiles", "profiles.v1beta1.kubeflow.org"):
        profiles = _kubectl(kube.kubeconfig, tmp_path, "get", resource)
        assert profiles.returncode == 0, profiles.stderr
        assert [line.split()[0] for line in profiles.stdout.splitlines()] == [
            "NAME", "alice", "bob"]
    owner = _kubectl(kube.kubeconfig, tmp_path, "get", "profile", "alice",
                     "-o", "jsonpath={.spec.owner.name}")
    assert (owner.returncode, owner.stdout) == (0, OWNER)


def test_tenant_kubeconfig_can_i_and_forbidden_listing(kube: KubeEnv, tmp_path: Path) -> None:
    alice = _tenant_kubeconfig(kube, OWNER, tmp_path / "alice")
    bob = _tenant_kubeconfig(kube, STRANGER, tmp_path / "bob")
    args = ("auth", "can-i", "create", "secrets", "-n", OWNER_NAMESPACE)
    yes = _kubectl(alice, tmp_path / "c1", *args)
    assert (yes.returncode, yes.stdout.strip()) == (0, "yes"), yes.stderr
    no = _kubectl(bob, tmp_path / "c2", *args)
    assert (no.returncode, no.stdout.strip()) == (1, "no"), no.stderr
    # KFP's resources are no Kubernetes API resources: kubectl cannot resolve them through
    # discovery and asks about the literal resource "experiments.pipelines.kubeflow.org" in
    # the core group, which no role grants -- "no" even for the owner, as on a real cluster.
    kfp = _kubectl(alice, tmp_path / "c1", "auth", "can-i", "create",
                   "experiments.pipelines.kubeflow.org", "-n", OWNER_NAMESPACE)
    assert (kfp.returncode, kfp.stdout.strip()) == (1, "no")
    assert "the server doesn't have a resource type 'experiments'" in kfp.stderr
    own = _kubectl(alice, tmp_path / "c1", "get", "namespace", OWNER_NAMESPACE)
    assert own.returncode == 0, own.stderr
    listing = _kubectl(alice, tmp_path / "c1", "get", "namespaces")
    assert listing.returncode == 1
    assert listing.stderr.strip() == (
        'Error from server (Forbidden): namespaces is forbidden: User "alice@example.com" '
        'cannot list resource "namespaces" in API group "" at the cluster scope')
    whoami = _kubectl(alice, tmp_path / "c1", "auth", "whoami", "-o",
                      "jsonpath={.status.userInfo.username}")
    assert (whoami.returncode, whoami.stdout) == (0, OWNER)


def test_create_and_delete_namespace(kube: KubeEnv, tmp_path: Path) -> None:
    created = _kubectl(kube.kubeconfig, tmp_path, "create", "namespace", "scratch")
    assert (created.returncode, created.stdout.strip()) == (0, "namespace/scratch created"), \
        created.stderr
    assert kube.raw("GET", "/api/v1/namespaces/scratch", kube.admin_token()).status_code == 200
    deleted = _kubectl(kube.kubeconfig, tmp_path, "delete", "namespace", "scratch")
    assert (deleted.returncode, deleted.stdout.strip()) == (0, 'namespace "scratch" deleted'), \
        deleted.stderr
    assert kube.raw("GET", "/api/v1/namespaces/scratch", kube.admin_token()).status_code == 404


def test_create_token(kube: KubeEnv, tmp_path: Path) -> None:
    token = _kubectl(kube.kubeconfig, tmp_path, "create", "token", "default-editor", "-n",
                     OWNER_NAMESPACE, "--audience", "pipelines.kubeflow.org")
    assert token.returncode == 0, token.stderr
    listed = kube.kfp_bearer(token.stdout.strip()).get(
        f"/apis/v2beta1/experiments?namespace={OWNER_NAMESPACE}")
    assert listed.status_code == 200, listed.text
    short = _kubectl(kube.kubeconfig, tmp_path, "create", "token", "default-editor", "-n",
                     OWNER_NAMESPACE, "--duration", "5m")
    assert short.returncode == 1
    assert short.stderr.strip() == (
        'error: failed to create token: TokenRequest.authentication.k8s.io "" is invalid: '
        "spec.expirationSeconds: Invalid value: 300: may not specify a duration less than "
        "10 minutes")


def test_create_rolebinding_grants_kfp_access(kube: KubeEnv, tmp_path: Path) -> None:
    newcomer = "nina@example.com"
    assert_denied(kube.kfp_as(newcomer).get(
        f"/apis/v2beta1/experiments?namespace={OWNER_NAMESPACE}"))
    alice = _tenant_kubeconfig(kube, OWNER, tmp_path / "alice")
    made = _kubectl(alice, tmp_path / "c", "create", "rolebinding", "nina-view", "-n",
                    OWNER_NAMESPACE, "--clusterrole", "kubeflow-view", "--user", newcomer)
    assert made.returncode == 0, made.stderr
    after = kube.kfp_as(newcomer).get(f"/apis/v2beta1/experiments?namespace={OWNER_NAMESPACE}")
    assert after.status_code == 200, after.text

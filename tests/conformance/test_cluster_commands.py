"""The kind recipe's pure parts (``conformance.cluster.commands`` and ``versions``): pinned
versions, the kind configuration, the command lines, and the error naming every missing
binary."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from conformance.cluster import commands, versions

TOOLS = commands.Tools(kind="/bin/kind", kubectl="/bin/kubectl", kustomize="/bin/kustomize")


def value_after(argv: list[str], flag: str) -> str:
    assert flag in argv, argv
    return argv[argv.index(flag) + 1]


def test_the_node_image_is_pinned_by_digest_and_kubectl_is_its_minor() -> None:
    image, digest = versions.KIND_NODE_IMAGE.split("@")
    assert image.startswith("kindest/node:v") and re.fullmatch(r"sha256:[0-9a-f]{64}", digest)
    node_minor = image.split(":v")[1].split(".")[:2]
    assert versions.KUBECTL_VERSION.lstrip("v").split(".")[:2] == node_minor
    assert re.fullmatch(r"v\d+\.\d+\.\d+", versions.KIND_VERSION)


def test_the_default_manifests_are_a_kustomize_remote_target_at_the_pinned_ref() -> None:
    url = versions.manifests_url("example")
    assert url.startswith("https://github.com/kubeflow/manifests//example")
    assert url.endswith(f"?ref={versions.KUBEFLOW_MANIFESTS_REF}")
    assert versions.manifests_url("/common/dex/base/").split("//")[2].startswith("common/dex/base?")


def test_the_kind_config_sets_the_service_account_issuer_for_projected_tokens() -> None:
    config = yaml.safe_load(commands.kind_config("my-cluster"))
    assert (config["apiVersion"], config["kind"], config["name"]) == \
        ("kind.x-k8s.io/v1alpha4", "Cluster", "my-cluster")
    assert [node["role"] for node in config["nodes"]] == ["control-plane"]
    [patch_text] = config["kubeadmConfigPatches"]
    patch = yaml.safe_load(patch_text)  # kind takes each patch as a YAML string
    assert patch["kind"] == "ClusterConfiguration"
    # No apiVersion: kind would skip a patch whose apiVersion differs from the kubeadm
    # document it generates (v1beta3 for Kubernetes >= 1.23).
    assert "apiVersion" not in patch
    args = patch["apiServer"]["extraArgs"]
    assert args["service-account-issuer"] == "https://kubernetes.default.svc"
    assert args["service-account-signing-key-file"] == "/etc/kubernetes/pki/sa.key"


def test_kind_commands(tmp_path: Path) -> None:
    config, kubeconfig = tmp_path / "kind.yaml", tmp_path / "kubeconfig"
    create = commands.kind_create(TOOLS, "c1", config, kubeconfig, "kindest/node:v9")
    assert create[:3] == ["/bin/kind", "create", "cluster"]
    assert value_after(create, "--name") == "c1"
    assert value_after(create, "--config") == str(config)
    assert value_after(create, "--image") == "kindest/node:v9"
    assert value_after(create, "--kubeconfig") == str(kubeconfig)
    assert value_after(commands.kind_create(TOOLS, "c1", config, kubeconfig), "--image") == \
        versions.KIND_NODE_IMAGE
    delete = commands.kind_delete(TOOLS, "c1")
    assert delete[:3] == ["/bin/kind", "delete", "cluster"]
    assert value_after(delete, "--name") == "c1"
    assert commands.kind_get_clusters(TOOLS) == ["/bin/kind", "get", "clusters"]
    export = commands.kind_export_kubeconfig(TOOLS, "c1", kubeconfig)
    assert export[1:3] == ["export", "kubeconfig"]
    assert value_after(export, "--kubeconfig") == str(kubeconfig)


def test_kubectl_commands_name_the_kubeconfig(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    deployments = commands.Ready("KFP", "kubeflow", "a=b,c in (d,e)")
    pods = commands.Ready("KFP", "kubeflow", "a=b", resource="pods")
    argvs = [commands.apply_server_side(TOOLS, kubeconfig),
             commands.wait_ready(TOOLS, kubeconfig, deployments, 90),
             commands.wait_ready(TOOLS, kubeconfig, pods, 90),
             commands.port_forward(TOOLS, kubeconfig, 8081)]
    for argv in argvs:
        assert argv[0] == "/bin/kubectl" and value_after(argv, "--kubeconfig") == str(kubeconfig)
    apply, wait, wait_pods, forward = argvs
    assert {"apply", "--server-side", "--force-conflicts"} <= set(apply)
    assert value_after(apply, "-f") == "-"
    assert {"wait", "--for=condition=Available", "deployment", "--timeout=90s"} <= set(wait)
    assert (value_after(wait, "-n"), value_after(wait, "-l")) == ("kubeflow", "a=b,c in (d,e)")
    assert "--all" not in wait
    assert {"wait", "--for=condition=Ready", "pods"} <= set(wait_pods)
    assert "--field-selector=status.phase!=Succeeded" in wait_pods  # completed pods never Ready
    assert "port-forward" in forward and value_after(forward, "-n") == "istio-system"
    assert "svc/istio-ingressgateway" in forward and "8081:80" in forward
    assert value_after(forward, "--address") == "127.0.0.1"


def test_build_uses_kustomize_or_kubectls_embedded_one() -> None:
    assert commands.build(TOOLS, "/m/example") == ["/bin/kustomize", "build", "/m/example"]
    without = commands.Tools(kind="/bin/kind", kubectl="/bin/kubectl")
    assert commands.build(without, "/m/example") == ["/bin/kubectl", "kustomize", "/m/example"]


def test_kind_get_clusters_output() -> None:
    assert commands.clusters_listed("kfp-isolation\nother\n") == ["kfp-isolation", "other"]
    assert commands.clusters_listed("No kind clusters found.\n") == []


def fake_which(present: set[str]) -> Callable[[str], str | None]:
    return lambda name: f"/usr/bin/{name}" if name in present else None


def test_every_missing_binary_is_named_with_where_to_get_it() -> None:
    with pytest.raises(commands.MissingTools) as raised:
        commands.Tools.find(need_git=True, which=fake_which(set()))
    message = str(raised.value)
    for name in ("kind (", "kubectl (", "git (", "docker", "podman"):
        assert name in message, message
    assert "https://kind.sigs.k8s.io/dl/" + versions.KIND_VERSION in message
    assert "dl.k8s.io/release/" + versions.KUBECTL_VERSION in message


def test_only_the_missing_ones_are_named() -> None:
    with pytest.raises(commands.MissingTools) as raised:
        commands.Tools.find(which=fake_which({"kind", "podman"}))
    message = str(raised.value)
    assert "kubectl (" in message
    assert "kind (" not in message and "container engine" not in message and "git" not in message


def test_found_tools_and_optional_ones() -> None:
    tools = commands.Tools.find(which=fake_which({"kind", "kubectl", "docker"}))
    assert (tools.kind, tools.kubectl, tools.kustomize) == ("/usr/bin/kind", "/usr/bin/kubectl", "")
    assert commands.Tools.find(need_engine=False, which=fake_which({"kind", "kubectl"})).kind


def test_the_real_path_lookup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_kubectl = tmp_path / "kubectl"
    fake_kubectl.write_text("#!/bin/sh\n")
    fake_kubectl.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(commands.MissingTools) as raised:
        commands.Tools.find()
    message = str(raised.value)
    assert "kind (" in message and "container engine" in message
    assert "kubectl (" not in message

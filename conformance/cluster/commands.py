"""The kind configuration and every command line the recipe runs (kind, kustomize, kubectl), as
pure functions.

The kind configuration asks the API server to issue ServiceAccount tokens with the issuer
``https://kubernetes.default.svc`` signed by the cluster's own key, as the kubeflow/manifests
kind script does (``tests/install_KinD_create_KinD_cluster_install_kustomize.sh``): projected
tokens (the audience-bound ``pipelines.kubeflow.org`` token KFP reviews) and the
``m2m-dex-and-kind`` oauth2-proxy overlay expect that issuer.  The patch names no
``apiVersion``: kind applies a patch only to the kubeadm document of the same kind and, when
given, the same apiVersion (``pkg/internal/patch/resource.go``).  kind v0.30.0 writes kubeadm
``v1beta3`` for Kubernetes >= 1.23, so the manifests' ``v1beta2`` patch of that release matches
nothing and is silently dropped; without an apiVersion it applies, and a future kubeadm
version with another ``extraArgs`` shape fails loudly instead of being skipped.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from conformance.cluster import versions

SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc"
KUBEADM_DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local"
SIGNING_KEY_FILE = "/etc/kubernetes/pki/sa.key"
GATEWAY_NAMESPACE = "istio-system"
GATEWAY_SERVICE = "istio-ingressgateway"
GATEWAY_SERVICE_PORT = 80  # the Service's http2 port (common/istio/istio-install)
CONTAINER_ENGINES = ("docker", "podman", "nerdctl")  # kind's node providers

WHERE = {
    "kind": f"https://kind.sigs.k8s.io/dl/{versions.KIND_VERSION}/kind-linux-amd64, see "
            "https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
    "kubectl": f"https://dl.k8s.io/release/{versions.KUBECTL_VERSION}/bin/linux/amd64/kubectl",
    "git": "your distribution's git package (kustomize clones remote manifests with it)",
    "container engine": "Docker (https://docs.docker.com/engine/install/) or Podman "
                        "(https://podman.io/docs/installation); kind runs its nodes there",
}


# The oauth2-proxy parts kubeflow/manifests' ``m2m-dex-and-kind`` overlay adds to the
# ``m2m-dex-only`` one its ``example`` uses: a RequestAuthentication trusting the cluster's
# ServiceAccount tokens at the gateway, and a proxy serving the cluster's JWKS to Istio.
M2M_COMPONENTS = ("common/oauth2-proxy/components/cluster-jwks-proxy",
                  "common/oauth2-proxy/components/istio-m2m")
JWKS_URI = "http://cluster-jwks-proxy.istio-system.svc.cluster.local/openid/v1/jwks"


@dataclass(frozen=True)
class Ready:
    """Workloads the suite needs, found by a label kubeflow/manifests gives them: Deployments
    must be Available, pods (``resource="pods"``) Ready.

    :data:`READY` is what certification needs and nothing else, so a Katib, KServe, Knative or
    notebook component that never comes up does not hold up certifying KFP.  Where each label
    comes from (read at ``26.03``, and checked on the Deployments ``kubectl kustomize example``
    plus :func:`m2m_overlay` render there, its remote Argo and trainer bases stubbed offline):

    * KFP: ``application-crd-id=kubeflow-pipelines``, which every KFP env kustomization adds
      with ``includeSelectors`` and applications/pipeline/upstream/README.md waits on (pods
      Ready).  The pods wait, as that README's, also covers metacontroller (a StatefulSet, no
      Available condition), which runs KFP's per-namespace profile controller.
    * Profile controller and KFAM (one Deployment, ``profiles-deployment``):
      ``kustomize.component=profiles`` (tests/multi_tenancy_install.sh).
    * cert-manager: ``app.kubernetes.io/instance=cert-manager``
      (tests/cert_manager_install.sh); KFP's cert-manager env needs its certificates.
    * Istio: the ``app`` label of istiod and of the ingress gateway (not Knative's
      cluster-local-gateway).
    * Dex: ``app=dex``; oauth2-proxy: ``app=oauth2-proxy`` on the Deployment (its pods carry
      ``app.kubernetes.io/name=oauth2-proxy``, which the manifests README waits on).
    * The cluster JWKS proxy (:data:`READY_M2M`, only when the m2m overlay adds it):
      ``app.kubernetes.io/name=cluster-jwks-proxy`` (README, tests/oauth2-proxy_install.sh).

    The central dashboard is not needed: the suite talks to ``/pipeline`` and the Kubernetes
    API."""

    what: str
    namespace: str
    selector: str
    resource: str = "deployment"


KFP_SELECTOR = "application-crd-id=kubeflow-pipelines"
READY = (
    Ready("cert-manager", "cert-manager", "app.kubernetes.io/instance=cert-manager"),
    Ready("Istio", GATEWAY_NAMESPACE, "app in (istiod,istio-ingressgateway)"),
    Ready("Dex", "auth", "app=dex"),
    Ready("oauth2-proxy", "oauth2-proxy", "app=oauth2-proxy"),
    Ready("profile controller and KFAM", "kubeflow", "kustomize.component=profiles"),
    Ready("Kubeflow Pipelines", "kubeflow", KFP_SELECTOR),
    Ready("Kubeflow Pipelines", "kubeflow", KFP_SELECTOR, resource="pods"),
)
# Added by the m2m overlay (:func:`m2m_overlay`): Istio fetches the cluster's JWKS from it to
# accept ServiceAccount tokens at the gateway.
READY_M2M = Ready("cluster JWKS proxy", GATEWAY_NAMESPACE,
                  "app.kubernetes.io/name=cluster-jwks-proxy")


class MissingTools(RuntimeError):
    """Binaries the recipe needs are not on PATH (the message names each and where to get it)."""


@dataclass(frozen=True)
class Tools:
    """Paths of the binaries found; ``kustomize`` is optional (``kubectl kustomize`` builds
    too, with kubectl's embedded kustomize)."""

    kind: str
    kubectl: str
    kustomize: str = ""
    git: str = ""

    @classmethod
    def find(cls, *, need_git: bool = False, need_engine: bool = True,
             which: Callable[[str], str | None] = shutil.which) -> Tools:
        missing = [name for name in ("kind", "kubectl") if not which(name)]
        if need_git and not which("git"):
            missing.append("git")
        if need_engine and not any(which(engine) for engine in CONTAINER_ENGINES):
            missing.append("container engine")
        if missing:
            raise MissingTools("missing on PATH: " + "; ".join(_missing(n) for n in missing))
        return cls(kind=which("kind") or "kind", kubectl=which("kubectl") or "kubectl",
                   kustomize=which("kustomize") or "", git=which("git") or "")


def _missing(name: str) -> str:
    if name == "container engine":
        return (f"a container engine for kind ({', '.join(CONTAINER_ENGINES)}): "
                f"{WHERE[name]}")
    return f"{name} (get it from {WHERE[name]})"


def kind_config(name: str) -> str:
    """The kind Cluster configuration (YAML): one control plane with the issuer patch."""
    patch = {
        "kind": "ClusterConfiguration",
        "apiServer": {"extraArgs": {"service-account-issuer": SERVICE_ACCOUNT_ISSUER,
                                    "service-account-signing-key-file": SIGNING_KEY_FILE}},
    }
    config = {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "name": name,
        "kubeadmConfigPatches": [yaml.safe_dump(patch, sort_keys=False)],
        "nodes": [{"role": "control-plane"}],
    }
    return yaml.safe_dump(config, sort_keys=False)


def m2m_overlay(resource: str, components: list[str]) -> str:
    """A kustomization that installs ``resource`` (the manifests' ``example``) with the
    ``m2m-dex-and-kind`` additions: the ``components`` (:data:`M2M_COMPONENTS`, as paths
    relative to the overlay or remote targets) and the RequestAuthentication patched to this
    cluster's issuer, so ServiceAccount tokens are accepted at the gateway as well as Dex
    sessions (the suite's outside-mode callers use both).  Paths must be relative: kustomize
    refuses absolute roots.  Built over ``m2m-dex-only`` of the ``26.03`` checkout, this gives
    the same objects as that release's ``m2m-dex-and-kind`` overlay (checked with
    ``kubectl kustomize``; only the order of the two issuer rules differs)."""
    patch: list[dict[str, object]] = [
        {"op": "replace", "path": "/spec/jwtRules/0/issuer", "value": SERVICE_ACCOUNT_ISSUER},
        {"op": "replace", "path": "/spec/jwtRules/0/jwksUri", "value": JWKS_URI}]
    # kubeadm's own default issuer too, as the upstream overlay has it: should the issuer
    # patch of the kind config not apply, tokens still pass.
    first_rule = "/spec/jwtRules/0"
    patch.append({"op": "copy", "from": first_rule, "path": "/spec/jwtRules/-"})
    patch.append({"op": "replace", "path": "/spec/jwtRules/1/issuer",
                  "value": KUBEADM_DEFAULT_ISSUER})
    overlay = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [resource],
        "components": components,
        "patches": [{"patch": yaml.safe_dump(patch, sort_keys=False),
                     "target": {"group": "security.istio.io", "version": "v1beta1",
                                "kind": "RequestAuthentication", "name": "m2m-token-issuer",
                                "namespace": GATEWAY_NAMESPACE}}],
    }
    return yaml.safe_dump(overlay, sort_keys=False)


def kind_create(tools: Tools, name: str, config: Path, kubeconfig: Path,
                image: str = versions.KIND_NODE_IMAGE, wait: str = "120s") -> list[str]:
    return [tools.kind, "create", "cluster", "--name", name, "--config", str(config),
            "--image", image, "--kubeconfig", str(kubeconfig), "--wait", wait]


def kind_delete(tools: Tools, name: str, kubeconfig: Path | None = None) -> list[str]:
    argv = [tools.kind, "delete", "cluster", "--name", name]
    return argv + (["--kubeconfig", str(kubeconfig)] if kubeconfig else [])


def kind_get_clusters(tools: Tools) -> list[str]:
    return [tools.kind, "get", "clusters"]


def kind_export_kubeconfig(tools: Tools, name: str, kubeconfig: Path) -> list[str]:
    """Re-writes the admin kubeconfig of an existing cluster (an idempotent re-up)."""
    return [tools.kind, "export", "kubeconfig", "--name", name, "--kubeconfig", str(kubeconfig)]


def build(tools: Tools, source: str) -> list[str]:
    """Render a kustomization (a directory or a remote target) to one YAML stream."""
    if tools.kustomize:
        return [tools.kustomize, "build", source]
    return [tools.kubectl, "kustomize", source]


def kubectl(tools: Tools, kubeconfig: Path, *args: str) -> list[str]:
    return [tools.kubectl, "--kubeconfig", str(kubeconfig), *args]


def apply_server_side(tools: Tools, kubeconfig: Path) -> list[str]:
    """Apply the built stream from stdin, as the manifests README does (server-side, taking
    over conflicting fields; CRs fail until their CRDs are served, hence the retries)."""
    return kubectl(tools, kubeconfig, "apply", "--server-side", "--force-conflicts", "-f", "-")


def wait_ready(tools: Tools, kubeconfig: Path, ready: Ready, timeout_seconds: int) -> list[str]:
    """``kubectl wait`` for the workloads ``ready`` selects (never ``--all``: see
    :data:`READY`); pods that completed are left out, as they never become Ready."""
    if ready.resource == "pods":
        condition = ["--for=condition=Ready", "pods", "--field-selector=status.phase!=Succeeded"]
    else:
        condition = ["--for=condition=Available", ready.resource]
    return kubectl(tools, kubeconfig, "wait", *condition, "-l", ready.selector,
                   "-n", ready.namespace, f"--timeout={timeout_seconds}s")


def port_forward(tools: Tools, kubeconfig: Path, port: int) -> list[str]:
    return kubectl(tools, kubeconfig, "port-forward", "--address", "127.0.0.1", "-n",
                   GATEWAY_NAMESPACE, f"svc/{GATEWAY_SERVICE}", f"{port}:{GATEWAY_SERVICE_PORT}")


def clusters_listed(output: str) -> Iterable[str]:
    """The names ``kind get clusters`` printed (it prints a notice, not a name, when none)."""
    return [line.strip() for line in output.splitlines()
            if line.strip() and " " not in line.strip()]

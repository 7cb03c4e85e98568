"""The versions the cluster recipe installs: one place, read by the recipe and the workflows.

Where they come from (read in the mirrored upstream repositories, not guessed):

* ``KUBEFLOW_MANIFESTS_REF`` ``26.03``: the newest release tag of kubeflow/manifests (tagged
  2026-03-21; the earlier ones are ``v1.11.0``, ``v1.10.2``).  Its README's component table
  lists Kubeflow Pipelines 2.16.0, Dex 2.45.0, OAuth2-Proxy 7.14.3, Istio 1.29.0.
* ``KIND_VERSION`` / ``KIND_NODE_IMAGE``: the pair that release's own kind script installs
  (``tests/install_KinD_create_KinD_cluster_install_kustomize.sh`` at ``26.03``: kind v0.30.0,
  ``kindest/node:v1.34.0@sha256:7416a6…``).  kind v0.30.0's default node image
  (``pkg/apis/config/defaults/image.go`` at ``v0.30.0`` in kubernetes-sigs/kind) is the same
  digest, so the pair is also kind's own.
* ``KUSTOMIZE_VERSION``: the same script's kustomize (v5.8.1).  The kind workflow installs
  it; the recipe builds with a ``kustomize`` on PATH and falls back to ``kubectl
  kustomize`` (kubectl's embedded kustomize, which may be another release).
* ``KUBECTL_VERSION``: the node's Kubernetes minor (kubectl supports one minor of skew either
  way); the manifests' script installs the then-latest stable kubectl instead of pinning one.
* ``KFP_VERSION``: the Pipelines release those manifests ship (README table, ``26.03``).
"""

from __future__ import annotations

KUBEFLOW_MANIFESTS_REF = "26.03"
KIND_VERSION = "v0.30.0"
KIND_NODE_IMAGE = ("kindest/node:v1.34.0@sha256:"
                   "7416a61b42b1662ca6ca89f02028ac133a309a2a30ba309614e8ec94d976dc5a")
KUSTOMIZE_VERSION = "v5.8.1"
KUBECTL_VERSION = "v1.34.0"
KFP_VERSION = "2.16.0"

KUBEFLOW_MANIFESTS_REPO = "https://github.com/kubeflow/manifests"


def manifests_url(kustomization: str = "example", ref: str = KUBEFLOW_MANIFESTS_REF) -> str:
    """A kustomize remote target: ``kustomize build`` clones the repository at ``ref`` (with
    ``git``) and builds ``kustomization`` inside it, so its ``../common/...`` resources
    resolve as in a checkout."""
    return f"{KUBEFLOW_MANIFESTS_REPO}//{kustomization.strip('/')}?ref={ref}"

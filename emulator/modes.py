"""The four ways users reach KFP, and which listener of the emulator stands for which door.

A real deployment is either *full* Kubeflow (multi-user: Profiles, Istio, the login proxy) or
*standalone* KFP (single-user: no identity, namespaces ignored).  Clients reach it from *inside*
the cluster (``ml-pipeline.kubeflow:8888`` directly) or from *outside* (the Istio ingress gateway
with the login proxy in full Kubeflow; a port-forward to ``ml-pipeline-ui`` in standalone).
"""

from __future__ import annotations

from enum import Enum

# Every healthz answer of the emulator names its mode in this response header.
MODE_HEADER = "X-Kfp-Isolation-Mode"


class Listener(str, Enum):
    """The emulator's network endpoints."""

    DIRECT = "direct"  # ml-pipeline.kubeflow:8888: trusts the identity header
    GATEWAY = "gateway"  # Istio ingress + login proxy (full) / ml-pipeline-ui (standalone)
    KUBE = "kube"  # the Kubernetes API slice
    OBJECT_STORE = "objectstore"  # minio-service.kubeflow:9000 / seaweedfs.kubeflow:8333 (S3)
    METADATA = "metadata"  # metadata-envoy-service.kubeflow:9090 (ML Metadata, gRPC-web)


class Mode(str, Enum):
    FULL_INSIDE = "full-inside"
    FULL_OUTSIDE = "full-outside"
    STANDALONE_INSIDE = "standalone-inside"
    STANDALONE_OUTSIDE = "standalone-outside"

    @property
    def deployment(self) -> str:
        return self.value.split("-")[0]

    @property
    def access(self) -> str:
        return self.value.split("-")[1]

    @property
    def multiuser(self) -> bool:
        return self.deployment == "full"

    @property
    def entry(self) -> Listener:
        """The listener a client of this mode talks to."""
        return Listener.DIRECT if self.access == "inside" else Listener.GATEWAY

    @property
    def description(self) -> str:
        return {
            Mode.FULL_INSIDE: "full Kubeflow, from inside the cluster: ServiceAccount token to "
                              "ml-pipeline:8888",
            Mode.FULL_OUTSIDE: "full Kubeflow, from outside: through the ingress gateway with a "
                               "login session or a bearer token",
            Mode.STANDALONE_INSIDE: "standalone KFP, from inside the cluster: no identity, "
                                    "namespaces ignored",
            Mode.STANDALONE_OUTSIDE: "standalone KFP, from outside: port-forward to "
                                     "ml-pipeline-ui, no identity",
        }[self]

    @classmethod
    def for_multiuser(cls, multiuser: bool, access: str = "inside") -> Mode:
        return cls(f"{'full' if multiuser else 'standalone'}-{access}")

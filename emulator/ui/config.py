"""How ml-pipeline-ui is deployed (its env vars, as Kubeflow's manifests set them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emulator.core import Emulator

# configs.ts defaults; the manifests leave these three alone.
ARGO_KEYFORMAT = ("artifacts/{{workflow.name}}/{{workflow.creationTimestamp.Y}}/"
                  "{{workflow.creationTimestamp.m}}/{{workflow.creationTimestamp.d}}/"
                  "{{pod.name}}")
ARCHIVE_BUCKET = "mlpipeline"
OWNERSHIP_MODE = "mlmd-then-prefix"  # ARTIFACT_NAMESPACE_OWNERSHIP_MODE
KEY_PREFIX = "private-artifacts"  # ARTIFACT_NAMESPACE_KEY_PREFIX
BASE_PATH = "/pipeline"


@dataclass(frozen=True)
class UiConfig:
    """``ENABLE_AUTHZ`` is true only in the multi-user manifests (pipelines-ui patch);
    ``KUBEFLOW_USERID_HEADER``/``_PREFIX`` come from pipeline-install-config, the same values
    the API server gets; ``FRONTEND_SERVER_NAMESPACE`` is the pod's namespace."""

    auth_enabled: bool
    userid_header: str
    userid_prefix: str
    server_namespace: str
    base_path: str = BASE_PATH
    archive_logs: bool = True  # ARGO_ARCHIVE_LOGS=true in ml-pipeline-ui-deployment.yaml
    archive_bucket: str = ARCHIVE_BUCKET
    key_format: str = ARGO_KEYFORMAT
    ownership_mode: str = OWNERSHIP_MODE
    key_prefix: str = KEY_PREFIX

    @classmethod
    def for_emulator(cls, emulator: Emulator) -> UiConfig:
        config = emulator.config
        return cls(auth_enabled=config.multiuser, userid_header=config.userid_header.lower(),
                   userid_prefix=config.userid_prefix, server_namespace=config.pod_namespace)

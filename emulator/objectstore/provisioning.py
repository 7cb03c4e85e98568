"""The pipelines-profile-controller's object-store credentials in each profile namespace.

sync.py gives every namespace with ``pipelines.kubeflow.org/enabled`` the Secret
``mlpipeline-minio-artifact`` (keys ``accesskey``/``secretkey``, base64 in ``data``), which
pipeline pods, the per-namespace artifact proxy and Argo's artifact repository read.  An
existing Secret is kept as it is (sync.py creates the IAM user only when the Secret is
missing).
"""

from __future__ import annotations

import base64

from emulator.kube.cluster import Cluster, Secret
from emulator.objectstore.models import ObjectStore

SECRET_NAME = "mlpipeline-minio-artifact"
ACCESS_KEY = "accesskey"
SECRET_KEY = "secretkey"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def provision_namespace(cluster: Cluster, store: ObjectStore, namespace: str) -> Secret | None:
    """Create the namespace's Secret unless it exists; returns it (None: no such namespace)."""
    if namespace not in cluster.namespaces:
        return None
    existing = cluster.secrets.get(namespace, {}).get(SECRET_NAME)
    if existing is not None:
        return existing
    access_key, secret_key = store.credentials_for_namespace(namespace)
    return cluster.create_secret(Secret(namespace=namespace, name=SECRET_NAME,
                                        data={ACCESS_KEY: _b64(access_key),
                                              SECRET_KEY: _b64(secret_key)}))


def secret_credentials(secret: Secret) -> tuple[str, str]:
    """The (access key, secret key) a Secret holds."""
    return (base64.b64decode(secret.data.get(ACCESS_KEY, "")).decode(),
            base64.b64decode(secret.data.get(SECRET_KEY, "")).decode())

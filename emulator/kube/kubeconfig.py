"""The kubeconfig the emulator writes for its Kubernetes API (admin credentials)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml

from emulator.private_files import write_private

CONTEXT = "kfp-isolation"


def kubeconfig(server_url: str, token: str, name: str = CONTEXT,
               ca_pem: bytes | None = None) -> dict[str, Any]:
    cluster: dict[str, Any] = {"server": server_url}
    if ca_pem:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode("ascii")
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": f"{name}-admin", "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": f"{name}-admin",
                                                "namespace": "default"}}],
        "current-context": name,
        "preferences": {},
    }


def write_kubeconfig(path: Path, server_url: str, token: str,
                     ca_pem: bytes | None = None) -> Path:
    """Write (owner-readable only: it holds a credential) and return ``path``.  ``ca_pem`` is
    the certificate that signs an https server's serving certificate."""
    text = yaml.safe_dump(kubeconfig(server_url, token, ca_pem=ca_pem), sort_keys=False)
    return write_private(path, text)

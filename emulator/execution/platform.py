"""kfp-kubernetes settings applied to a task's pod, resolved in the pod's own namespace.

The driver turns the executor config into a pod spec patch without checking anything
(``backend/src/v2/driver/k8s.go``); the kubelet resolves the references when it starts the
container.  So a reference to a secret or config map that exists only in another namespace is
not an error anyone raises at submit time: the pod is created and waits.

- a missing volume source: the pod stays ``ContainerCreating`` with a ``FailedMount`` event
  ``MountVolume.SetUp failed for volume "x" : secret "x" not found``;
- a missing env source (or key): the main container waits with ``CreateContainerConfigError``
  ``secret "x" not found`` (``couldn't find key K in Secret ns/x``).

``optional: true`` references are skipped when missing, as Kubernetes does.  Resolved values are
what the container would see; they are kept apart from everything rendered or logged.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

from emulator.execution.spec import ExecutorConfig, SourceRef
from emulator.kube.cluster import Cluster

CONFIG_ERROR = "CreateContainerConfigError"
CONTAINER_CREATING = "ContainerCreating"


@dataclass
class ResolvedPod:
    env: list[dict[str, Any]] = field(default_factory=list)  # pod spec entries (references)
    volumes: list[dict[str, Any]] = field(default_factory=list)
    mounts: list[dict[str, Any]] = field(default_factory=list)
    # What the container sees: env var -> value, mount path -> file names.
    values: dict[str, str] = field(default_factory=dict)
    files: dict[str, list[str]] = field(default_factory=dict)
    # Why the main container cannot start: (reason, message), and a FailedMount event text.
    waiting: tuple[str, str] | None = None
    mount_failure: str = ""


def _data(cluster: Cluster, namespace: str, ref: SourceRef) -> dict[str, str] | None:
    if ref.kind == "secret":
        secret = cluster.secrets.get(namespace, {}).get(ref.name)
        if secret is None:
            return None
        out = {}
        for key, value in secret.data.items():
            try:
                out[key] = base64.b64decode(value).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                out[key] = ""
        return out
    config_map = cluster.config_maps.get(namespace, {}).get(ref.name)
    return None if config_map is None else dict(config_map.data)


def _label(ref: SourceRef) -> str:
    return "Secret" if ref.kind == "secret" else "ConfigMap"


def resolve(cluster: Cluster, namespace: str, config: ExecutorConfig) -> ResolvedPod:
    pod = ResolvedPod()
    for ref in config.volumes:
        source_key = "secret" if ref.kind == "secret" else "configMap"
        name_key = "secretName" if ref.kind == "secret" else "name"
        source: dict[str, Any] = {name_key: ref.name}
        if ref.optional:
            source["optional"] = True
        pod.volumes.append({"name": ref.name, source_key: source})
        pod.mounts.append({"name": ref.name, "mountPath": ref.mount_path})
        data = _data(cluster, namespace, ref)
        if data is None:
            if not ref.optional and not pod.mount_failure:
                pod.mount_failure = (f'MountVolume.SetUp failed for volume "{ref.name}" : '
                                     f'{ref.kind} "{ref.name}" not found')
            continue
        pod.files[ref.mount_path] = sorted(data)
    for ref in config.env_from:
        data = _data(cluster, namespace, ref)
        ref_key = "secretKeyRef" if ref.kind == "secret" else "configMapKeyRef"
        for key in ref.keys:
            selector: dict[str, Any] = {"name": ref.name, "key": key.key}
            if ref.optional:
                selector["optional"] = True
            pod.env.append({"name": key.env_var, "valueFrom": {ref_key: selector}})
            if data is not None and key.key in data:
                pod.values[key.env_var] = data[key.key]
            elif ref.optional or pod.waiting is not None:
                continue
            elif data is None:
                pod.waiting = (CONFIG_ERROR, f'{ref.kind} "{ref.name}" not found')
            else:
                pod.waiting = (CONFIG_ERROR, f"couldn't find key {key.key} in {_label(ref)} "
                                             f"{namespace}/{ref.name}")
    if pod.mount_failure:
        # Volumes are set up first: the container is never configured.
        pod.waiting = (CONTAINER_CREATING, "")
    return pod


def describe(config: ExecutorConfig, pod: ResolvedPod) -> list[str]:
    """Log lines naming what the task received (key names only, never values)."""
    lines = []
    for ref in config.env_from:
        names = [k.env_var for k in ref.keys if k.env_var in pod.values]
        if names:
            lines.append(f"env from {ref.kind} {ref.name}: {', '.join(names)}")
    for ref in config.volumes:
        files = pod.files.get(ref.mount_path)
        if files is not None:
            lines.append(f"{ref.kind} {ref.name} mounted at {ref.mount_path}: "
                         f"{', '.join(files)}")
    return lines

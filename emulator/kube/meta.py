"""What every Kubernetes object carries besides its spec: identity, age, version, labels.

Model classes inherit :class:`ObjectStamp`; the :class:`~emulator.kube.cluster.Cluster` stamps an
object (uid, creation time, resource version) when it stores it, so the Kubernetes surface and the
snapshot show the same metadata a real API server would.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from emulator.clock import rfc3339


def new_uid() -> str:
    return str(uuid.uuid4())


@dataclass(kw_only=True)
class ObjectStamp:
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    uid: str = field(default_factory=new_uid)
    created_at: float = 0.0
    resource_version: int = 0

    def metadata(self, name: str, namespace: str = "") -> dict[str, Any]:
        """``metadata`` as the API server writes it (empty maps omitted)."""
        meta: dict[str, Any] = {"name": name}
        if namespace:
            meta["namespace"] = namespace
        meta["uid"] = self.uid
        meta["resourceVersion"] = str(self.resource_version)
        meta["creationTimestamp"] = rfc3339(self.created_at)
        if self.labels:
            meta["labels"] = dict(self.labels)
        if self.annotations:
            meta["annotations"] = dict(self.annotations)
        return meta

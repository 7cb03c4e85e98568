"""The target file: what ``certify`` connects to, written by ``serve --write-target`` too.

One small YAML document describes a deployment under test, whether it is a running emulator or a
real cluster::

    apiVersion: kfp-isolation/v1
    kind: Target
    name: emulator
    mode: full-outside            # full|standalone - inside|outside; absent or auto: detected
    kfp:
      direct: http://127.0.0.1:8888          # ml-pipeline.kubeflow:8888, headers trusted
      gateway: http://127.0.0.1:8080/pipeline  # the KFP host behind the ingress gateway
    gateway: http://127.0.0.1:8080           # login flow, dashboard
    kubeconfig: /path/to/kubeconfig          # admin credentials, for provisioning
    users:                                    # static login users (Dex local connector)
      - {email: alice@example.com, password_env: ALICE_PASSWORD}
    dataPlane:                                # optional: the data-plane scenarios need it
      objectStore: http://127.0.0.1:9000      # S3 endpoint (seaweedfs/minio, port-forwarded)
      metadata: http://127.0.0.1:9090         # metadata-envoy (gRPC-web), for inside modes
    emulator:
      controls: http://127.0.0.1:8888/_emulator   # only when the target is an emulator

Passwords may be given inline (the emulator's fake users) or as the name of an environment
variable (real clusters); :meth:`Target.redacted` is what any report or log may show.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from emulator.modes import Mode
from emulator.private_files import write_private

API_VERSION = "kfp-isolation/v1"
KIND = "Target"
REDACTED = "<redacted>"
AUTO = "auto"


class TargetError(ValueError):
    """A target file that cannot be used, with the reason."""


@dataclass(frozen=True)
class LoginUser:
    email: str
    password: str = ""
    password_env: str = ""

    def resolve_password(self) -> str:
        if self.password:
            return self.password
        if self.password_env:
            value = os.environ.get(self.password_env)
            if value is None:
                raise TargetError(f"user {self.email}: environment variable "
                                  f"{self.password_env} is not set")
            return value
        raise TargetError(f"user {self.email}: no password or password_env")


@dataclass(frozen=True)
class Target:
    name: str
    mode: Mode | None  # None: detect it (conformance.detection)
    kfp_direct: str = ""
    kfp_gateway: str = ""
    gateway: str = ""
    kubeconfig: str = ""
    users: tuple[LoginUser, ...] = ()
    emulator_controls: str = ""
    object_store: str = ""  # the S3 endpoint holding the ``mlpipeline`` bucket
    metadata: str = ""  # metadata-envoy's gRPC-web endpoint (inside; outside: the gateway's)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def kfp_host(self) -> str:
        """The KFP host a client of this target's mode uses."""
        if self.mode is None:
            return self.kfp_direct or self.kfp_gateway
        return self.kfp_direct if self.mode.access == "inside" else self.kfp_gateway

    @property
    def is_emulator(self) -> bool:
        return bool(self.emulator_controls)

    def to_dict(self, *, redact: bool = False) -> dict[str, Any]:
        users = []
        for user in self.users:
            entry: dict[str, str] = {"email": user.email}
            if user.password:
                entry["password"] = REDACTED if redact else user.password
            if user.password_env:
                entry["password_env"] = user.password_env
            users.append(entry)
        data: dict[str, Any] = {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "name": self.name,
            "mode": self.mode.value if self.mode else AUTO,
            "kfp": {k: v for k, v in (("direct", self.kfp_direct),
                                       ("gateway", self.kfp_gateway)) if v},
        }
        if self.gateway:
            data["gateway"] = self.gateway
        if self.kubeconfig:
            data["kubeconfig"] = self.kubeconfig
        if users:
            data["users"] = users
        plane = {k: v for k, v in (("objectStore", self.object_store),
                                    ("metadata", self.metadata)) if v}
        if plane:
            data["dataPlane"] = plane
        if self.emulator_controls:
            data["emulator"] = {"controls": self.emulator_controls}
        data.update(self.extra)
        return data

    def redacted(self) -> dict[str, Any]:
        return self.to_dict(redact=True)

    def dump(self, path: Path) -> Path:
        return write_private(path, yaml.safe_dump(self.to_dict(), sort_keys=False))

    @classmethod
    def load(cls, path: Path) -> Target:
        try:
            data = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise TargetError(f"cannot read target file {path}: {exc}") from None
        return cls.from_dict(data, where=str(path))

    @classmethod
    def from_dict(cls, data: Any, where: str = "target") -> Target:
        if not isinstance(data, dict):
            raise TargetError(f"{where}: expected a mapping at the top level")
        if data.get("apiVersion") != API_VERSION or data.get("kind") != KIND:
            raise TargetError(f"{where}: expected apiVersion {API_VERSION} and kind {KIND}")
        declared = data.get("mode") or AUTO
        try:
            mode = None if declared == AUTO else Mode(declared)
        except ValueError:
            raise TargetError(f"{where}: mode must be {AUTO} or one of "
                              f"{', '.join(m.value for m in Mode)}") from None
        kfp = data.get("kfp") or {}
        if not isinstance(kfp, dict) or not (kfp.get("direct") or kfp.get("gateway")):
            raise TargetError(f"{where}: 'kfp' needs a 'direct' or 'gateway' URL")
        users = []
        for entry in data.get("users") or []:
            if not isinstance(entry, dict) or not isinstance(entry.get("email"), str):
                raise TargetError(f"{where}: each user needs an 'email'")
            users.append(LoginUser(entry["email"], str(entry.get("password") or ""),
                                   str(entry.get("password_env") or "")))
        emulator = data.get("emulator") or {}
        plane = data.get("dataPlane") or {}
        if not isinstance(plane, dict):
            raise TargetError(f"{where}: 'dataPlane' must be a mapping")
        known = {"apiVersion", "kind", "name", "mode", "kfp", "gateway", "kubeconfig", "users",
                 "emulator", "dataPlane"}
        target = cls(
            name=str(data.get("name") or "target"), mode=mode,
            kfp_direct=str(kfp.get("direct") or ""), kfp_gateway=str(kfp.get("gateway") or ""),
            gateway=str(data.get("gateway") or ""), kubeconfig=str(data.get("kubeconfig") or ""),
            users=tuple(users),
            emulator_controls=str(emulator.get("controls") or "") if isinstance(emulator, dict)
            else "",
            object_store=str(plane.get("objectStore") or ""),
            metadata=str(plane.get("metadata") or ""),
            extra={k: v for k, v in data.items() if k not in known})
        if mode is not None and not target.kfp_host:
            raise TargetError(f"{where}: mode {mode.value} needs the kfp "
                              f"{'direct' if mode.access == 'inside' else 'gateway'} URL")
        return target

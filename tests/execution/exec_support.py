"""Helpers for the execution tests: compiled packages' documents, secrets in a namespace."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml

from emulator.kube.cluster import Secret
from emulator.testing import KfpTestEnv


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def put_secret(env: KfpTestEnv, namespace: str, name: str, values: dict[str, str]) -> None:
    emulator = env.emulator
    with emulator.kfp.state.lock:
        emulator.cluster.create_secret(Secret(namespace, name, data={
            k: base64.b64encode(v.encode()).decode() for k, v in values.items()}))

"""Fixtures for the emulator's Kubernetes API: one TLS server per session, reset per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kube_support import KubeEnv

from emulator.core import Emulator
from emulator.serving import EmulatorServer
from emulator.testing import standard_profiles


@pytest.fixture(scope="session")
def kube_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    server = EmulatorServer(Emulator(profiles=standard_profiles())).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def kube_kubeconfig(kube_server: EmulatorServer,
                    tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kube_server.write_kubeconfig(tmp_path_factory.mktemp("kube") / "kubeconfig")


@pytest.fixture
def kube(kube_server: EmulatorServer, kube_kubeconfig: Path) -> KubeEnv:
    kube_server.emulator.reset()
    return KubeEnv(kube_server.emulator, kube_server, kube_kubeconfig)

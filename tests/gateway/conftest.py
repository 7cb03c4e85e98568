"""Fixtures for the gateway, login flow, KFAM and dashboard tests: one full-outside emulator per
session (reset before each test), clients for its gateway and direct listeners."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from conformance.login import login_cookies
from emulator.core import DEFAULT_PASSWORD, Emulator
from emulator.modes import Mode
from emulator.serving import EmulatorServer
from emulator.testing import standard_profiles

V2 = "/apis/v2beta1"
USERID = "kubeflow-userid"
NEWCOMER = "dave@example.com"  # in no Profile and no login user; KFAM tests give him access


@dataclass
class Gateway:
    server: EmulatorServer

    @property
    def emulator(self) -> Emulator:
        return self.server.emulator

    @property
    def url(self) -> str:
        return self.server.gateway_url

    @property
    def pipeline_url(self) -> str:
        """The KFP host behind the gateway, as kfp.Client(host=...) takes it."""
        return self.server.gateway_url + "/pipeline"

    @property
    def direct_url(self) -> str:
        return self.server.url

    def cookie(self, email: str, password: str = DEFAULT_PASSWORD) -> str:
        return login_cookies(self.pipeline_url, email, password)

    def signed_in(self, email: str) -> requests.Session:
        """A browser-like session holding ``email``'s login cookie."""
        session = requests.Session()
        name, _, value = self.cookie(email).partition("=")
        session.cookies.set(name, value)
        return session

    def bearer(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def gw(gateway_server: EmulatorServer) -> Gateway:
    gateway_server.emulator.reset()
    return Gateway(gateway_server)


@pytest.fixture(scope="session")
def exposed_kfam_server() -> Iterator[EmulatorServer]:
    """An emulator that serves KFAM's API on its direct listener (``expose_kfam=True``, the
    Kubeflow <= 1.4 setting of ISO-024).  Only the KFAM wire tests use it: by default the
    emulator, like Kubeflow >= 1.5, lets nobody but the dashboard talk to KFAM."""
    server = EmulatorServer(Emulator(profiles=standard_profiles(), mode=Mode.FULL_OUTSIDE,
                                     expose_kfam=True))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def exposed_kfam(exposed_kfam_server: EmulatorServer) -> Gateway:
    exposed_kfam_server.emulator.reset()
    return Gateway(exposed_kfam_server)


def experiment_body(name: str, namespace: str) -> dict[str, Any]:
    return {"display_name": name, "namespace": namespace}


def jwt_part(part: str) -> dict[str, Any]:
    decoded = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    assert isinstance(decoded, dict)
    return decoded


def encode_part(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

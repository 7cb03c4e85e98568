"""One full-Kubeflow emulator served for the MLMD tests (reset before each), clients for its
metadata-envoy listener and its gateway."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from conformance.login import login_cookies
from emulator.core import DEFAULT_PASSWORD
from emulator.mlmd import schema
from emulator.mlmd.client import GrpcWebClient
from emulator.serving import EmulatorServer


@pytest.fixture
def server(gateway_server: EmulatorServer) -> EmulatorServer:
    gateway_server.emulator.reset()
    return gateway_server


@pytest.fixture
def envoy(server: EmulatorServer) -> GrpcWebClient:
    """metadata-envoy-service:9090 as a pod (or the UI server) reaches it."""
    return GrpcWebClient(server.metadata_url)


def signed_in(server: EmulatorServer, email: str) -> requests.Session:
    """A browser-like session holding ``email``'s gateway login cookie."""
    session = requests.Session()
    name, _, value = login_cookies(server.gateway_url + "/pipeline", email,
                                   DEFAULT_PASSWORD).partition("=")
    session.cookies.set(name, value)
    return session


def request(method: str, **fields: Any) -> Any:
    return schema.request_class(method)(**fields)

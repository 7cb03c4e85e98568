"""Standalone KFP from outside: the gateway listener is a port-forward to ml-pipeline-ui, with no
login and no identity (docs/upstream/kubeflow-platform.md 4.1 step 2: no redirect, no cookie)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from conformance.login import login_cookies
from emulator.core import DEFAULT_PASSWORD, Emulator
from emulator.modes import Mode
from emulator.serving import EmulatorServer
from emulator.testing import OWNER, standard_profiles
from tests.gateway.conftest import V2


@pytest.fixture(scope="module")
def standalone() -> Iterator[EmulatorServer]:
    server = EmulatorServer(Emulator(profiles=standard_profiles(),
                                     mode=Mode.STANDALONE_OUTSIDE))
    server.start()
    yield server
    server.stop()


def test_the_gateway_forwards_without_authentication(standalone: EmulatorServer) -> None:
    healthz = requests.get(f"{standalone.gateway_url}{V2}/healthz")
    assert healthz.status_code == 200
    assert healthz.json()["multi_user"] is False
    for base in (standalone.gateway_url, standalone.gateway_url + "/pipeline"):
        created = requests.post(f"{base}{V2}/experiments", json={"display_name": base})
        assert created.status_code == 200, created.text
        listed = requests.get(f"{base}{V2}/experiments")
        assert listed.status_code == 200
        assert base in [e["display_name"] for e in listed.json()["experiments"]]
    page = requests.get(standalone.gateway_url + "/pipeline")
    assert (page.status_code, page.history) == (200, [])


def test_the_login_client_sees_an_unsecured_endpoint(standalone: EmulatorServer) -> None:
    assert login_cookies(standalone.gateway_url + "/pipeline", OWNER, DEFAULT_PASSWORD) == ""

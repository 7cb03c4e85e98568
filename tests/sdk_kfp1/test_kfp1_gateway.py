"""The legacy kfp 1.8 SDK from outside the cluster: a login session cookie through the gateway.

kfp 1.8 takes ``cookies=`` as the Kubeflow documentation of that era shows; the session comes
from the same login client the conformance suite uses against real gateways.
"""

from __future__ import annotations

from collections.abc import Iterator

import kfp
import pytest
from kfp_server_api.exceptions import ApiException

from conformance.login import login_cookies
from emulator.core import DEFAULT_PASSWORD, Emulator
from emulator.modes import Mode
from emulator.serving import EmulatorServer
from emulator.testing import OWNER, OWNER_NAMESPACE, STRANGER, STRANGER_NAMESPACE, standard_profiles
from tests.sdk_kfp1.kfp1_support import failed


@pytest.fixture(scope="module")
def gateway() -> Iterator[EmulatorServer]:
    emulator = Emulator(profiles=standard_profiles(), mode=Mode.FULL_OUTSIDE)
    with EmulatorServer(emulator) as server:
        yield server


def _client(server: EmulatorServer, email: str) -> kfp.Client:
    host = server.gateway_url + "/pipeline"
    return kfp.Client(host=host, cookies=login_cookies(host, email, DEFAULT_PASSWORD))


def test_a_session_cookie_scopes_the_legacy_sdk_to_its_user(gateway: EmulatorServer) -> None:
    alice, bob = _client(gateway, OWNER), _client(gateway, STRANGER)
    # Positive controls: each user works in their own namespace.
    experiment = alice.create_experiment("through-the-gateway", namespace=OWNER_NAMESPACE)
    assert bob.create_experiment("bobs", namespace=STRANGER_NAMESPACE).id
    assert [e.id for e in alice.list_experiments(namespace=OWNER_NAMESPACE).experiments] == \
        [experiment.id]
    # Bob's session cannot reach into alice's namespace, by id or by list.
    detail = (f"User '{STRANGER}' is not authorized with reason:  (request: "
              f"&ResourceAttributes{{Namespace:{OWNER_NAMESPACE},Verb:get,")
    body = failed(lambda: bob.get_experiment(experiment_id=experiment.id), 403, 7)
    assert body["details"][0]["message"].startswith(detail), body
    failed(lambda: bob.list_experiments(namespace=OWNER_NAMESPACE), 403, 7)
    failed(lambda: bob.create_experiment("intruder", namespace=OWNER_NAMESPACE), 403, 7)
    assert [e.name for e in alice.list_experiments(namespace=OWNER_NAMESPACE).experiments] == \
        ["through-the-gateway"]


def test_without_a_session_the_gateway_answers_like_oauth2_proxy(
        gateway: EmulatorServer) -> None:
    client = kfp.Client(host=gateway.gateway_url + "/pipeline", namespace=OWNER_NAMESPACE)
    with pytest.raises(ApiException) as caught:
        client.list_experiments(namespace=OWNER_NAMESPACE)
    assert (caught.value.status, caught.value.body) == (401, "{}")

"""Connecting the real kfp 2.17.3 client: healthz probe, SA-token credentials, context.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kfp
import kfp_server_api
import pytest
from kfp_server_api.exceptions import ApiException

from emulator.kube.cluster import VIEWER_SA
from emulator.testing import OWNER, OWNER_NAMESPACE, KfpTestEnv
from tests.sdk_kfp2.helpers import (
    FUTURE_WARNING_FILTER,
    SA_TOKEN_ENV,
    UNAUTHENTICATED_DETAIL,
    SdkClients,
    assert_sdk_denied,
    assert_sdk_error,
    sa_username,
)

pytestmark = [pytest.mark.kfp2, FUTURE_WARNING_FILTER]


@pytest.fixture
def healthz_calls(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record (without altering) every healthz call the generated client makes."""
    calls: list[Any] = []
    original = kfp_server_api.HealthzServiceApi.healthz_service_get_healthz

    def spy(self: kfp_server_api.HealthzServiceApi, **kwargs: Any) -> Any:
        response = original(self, **kwargs)
        calls.append(response)
        return response

    monkeypatch.setattr(kfp_server_api.HealthzServiceApi, "healthz_service_get_healthz", spy)
    return calls


def test_client_without_namespace_probes_healthz_once(sdk: SdkClients,
                                                      healthz_calls: list[Any]) -> None:
    client = sdk.service_account(OWNER_NAMESPACE)

    assert len(healthz_calls) == 1
    assert healthz_calls[0].multi_user is True
    # Multi-user, but not in a pod: the SA namespace file is absent, so nothing is persisted.
    assert client.get_user_namespace() == ""
    assert not sdk.context_file.exists()


def test_client_with_namespace_skips_healthz(sdk: SdkClients, healthz_calls: list[Any]) -> None:
    client = sdk.service_account(OWNER_NAMESPACE, user_namespace=OWNER_NAMESPACE)

    assert healthz_calls == []
    assert client.get_user_namespace() == OWNER_NAMESPACE
    assert client.get_kfp_healthz().multi_user is True


def test_sa_token_acts_as_default_editor_of_its_namespace(kfp_env: KfpTestEnv,
                                                          owner: kfp.Client) -> None:
    experiment = owner.create_experiment("by-sa-token", namespace=OWNER_NAMESPACE)

    assert experiment.namespace == OWNER_NAMESPACE
    users = {d.user for d in kfp_env.emulator.decisions() if d.allowed}
    assert users == {sa_username(OWNER_NAMESPACE)}


def test_token_file_is_reread_on_every_request(kfp_env: KfpTestEnv, owner: kfp.Client) -> None:
    token_file = Path(kfp_env.token_file(OWNER_NAMESPACE))
    assert owner.list_experiments(namespace=OWNER_NAMESPACE).experiments is None

    # The kubelet rotates the projected token: the next request uses the new file content,
    # here the token of bob's default-editor, which alice's namespace does not admit.
    token_file.write_text(kfp_env.emulator.service_account_token("bob"))
    with pytest.raises(ApiException) as info:
        owner.list_experiments(namespace=OWNER_NAMESPACE)
    assert_sdk_denied(info.value, sa_username("bob"), "list", "experiments")


def test_expired_token_is_unauthenticated_until_rotated(kfp_env: KfpTestEnv,
                                                        owner: kfp.Client) -> None:
    owner.create_experiment("before-expiry", namespace=OWNER_NAMESPACE)

    kfp_env.advance(kfp_env.emulator.config.token_ttl_seconds + 61)  # past the 60 s leeway
    with pytest.raises(ApiException) as info:
        owner.list_experiments(namespace=OWNER_NAMESPACE)
    assert_sdk_error(info.value, 401, 16, UNAUTHENTICATED_DETAIL)

    kfp_env.token_file(OWNER_NAMESPACE)  # the kubelet writes a fresh token to the same path
    names = [e.display_name for e in owner.list_experiments(namespace=OWNER_NAMESPACE)
             .experiments]
    assert names == ["before-expiry"]


def test_client_without_credentials_gets_401(sdk: SdkClients, owner: kfp.Client,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    owner.create_experiment("visible-to-alice", namespace=OWNER_NAMESPACE)
    monkeypatch.delenv(SA_TOKEN_ENV)
    anonymous = sdk.without_credentials(OWNER_NAMESPACE)

    for call in (lambda: anonymous.list_experiments(),
                 lambda: anonymous.list_runs(),
                 lambda: anonymous.create_experiment("anon", namespace=OWNER_NAMESPACE)):
        with pytest.raises(ApiException) as info:
            call()
        body = assert_sdk_error(info.value, 401, 16, UNAUTHENTICATED_DETAIL)
        # grpc-gateway echoes the status message for code 16 in WWW-Authenticate.
        assert info.value.headers.get("WWW-Authenticate") == body["message"]


def test_context_json_header_identifies_the_user(sdk: SdkClients, owner: kfp.Client) -> None:
    created = owner.create_experiment("shared-with-header-user", namespace=OWNER_NAMESPACE)
    alice_laptop = sdk.header_user(OWNER, OWNER_NAMESPACE)

    assert alice_laptop.get_user_namespace() == OWNER_NAMESPACE
    listed = alice_laptop.list_experiments()  # namespace from context.json
    assert [e.experiment_id for e in listed.experiments] == [created.experiment_id]
    mine = alice_laptop.create_experiment("from-laptop")
    assert mine.namespace == OWNER_NAMESPACE


def test_viewer_service_account_reads_but_cannot_write(sdk: SdkClients,
                                                       owner: kfp.Client) -> None:
    created = owner.create_experiment("for-viewers", namespace=OWNER_NAMESPACE)
    viewer = sdk.service_account(OWNER_NAMESPACE, VIEWER_SA, user_namespace=OWNER_NAMESPACE)

    assert viewer.get_experiment(experiment_id=created.experiment_id).display_name == \
        "for-viewers"
    # create_experiment first looks the name up (allowed for a viewer), then POSTs (denied).
    with pytest.raises(ApiException) as info:
        viewer.create_experiment("viewer-exp")
    assert_sdk_denied(info.value, sa_username(OWNER_NAMESPACE, VIEWER_SA), "create",
                      "experiments")
    with pytest.raises(ApiException) as info:
        viewer.delete_experiment(created.experiment_id)
    assert_sdk_denied(info.value, sa_username(OWNER_NAMESPACE, VIEWER_SA), "delete",
                      "experiments")


def test_set_user_namespace_persists_for_later_clients(sdk: SdkClients, owner: kfp.Client,
                                                       healthz_calls: list[Any]) -> None:
    healthz_calls.clear()  # only clients built from here on count
    owner.set_user_namespace(OWNER_NAMESPACE)
    assert json.loads(sdk.context_file.read_text())["namespace"] == OWNER_NAMESPACE

    later = sdk.service_account(OWNER_NAMESPACE)
    assert later.get_user_namespace() == OWNER_NAMESPACE
    # The persisted namespace makes the new client skip the healthz probe.
    assert healthz_calls == []
    experiment = later.create_experiment("no-namespace-argument")
    assert experiment.namespace == OWNER_NAMESPACE
    assert [e.display_name for e in later.list_experiments().experiments] == \
        ["no-namespace-argument"]

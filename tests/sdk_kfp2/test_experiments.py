"""Experiments through the kfp 2.17.3 SDK, their v1beta1 view, and bob's denials."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kfp
import kfp_server_api
import pytest
from kfp_server_api.exceptions import ApiException

from emulator.testing import OWNER_NAMESPACE, KfpTestEnv
from tests.sdk_kfp2.helpers import (
    FUTURE_WARNING_FILTER,
    Caller,
    Workspace,
    assert_sdk_error,
    denied,
)

pytestmark = [pytest.mark.kfp2, FUTURE_WARNING_FILTER]


def test_create_list_get_in_own_namespace(kfp_env: KfpTestEnv, owner: kfp.Client) -> None:
    first = owner.create_experiment("exp-a", description="first", namespace=OWNER_NAMESPACE)
    again = owner.create_experiment("exp-a", namespace=OWNER_NAMESPACE)  # SDK finds it by name
    kfp_env.advance(1)  # list order is created_at ascending
    second = owner.create_experiment("exp-b", namespace=OWNER_NAMESPACE)

    assert again.experiment_id == first.experiment_id
    assert (first.namespace, first.description, first.storage_state) == \
        (OWNER_NAMESPACE, "first", "AVAILABLE")
    listed = owner.list_experiments(namespace=OWNER_NAMESPACE)
    assert [e.experiment_id for e in listed.experiments] == \
        [first.experiment_id, second.experiment_id]
    assert listed.total_size == 2
    fetched = owner.get_experiment(experiment_id=second.experiment_id)
    assert (fetched.display_name, fetched.namespace) == ("exp-b", OWNER_NAMESPACE)
    by_name = owner.get_experiment(experiment_name="exp-a", namespace=OWNER_NAMESPACE)
    assert by_name.experiment_id == first.experiment_id


def test_same_name_in_two_namespaces_stays_separate(owner: kfp.Client,
                                                    intruder: Caller) -> None:
    mine = owner.create_experiment("common-name", namespace=OWNER_NAMESPACE)
    theirs = intruder.client.create_experiment("common-name")  # bob's context/namespace: bob

    assert theirs.experiment_id != mine.experiment_id
    assert theirs.namespace == intruder.namespace
    assert [e.experiment_id for e in owner.list_experiments(namespace=OWNER_NAMESPACE)
            .experiments] == [mine.experiment_id]
    assert [e.experiment_id for e in intruder.client.list_experiments().experiments] == \
        [theirs.experiment_id]


def test_list_without_any_namespace_is_rejected(owner: kfp.Client) -> None:
    assert owner.get_user_namespace() == ""
    with pytest.raises(ApiException) as info:
        owner.list_experiments()  # the SDK sends namespace=''
    assert_sdk_error(info.value, 400, 3,
                     "An experiment cannot have an empty namespace in multi-user mode")


def test_set_user_namespace_then_calls_without_namespace(owner: kfp.Client) -> None:
    with pytest.raises(ApiException):
        owner.create_experiment("nowhere")
    owner.set_user_namespace(OWNER_NAMESPACE)

    created = owner.create_experiment("from-context")
    assert created.namespace == OWNER_NAMESPACE
    assert [e.display_name for e in owner.list_experiments().experiments] == ["from-context"]
    assert owner.get_experiment(experiment_name="from-context").experiment_id == \
        created.experiment_id


def test_v2_experiment_is_visible_through_v1(kfp_env: KfpTestEnv, owner: kfp.Client) -> None:
    created = owner.create_experiment("made-in-v2", description="d2", namespace=OWNER_NAMESPACE)

    response = kfp_env.as_owner().get(f"/apis/v1beta1/experiments/{created.experiment_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["id"], body["name"], body["description"]) == \
        (created.experiment_id, "made-in-v2", "d2")
    assert body["storage_state"] == "STORAGESTATE_AVAILABLE"
    assert body["resource_references"] == [
        {"key": {"type": "NAMESPACE", "id": OWNER_NAMESPACE}, "relationship": "OWNER"}]


def test_v1_experiment_is_visible_through_the_sdk(kfp_env: KfpTestEnv,
                                                  owner: kfp.Client) -> None:
    response = kfp_env.as_owner().post("/apis/v1beta1/experiments", json={
        "name": "made-in-v1", "description": "d1",
        "resource_references": [{"key": {"type": "NAMESPACE", "id": OWNER_NAMESPACE},
                                 "relationship": "OWNER"}]})
    assert response.status_code == 200, response.text
    experiment_id = response.json()["id"]

    fetched = owner.get_experiment(experiment_id=experiment_id)
    assert (fetched.display_name, fetched.description, fetched.namespace) == \
        ("made-in-v1", "d1", OWNER_NAMESPACE)
    listed = owner.list_experiments(namespace=OWNER_NAMESPACE)
    assert [e.experiment_id for e in listed.experiments] == [experiment_id]


def test_archive_cascades_and_unarchive_restores_only_the_experiment(
        owner: kfp.Client, workspace: Workspace, start_run: Callable[[str], Any]) -> None:
    run = start_run("in-archived-experiment")
    owner.archive_experiment(workspace.experiment_id)

    assert owner.get_experiment(experiment_id=workspace.experiment_id).storage_state == \
        "ARCHIVED"
    assert owner.get_run(run.run_id).storage_state == "ARCHIVED"
    with pytest.raises(ApiException) as info:
        owner.unarchive_run(run.run_id)
    assert_sdk_error(info.value, 400, 9)

    owner.unarchive_experiment(workspace.experiment_id)
    assert owner.get_experiment(experiment_id=workspace.experiment_id).storage_state == \
        "AVAILABLE"
    assert owner.get_run(run.run_id).storage_state == "ARCHIVED"
    owner.unarchive_run(run.run_id)
    assert owner.get_run(run.run_id).storage_state == "AVAILABLE"


def test_delete_experiment(owner: kfp.Client) -> None:
    created = owner.create_experiment("short-lived", namespace=OWNER_NAMESPACE)
    owner.delete_experiment(created.experiment_id)

    with pytest.raises(ApiException) as info:
        owner.get_experiment(experiment_id=created.experiment_id)
    assert_sdk_error(info.value, 404, 5, f"Experiment {created.experiment_id} not found")


# -- bob, twice: with his default-editor token and as bob@example.com via context.json ------


def test_intruder_cannot_create_or_list_in_alice(owner: kfp.Client, intruder: Caller) -> None:
    assert owner.create_experiment("alice-only", namespace=OWNER_NAMESPACE).experiment_id
    assert owner.list_experiments(namespace=OWNER_NAMESPACE).total_size == 1

    with denied(intruder, "list", "experiments"):
        intruder.client.list_experiments(namespace=OWNER_NAMESPACE)
    # create_experiment looks the name up first; that lookup is already denied.
    with denied(intruder, "list", "experiments"):
        intruder.client.create_experiment("bobs-in-alice", namespace=OWNER_NAMESPACE)
    # The generated API the SDK wraps: the POST itself.
    with denied(intruder, "create", "experiments"):
        intruder.client._experiment_api.experiment_service_create_experiment(
            experiment=kfp_server_api.V2beta1Experiment(
                display_name="bobs-in-alice", namespace=OWNER_NAMESPACE))
    assert owner.list_experiments(namespace=OWNER_NAMESPACE).total_size == 1


def test_intruder_cannot_read_alice_experiment(owner: kfp.Client, intruder: Caller) -> None:
    created = owner.create_experiment("private", namespace=OWNER_NAMESPACE)
    assert owner.get_experiment(experiment_id=created.experiment_id).display_name == "private"

    with denied(intruder, "get", "experiments"):
        intruder.client.get_experiment(experiment_id=created.experiment_id)
    with denied(intruder, "list", "experiments"):
        intruder.client.get_experiment(experiment_name="private", namespace=OWNER_NAMESPACE)


def test_intruder_set_user_namespace_does_not_open_alice(owner: kfp.Client,
                                                         intruder: Caller) -> None:
    owner.set_user_namespace(OWNER_NAMESPACE)
    assert owner.list_experiments().experiments is None  # allowed, nothing there yet

    intruder.client.set_user_namespace(OWNER_NAMESPACE)
    assert intruder.client.get_user_namespace() == OWNER_NAMESPACE
    with denied(intruder, "list", "experiments"):
        intruder.client.list_experiments()
    with denied(intruder, "list", "runs"):
        intruder.client.list_runs()
    with denied(intruder, "list", "experiments"):
        intruder.client.create_experiment("sneaky")


def test_intruder_cannot_archive_unarchive_or_delete(owner: kfp.Client,
                                                     intruder: Caller) -> None:
    target = owner.create_experiment("target", namespace=OWNER_NAMESPACE)
    control = owner.create_experiment("control", namespace=OWNER_NAMESPACE)
    owner.archive_experiment(control.experiment_id)
    owner.unarchive_experiment(control.experiment_id)
    owner.delete_experiment(control.experiment_id)

    with denied(intruder, "archive", "experiments"):
        intruder.client.archive_experiment(target.experiment_id)
    with denied(intruder, "delete", "experiments"):
        intruder.client.delete_experiment(target.experiment_id)
    owner.archive_experiment(target.experiment_id)
    with denied(intruder, "unarchive", "experiments"):
        intruder.client.unarchive_experiment(target.experiment_id)

    survivor = owner.get_experiment(experiment_id=target.experiment_id)
    assert survivor.storage_state == "ARCHIVED"

"""The pytest helpers for outside-the-cluster callers: gateway sessions and the kubeconfig."""

from __future__ import annotations

import kubernetes

from emulator.testing import (
    OWNER,
    OWNER_NAMESPACE,
    STRANGER,
    STRANGER_NAMESPACE,
    KfpTestEnv,
    assert_denied,
)

LIST_ALICE = f"/apis/v2beta1/experiments?namespace={OWNER_NAMESPACE}"


def test_through_gateway_acts_as_the_signed_in_user(kfp_env: KfpTestEnv) -> None:
    created = kfp_env.through_gateway(OWNER).post(
        "/apis/v2beta1/experiments", json={"display_name": "e", "namespace": OWNER_NAMESPACE})
    assert created.status_code == 200, created.text
    listed = kfp_env.through_gateway(OWNER).get(LIST_ALICE)
    assert [e["display_name"] for e in listed.json()["experiments"]] == ["e"]
    stranger = kfp_env.through_gateway(STRANGER)
    assert stranger.get(f"/apis/v2beta1/experiments?namespace={STRANGER_NAMESPACE}").ok
    assert_denied(stranger.get(LIST_ALICE))
    # The gateway replaces a forged identity header with the session's.
    assert_denied(stranger.get(LIST_ALICE, headers={kfp_env.userid_header: OWNER}))


def test_kubeconfig_reaches_the_kubernetes_api_as_cluster_admin(kfp_env: KfpTestEnv) -> None:
    client = kubernetes.config.new_client_from_config(config_file=str(kfp_env.kubeconfig()))
    try:
        names = {ns.metadata.name for ns in kubernetes.client.CoreV1Api(client)
                 .list_namespace().items}
    finally:
        client.close()
    assert {OWNER_NAMESPACE, STRANGER_NAMESPACE, "kubeflow"} <= names

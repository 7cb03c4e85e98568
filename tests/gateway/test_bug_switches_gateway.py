"""The platform's historical isolation bugs (emulator.bugs), switched on one at a time, and the
default emulator keeping the fix: ISO-023, the gateway trusting a client-sent identity
header; ISO-024, KFAM reachable by anyone (no Istio policy in front of it)."""

from __future__ import annotations

from typing import Any

import requests

from emulator.testing import (
    OWNER,
    OWNER_NAMESPACE,
    STRANGER,
    assert_denied,
)
from tests.gateway.conftest import USERID, V2, Gateway, experiment_body

RBAC = "RBAC: access denied"
STRANGER_BINDING = "user-bob-example-com-clusterrole-edit"
BOB_TO_ALICE = {"user": {"kind": "User", "name": STRANGER}, "referredNamespace": OWNER_NAMESPACE,
                "RoleRef": {"kind": "ClusterRole", "name": "edit"}}


def _alices_experiment(gw: Gateway) -> str:
    made = requests.post(f"{gw.direct_url}{V2}/experiments", headers={USERID: OWNER},
                         json=experiment_body("plans", OWNER_NAMESPACE))
    assert made.status_code == 200, made.text
    return str(made.json()["experiment_id"])


def _storage_state(gw: Gateway, experiment: str) -> str:
    seen = requests.get(f"{gw.direct_url}{V2}/experiments/{experiment}", headers={USERID: OWNER})
    assert seen.status_code == 200
    return str(seen.json()["storage_state"])


def _has_binding(gw: Gateway, namespace: str, name: str) -> bool:
    with gw.emulator.kfp.state.lock:
        return name in gw.emulator.cluster.rbac.bindings.get(namespace, {})


# -- ISO-023: the identity header trusted from any source ---------------------------------------

def test_iso_023_a_client_sent_identity_header_reaches_the_api_server(bugged: Any) -> None:
    gw = bugged("ISO-023")
    experiment = _alices_experiment(gw)
    bob = gw.signed_in(STRANGER)
    assert_denied(bob.get(f"{gw.pipeline_url}{V2}/experiments/{experiment}"))  # bob as bob
    forged = {USERID: OWNER}
    read = bob.get(f"{gw.pipeline_url}{V2}/experiments/{experiment}", headers=forged)
    assert read.status_code == 200 and read.json()["experiment_id"] == experiment
    archived = bob.post(f"{gw.pipeline_url}{V2}/experiments/{experiment}:archive",
                        headers=forged)
    assert archived.status_code == 200, archived.text
    assert _storage_state(gw, experiment) == "ARCHIVED"


def test_iso_023_still_needs_a_signed_in_caller(bugged: Any) -> None:
    """The login proxy runs before the header is looked at: no session, no request."""
    gw = bugged("ISO-023")
    experiment = _alices_experiment(gw)
    anonymous = requests.get(f"{gw.pipeline_url}{V2}/experiments/{experiment}",
                             headers={USERID: OWNER}, allow_redirects=False)
    assert (anonymous.status_code, anonymous.text.strip()) == (401, "{}")


def test_a_client_sent_identity_header_is_replaced_by_default(gw: Gateway) -> None:
    experiment = _alices_experiment(gw)
    bob = gw.signed_in(STRANGER)
    forged = {USERID: OWNER}
    assert_denied(bob.get(f"{gw.pipeline_url}{V2}/experiments/{experiment}", headers=forged))
    assert_denied(bob.post(f"{gw.pipeline_url}{V2}/experiments/{experiment}:archive",
                           headers=forged))
    assert _storage_state(gw, experiment) == "AVAILABLE"


# -- ISO-024: KFAM without its Istio policy -----------------------------------------------------

def test_iso_024_a_forged_identity_makes_bob_a_contributor_of_alice(bugged: Any) -> None:
    gw = bugged("ISO-024")
    _alices_experiment(gw)
    listing = {"namespace": OWNER_NAMESPACE}
    assert_denied(requests.get(f"{gw.direct_url}{V2}/experiments", params=listing,
                               headers={USERID: STRANGER}))  # control: bob has no access
    made = requests.post(f"{gw.direct_url}/kfam/v1/bindings", headers={USERID: OWNER},
                         json=BOB_TO_ALICE)
    assert (made.status_code, made.text) == (200, "")
    assert _has_binding(gw, OWNER_NAMESPACE, STRANGER_BINDING)
    listed = requests.get(f"{gw.direct_url}{V2}/experiments", params=listing,
                          headers={USERID: STRANGER})
    assert listed.status_code == 200
    assert [e["display_name"] for e in listed.json()["experiments"]] == ["plans"]


def test_iso_024_kfam_is_reached_through_the_gateway_as_the_signed_in_user(bugged: Any) -> None:
    """The gateway's /kfam/ route reaches KFAM too, with the gateway's identity header: bob
    reads anyone's bindings (KFAM checks nothing there) but KFAM itself refuses him a binding
    in alice's profile, which he does not own."""
    gw = bugged("ISO-024")
    bob = gw.signed_in(STRANGER)
    read = bob.get(f"{gw.url}/kfam/v1/bindings", params={"namespace": OWNER_NAMESPACE})
    assert read.status_code == 200
    assert OWNER in {item["user"]["name"] for item in read.json()["bindings"]}
    refused = bob.post(f"{gw.url}/kfam/v1/bindings", json=BOB_TO_ALICE)
    assert (refused.status_code, refused.text) == (403, "")
    assert not _has_binding(gw, OWNER_NAMESPACE, STRANGER_BINDING)


def test_kfam_is_behind_its_policy_by_default(gw: Gateway) -> None:
    made = requests.post(f"{gw.direct_url}/kfam/v1/bindings", headers={USERID: OWNER},
                         json=BOB_TO_ALICE)
    assert (made.status_code, made.text) == (403, RBAC)
    bob = gw.signed_in(STRANGER)
    read = bob.get(f"{gw.url}/kfam/v1/bindings", params={"namespace": OWNER_NAMESPACE})
    assert (read.status_code, read.text) == (403, RBAC)
    assert not _has_binding(gw, OWNER_NAMESPACE, STRANGER_BINDING)
    assert_denied(requests.get(f"{gw.direct_url}{V2}/experiments",
                               params={"namespace": OWNER_NAMESPACE},
                               headers={USERID: STRANGER}))

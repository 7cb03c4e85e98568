"""Tenants provisioned through the Kubernetes API get exactly their roles' rights in KFP.

The emulator starts with no Profiles; :func:`provision_tenants` creates everything with the
official ``kubernetes`` client.  Then every identity is tried on both ways into KFP:

* ``direct``: ml-pipeline:8888 in the cluster; people as the ``kubeflow-userid`` header (what
  the mesh forwards), ServiceAccounts with their TokenRequest tokens (``existing_token``);
* ``gateway``: ``<gateway>/pipeline``; people with a Dex login session (``cookies``),
  ServiceAccounts with the same tokens as bearer JWTs.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
import requests
from kubernetes import client as k8s

from tests.e2e.provisioning import (
    ANN,
    ANN_NS,
    BEN,
    BEN_NS,
    EDITOR_SA,
    EVE,
    KFP_AUDIENCE,
    PIPELINES_GROUP,
    PROFILE_GROUP,
    PROFILE_PLURAL,
    PROFILE_VERSION,
    READER_BINDING,
    READER_ROLE,
    RITA,
    VAL,
    kfam_binding_name,
)
from tests.e2e.support import (
    ENDPOINTS,
    SDK_WARNING,
    USERID_HEADER,
    Actor,
    Platform,
    RawActor,
    SdkActor,
    assert_refused_anonymous,
    expect_denied,
    failure_response,
    unique,
)

pytestmark = SDK_WARNING

OWNERS = {ANN_NS: ANN, BEN_NS: BEN}


class Op(str, Enum):
    LIST = "list experiments"
    GET = "get experiment"
    CREATE = "create experiment"
    RUN = "create run"
    LIST_RUNS = "list runs"
    DELETE = "delete experiment"


ALL = frozenset(Op)
VIEW = frozenset({Op.LIST, Op.GET, Op.LIST_RUNS})  # kubeflow-view: get/list on KFP objects
READ_EXPERIMENTS = frozenset({Op.LIST, Op.GET})  # the custom Role: experiments get, list
NOTHING: frozenset[Op] = frozenset()


# -- provisioning ------------------------------------------------------------------------------


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert isinstance(claims, dict)
    return claims


def test_profiles_made_through_the_kubernetes_api_are_reconciled_like_kubeflow(
        platform: Platform) -> None:
    """Profiles, namespaces, ServiceAccounts and bindings read back as the platform makes them
    (docs/upstream/kubeflow-platform.md sections 1.6, 7.2 and 7.3)."""
    api = platform.kube
    profiles = k8s.CustomObjectsApi(api).list_cluster_custom_object(
        PROFILE_GROUP, PROFILE_VERSION, PROFILE_PLURAL)
    assert {p["metadata"]["name"]: p["spec"]["owner"] for p in profiles["items"]} == {
        ANN_NS: {"kind": "User", "name": ANN}, BEN_NS: {"kind": "User", "name": BEN}}

    core, rbac = k8s.CoreV1Api(api), k8s.RbacAuthorizationV1Api(api)
    for namespace, owner in OWNERS.items():
        ns = core.read_namespace(namespace)
        assert ns.metadata.annotations["owner"] == owner
        assert ns.metadata.labels["istio-injection"] == "enabled"
        accounts = {sa.metadata.name for sa in
                    core.list_namespaced_service_account(namespace).items}
        assert {"default-editor", "default-viewer"} <= accounts
        admin = rbac.read_namespaced_role_binding("namespaceAdmin", namespace)
        assert (admin.role_ref.kind, admin.role_ref.name) == ("ClusterRole", "kubeflow-admin")
        assert [(s.kind, s.name) for s in admin.subjects] == [("User", owner)]

    for email, role in ((EVE, "edit"), (VAL, "view")):
        binding = rbac.read_namespaced_role_binding(kfam_binding_name(email, role), ANN_NS)
        assert binding.metadata.annotations == {"user": email, "role": role}
        assert (binding.role_ref.kind, binding.role_ref.name) == ("ClusterRole",
                                                                  f"kubeflow-{role}")
        assert [(s.kind, s.name) for s in binding.subjects] == [("User", email)]
    assert kfam_binding_name(EVE, "edit") == "user-eve-example-com-clusterrole-edit"

    reader = rbac.read_namespaced_role(READER_ROLE, ANN_NS)
    assert [(r.api_groups, r.resources, sorted(r.verbs)) for r in reader.rules] == [
        ([PIPELINES_GROUP], ["experiments"], ["get", "list"])]
    reader_binding = rbac.read_namespaced_role_binding(READER_BINDING, ANN_NS)
    assert (reader_binding.role_ref.kind, reader_binding.role_ref.name) == ("Role", READER_ROLE)
    assert [(s.kind, s.name) for s in reader_binding.subjects] == [("User", RITA)]


@pytest.mark.parametrize("namespace", [ANN_NS, BEN_NS])
def test_token_requests_bind_the_service_account_and_the_kfp_audience(
        platform: Platform, namespace: str) -> None:
    claims = jwt_claims(platform.tenants.tokens[namespace])
    assert claims["sub"] == f"system:serviceaccount:{namespace}:{EDITOR_SA}"
    assert claims["aud"] == [KFP_AUDIENCE]
    assert claims["exp"] - claims["iat"] == 3600


# -- the role matrix ---------------------------------------------------------------------------


def create_verb(actor: Actor, allowed: frozenset[Op]) -> str:
    """The SAR verb a denied create trips: ``Client.create_experiment`` first looks the name up
    with a list call, so an SDK caller who may not list is stopped there."""
    return "list" if isinstance(actor, SdkActor) and Op.LIST not in allowed else "create"


CASES = [
    # namespace, who, what they may do there, why
    (ANN_NS, ANN, ALL, "owner"),
    (ANN_NS, EVE, ALL, "edit-contributor"),
    (ANN_NS, VAL, VIEW, "view-contributor"),
    (ANN_NS, RITA, READ_EXPERIMENTS, "custom-role"),
    (ANN_NS, BEN, NOTHING, "stranger"),
    (ANN_NS, "ann-sa", ALL, "own-editor-sa"),
    (ANN_NS, "ben-sa", NOTHING, "foreign-editor-sa"),
    (BEN_NS, BEN, ALL, "owner"),  # the stranger's positive control, in his own namespace
    (BEN_NS, "ben-sa", ALL, "own-editor-sa"),
    (BEN_NS, "ann-sa", NOTHING, "foreign-editor-sa"),
    (BEN_NS, ANN, NOTHING, "stranger"),
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(("namespace", "who", "allowed"), [c[:3] for c in CASES],
                         ids=[f"{c[0]}-{c[1].split('@')[0]}-{c[3]}" for c in CASES])
def test_each_identity_can_do_exactly_what_its_role_allows(
        platform: Platform, kfp_home: Path, endpoint: str, namespace: str, who: str,
        allowed: frozenset[Op]) -> None:
    owner = platform.person(endpoint, OWNERS[namespace])
    actor = platform.actor(endpoint, who)

    # Positive controls first: the owner makes an experiment with a run, and reads both.
    experiment_name = unique("exp")
    experiment = owner.create_experiment(namespace, experiment_name)
    run = owner.create_run(experiment, unique("run"))
    assert owner.list_experiments(namespace)[experiment] == experiment_name
    assert owner.get_experiment(experiment) == experiment_name
    assert run in owner.list_runs(namespace)

    if Op.LIST in allowed:
        assert actor.list_experiments(namespace)[experiment] == experiment_name
    else:
        expect_denied(actor, "list", "experiments", namespace,
                      lambda: actor.list_experiments(namespace))

    if Op.GET in allowed:
        assert actor.get_experiment(experiment) == experiment_name
    else:
        expect_denied(actor, "get", "experiments", namespace,
                      lambda: actor.get_experiment(experiment))

    created_name = unique("by-actor")
    if Op.CREATE in allowed:
        created = actor.create_experiment(namespace, created_name)
        assert owner.list_experiments(namespace)[created] == created_name
    else:
        expect_denied(actor, create_verb(actor, allowed), "experiments", namespace,
                      lambda: actor.create_experiment(namespace, created_name))
        assert created_name not in owner.list_experiments(namespace).values()

    run_name = unique("run-by-actor")
    if Op.RUN in allowed:
        new_run = actor.create_run(experiment, run_name)
        assert owner.list_runs(namespace)[new_run] == run_name
    else:
        expect_denied(actor, "create", "runs", namespace,
                      lambda: actor.create_run(experiment, run_name))
        assert run_name not in owner.list_runs(namespace).values()

    if Op.LIST_RUNS in allowed:
        assert run in actor.list_runs(namespace)
    else:
        expect_denied(actor, "list", "runs", namespace, lambda: actor.list_runs(namespace))

    # Delete: the owner deletes one throwaway experiment (positive control), then the actor
    # tries another.
    control = owner.create_experiment(namespace, unique("control"))
    owner.delete_experiment(control)
    assert control not in owner.list_experiments(namespace)
    target_name = unique("target")
    target = owner.create_experiment(namespace, target_name)
    if Op.DELETE in allowed:
        actor.delete_experiment(target)
        assert target not in owner.list_experiments(namespace)
    else:
        expect_denied(actor, "delete", "experiments", namespace,
                      lambda: actor.delete_experiment(target))
        assert owner.get_experiment(target) == target_name


# -- anonymous ---------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_anonymous_callers_are_refused_before_anything_happens(
        platform: Platform, kfp_home: Path, endpoint: str) -> None:
    owner = platform.person(endpoint, ANN)
    experiment_name = unique("exp")
    experiment = owner.create_experiment(ANN_NS, experiment_name)
    owner.create_run(experiment, unique("run"))
    base = platform.server.url if endpoint == "direct" else platform.pipeline_url
    anonymous = RawActor(base, {}, "anonymous", "no credentials", platform.package)

    calls: list[Callable[[], object]] = [
        lambda: anonymous.list_experiments(ANN_NS),
        lambda: anonymous.get_experiment(experiment),
        lambda: anonymous.create_experiment(ANN_NS, "anonymous-exp"),
        lambda: anonymous.create_run(experiment, "anonymous-run"),
        lambda: anonymous.list_runs(ANN_NS),
        lambda: anonymous.delete_experiment(experiment),
    ]
    for call in calls:
        with pytest.raises(requests.HTTPError) as info:
            call()
        assert_refused_anonymous(endpoint, failure_response(info.value))

    assert owner.get_experiment(experiment) == experiment_name
    assert "anonymous-exp" not in owner.list_experiments(ANN_NS).values()
    assert "anonymous-run" not in owner.list_runs(ANN_NS).values()


# -- header spoofing ---------------------------------------------------------------------------


def test_the_direct_endpoint_trusts_a_spoofed_identity_header(
        platform: Platform, kfp_home: Path) -> None:
    """ml-pipeline believes ``kubeflow-userid`` and prefers it to a bearer token (spec 2.2).

    In a real mesh the ``ml-pipeline`` AuthorizationPolicy refuses requests that carry the
    header unless they come from KFP's own service accounts (ISO-023; KFP manifests
    ``istio-authorization-config.yaml``): that protection lives outside the API server, so the
    direct endpoint — the API server itself — lets ben act as ann.
    """
    owner = platform.person("direct", ANN)
    owner.list_experiments(ANN_NS)  # positive control
    ben_token = {"Authorization": f"Bearer {platform.tenants.tokens[BEN_NS]}"}
    ben = RawActor(platform.server.url, ben_token, platform.tenants.service_account_user(BEN_NS),
                   "ben's token", platform.package)
    expect_denied(ben, "create", "experiments", ANN_NS,
                  lambda: ben.create_experiment(ANN_NS, unique("honest")))

    spoofer = RawActor(platform.server.url, {**ben_token, USERID_HEADER: ANN}, ANN,
                       "ben's token claiming to be ann", platform.package)
    name = unique("spoofed")
    created = spoofer.create_experiment(ANN_NS, name)
    assert owner.list_experiments(ANN_NS)[created] == name


@pytest.mark.parametrize("credential", ["login-session", "bearer-token"])
def test_the_gateway_replaces_a_spoofed_identity_header(
        platform: Platform, kfp_home: Path, credential: str) -> None:
    """At the gateway the identity comes from the session's or token's claims, which overwrite
    any client-sent ``kubeflow-userid`` (docs/upstream/kubeflow-platform.md 3.3)."""
    owner = platform.person("gateway", ANN)
    name = unique("owner")
    owner.create_experiment(ANN_NS, name)  # positive control for the create below
    if credential == "login-session":
        auth, identity = {"Cookie": platform.cookie(BEN)}, BEN
    else:
        auth = {"Authorization": f"Bearer {platform.tenants.tokens[BEN_NS]}"}
        identity = platform.tenants.service_account_user(BEN_NS)

    honest = RawActor(platform.pipeline_url, auth, identity, "ben", platform.package)
    assert honest.create_experiment(BEN_NS, unique("own"))  # ben's credential works

    spoofer = RawActor(platform.pipeline_url, {**auth, USERID_HEADER: ANN}, identity,
                       "ben claiming to be ann", platform.package)
    spoofed_name = unique("spoofed")
    expect_denied(spoofer, "create", "experiments", ANN_NS,
                  lambda: spoofer.create_experiment(ANN_NS, spoofed_name))
    assert spoofed_name not in owner.list_experiments(ANN_NS).values()


def test_the_gateway_refuses_a_bare_identity_header(platform: Platform, kfp_home: Path) -> None:
    platform.person("gateway", ANN).list_experiments(ANN_NS)  # positive control
    spoofer = RawActor(platform.pipeline_url, {USERID_HEADER: ANN}, ANN, "header only",
                       platform.package)
    with pytest.raises(requests.HTTPError) as info:
        spoofer.list_experiments(ANN_NS)
    assert_refused_anonymous("gateway", failure_response(info.value))

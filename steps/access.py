"""Access-change steps: contributors removed and added, tokens that stop being good.

The KFP API server keeps no authorization state: every request is a fresh TokenReview and
SubjectAccessReview (spec sections 2.2 and 3.1).  So once Kubernetes itself says a change took
effect, KFP's very next request must follow it.  The steps change access through the Kubernetes
API (what KFAM and the profile controller write), wait until Kubernetes' own review agrees (a
real cluster's RBAC and token caches take a moment; the emulator none), then let the scenario
send its next request.  Every change is undone when the scenario ends, so later scenarios still
have the cast as designed.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import requests
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from pytest_bdd import given, parsers, then, when

from conformance.outcomes import HarnessError, NotSupported
from conformance.provisioning import (
    KFP_AUDIENCE,
    PIPELINES_GROUP,
    RBAC_GROUP,
    add_contributor,
    remove_contributor,
    request_token,
    wait_for,
)
from conformance.targets import USERID_HEADER, ServiceAccount
from conformance.world import World
from emulator.testing import IdentitySession
from steps import oracles
from steps.generic import METHOD, TENANT

PATH = r"(?P<path>\S+)"
ACCOUNT = r'the service account "(?P<account>[\w-]+)"'
OWN_ACCOUNT = r"(?P<owner>\w+)'s service account"
ROLES = ("admin", "edit", "view")
# How long Kubernetes may take to agree with a change it accepted (informer caches).
SETTLE_SECONDS = 30.0
# spec section 2.2: the TokenReview authenticator's error when Kubernetes refuses the token.
REVIEW_REFUSED = "Review.Status.Authenticated is false"
# docs/upstream/kubeflow-platform.md 5.1: Envoy jwt_authn's local reply for an expired JWT.
ENVOY_EXPIRED = "Jwt is expired"
EXPIRING_NOTE = "expiring token of {owner}"


@dataclass(frozen=True)
class Account:
    """A ServiceAccount a scenario made, and the one token it minted for it."""

    namespace: str
    name: str
    token: str

    @property
    def username(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.name}"


# -- Kubernetes' own view -----------------------------------------------------------------------


def kube_allows(world: World, user: str, namespace: str, verb: str = "get") -> bool:
    """What a SubjectAccessReview, as KFP sends it for experiments, answers now."""
    review = k8s.V1SubjectAccessReview(spec=k8s.V1SubjectAccessReviewSpec(
        user=user, resource_attributes=k8s.V1ResourceAttributes(
            namespace=namespace, verb=verb, group=PIPELINES_GROUP, version="v1beta1",
            resource="experiments")))
    answer = k8s.AuthorizationV1Api(world.connection.kube).create_subject_access_review(review)
    return bool(answer.status and answer.status.allowed)


def kube_authenticates(world: World, token: str) -> bool:
    """What a TokenReview for KFP's audience answers now."""
    review = k8s.V1TokenReview(spec=k8s.V1TokenReviewSpec(token=token,
                                                          audiences=[KFP_AUDIENCE]))
    answer = k8s.AuthenticationV1Api(world.connection.kube).create_token_review(review)
    return bool(answer.status and answer.status.authenticated)


def settle(what: str, probe: Callable[[], bool]) -> None:
    try:
        wait_for(what, probe, timeout=SETTLE_SECONDS, interval=0.2)
    except TimeoutError as exc:
        raise HarnessError(f"Kubernetes did not take the change: {exc}") from None


def _ignore_missing(action: Callable[[], object]) -> None:
    try:
        action()
    except ApiException as exc:
        if exc.status != 404:
            raise


# -- contributors -------------------------------------------------------------------------------


def _contributor_role(world: World, email: str, namespace: str) -> str:
    for tenant in world.cast.tenants():
        if tenant.namespace == namespace:
            for contributor, role in tenant.contributors:
                if contributor == email:
                    return role
    raise HarnessError(f"{email} is no contributor of {namespace} in the cast")


@when(parsers.re(rf"(?P<person>\w+) is removed as a contributor of {TENANT}"))
def contributor_removed(world: World, request: pytest.FixtureRequest, person: str,
                        tenant: str) -> None:
    email, namespace = world.cast.identity(person), world.cast.namespace(tenant)
    role = _contributor_role(world, email, namespace)
    remove_contributor(world.connection.kube, namespace, email, role)

    def restore() -> None:
        try:
            add_contributor(world.connection.kube, namespace, email, role)
        except ApiException as exc:
            if exc.status != 409:
                raise
        settle(f"{email} restored in {namespace}", lambda: kube_allows(world, email, namespace))

    request.addfinalizer(restore)
    settle(f"{email} removed from {namespace}",
           lambda: not kube_allows(world, email, namespace))


@when(parsers.re(rf"(?P<person>\w+) is added as an? (?P<role>{'|'.join(ROLES)}) contributor "
                 f"of {TENANT}"))
def contributor_added(world: World, request: pytest.FixtureRequest, person: str, role: str,
                      tenant: str) -> None:
    email, namespace = world.cast.identity(person), world.cast.namespace(tenant)
    if kube_allows(world, email, namespace):
        raise HarnessError(f"{email} may already read experiments in {namespace}")
    add_contributor(world.connection.kube, namespace, email, role)

    def undo() -> None:
        _ignore_missing(lambda: remove_contributor(world.connection.kube, namespace, email,
                                                   role))
        settle(f"{email} removed again from {namespace}",
               lambda: not kube_allows(world, email, namespace))

    request.addfinalizer(undo)
    settle(f"{email} added to {namespace}", lambda: kube_allows(world, email, namespace))


# -- requests with a token of the scenario's own ------------------------------------------------


def _send_with(world: World, actor: str, session: IdentitySession, door: str, method: str,
               path: str) -> None:
    """Like :meth:`World.send`, with a session the cast does not pool (a special token)."""
    try:
        world.actor, world.door = actor, door
        world.response = session.request(method, world.resolve(path))
        world.record(actor, door, world.response)
    finally:
        session.close()


def _door(world: World, door: str | None) -> str:
    chosen = "direct" if door == "direct endpoint" else door or world.mode_door
    target = world.connection.target
    if not (target.kfp_direct if chosen == "direct" else target.kfp_gateway):
        raise NotSupported(f"the target names no {chosen} KFP endpoint")
    return chosen


def _bearer_session(world: World, door: str, token: str, label: str) -> IdentitySession:
    target = world.connection.target
    host = target.kfp_gateway if door == "gateway" else target.kfp_direct
    return IdentitySession(host, {"Authorization": f"Bearer {token}"}, label)


DOOR = r"(?: through the (?P<door>gateway|direct endpoint))?"


@when(parsers.re(f"{OWN_ACCOUNT} sends {METHOD} {PATH}{DOOR} "
                 r'with a token for the audience "(?P<audience>[^"]+)"'))
def sends_with_audience(world: World, owner: str, method: str, path: str, door: str | None,
                        audience: str) -> None:
    chosen = _door(world, door)
    account = ServiceAccount(world.cast.namespace(owner), audience=audience)
    session = world.connection.session(account, outside=chosen == "gateway")
    _send_with(world, f"{owner}'s service account", session, chosen, method, path)


@given(parsers.re(rf'a new service account "(?P<account>[\w-]+)" in {TENANT} that may '
                  r"(?P<role>edit|view) there"))
def new_service_account(world: World, request: pytest.FixtureRequest, account: str,
                        tenant: str, role: str) -> None:
    """A ServiceAccount of the scenario's own, bound like a contributor (kubeflow-<role>), with
    one TokenRequest token for KFP's audience."""
    namespace = world.cast.namespace(tenant)
    name = f"{account}-{secrets.token_hex(3)}"
    core, rbac = k8s.CoreV1Api(world.connection.kube), \
        k8s.RbacAuthorizationV1Api(world.connection.kube)
    core.create_namespaced_service_account(
        namespace, k8s.V1ServiceAccount(metadata=k8s.V1ObjectMeta(name=name)))
    request.addfinalizer(lambda: _ignore_missing(
        lambda: core.delete_namespaced_service_account(name, namespace)))
    rbac.create_namespaced_role_binding(namespace, k8s.V1RoleBinding(
        metadata=k8s.V1ObjectMeta(name=name),
        role_ref=k8s.V1RoleRef(api_group=RBAC_GROUP, kind="ClusterRole",
                               name=f"kubeflow-{role}"),
        subjects=[k8s.RbacV1Subject(kind="ServiceAccount", name=name, namespace=namespace)]))
    request.addfinalizer(lambda: _ignore_missing(
        lambda: rbac.delete_namespaced_role_binding(name, namespace)))
    made = Account(namespace, name, request_token(world.connection.kube, namespace, name))
    settle(f"{made.username} bound in {namespace}",
           lambda: kube_allows(world, made.username, namespace))
    world.notes[f"account {account}"] = made


def _account(world: World, account: str) -> Account:
    made = world.notes.get(f"account {account}")
    if not isinstance(made, Account):
        raise HarnessError(f"this scenario made no service account {account!r}")
    return made


@when(parsers.re(f"{ACCOUNT} sends {METHOD} {PATH}{DOOR}"))
def account_sends(world: World, account: str, method: str, path: str,
                  door: str | None) -> None:
    made = _account(world, account)
    chosen = _door(world, door)
    _send_with(world, f'the service account "{account}"',
               _bearer_session(world, chosen, made.token, made.username), chosen, method, path)


@when(parsers.re(f"{ACCOUNT} is deleted"))
def account_deleted(world: World, account: str) -> None:
    made = _account(world, account)
    k8s.CoreV1Api(world.connection.kube).delete_namespaced_service_account(made.name,
                                                                           made.namespace)
    settle(f"the token of the deleted {made.username} refused",
           lambda: not kube_authenticates(world, made.token))


# -- expiry (the emulator's clock) --------------------------------------------------------------


@given(parsers.re(rf"{OWN_ACCOUNT} holds a token that expires in (?P<seconds>\d+) seconds"))
def expiring_token(world: World, owner: str, seconds: str) -> None:
    world.notes[EXPIRING_NOTE.format(owner=owner)] = request_token(
        world.connection.kube, world.cast.namespace(owner), expiration_seconds=int(seconds))


@when(parsers.re(f"{OWN_ACCOUNT} sends {METHOD} {PATH}{DOOR} with that token"))
def sends_with_that_token(world: World, owner: str, method: str, path: str,
                          door: str | None) -> None:
    token = world.notes.get(EXPIRING_NOTE.format(owner=owner))
    if not token:
        raise HarnessError(f"{owner}'s service account holds no expiring token yet")
    chosen = _door(world, door)
    label = f"{owner}'s service account"
    _send_with(world, label, _bearer_session(world, chosen, token, label), chosen, method, path)


@when(parsers.re(r"the emulator's clock advances by (?P<seconds>\d+) seconds"))
def clock_advances(world: World, request: pytest.FixtureRequest, seconds: str) -> None:
    controls = world.connection.target.emulator_controls
    if not controls:
        raise NotSupported("the target is no emulator: its clock cannot be moved")
    answer = requests.post(f"{controls}/clock:advance", json={"seconds": int(seconds)},
                           timeout=30)
    if answer.status_code != 200:
        raise HarnessError(f"the emulator clock did not advance: {answer.status_code} "
                           f"{answer.text[:200]}")
    # Tokens the connection cached for the rest of the run aged too: mint fresh ones later.
    request.addfinalizer(world.connection.forget_credentials)


# -- KFAM (profiles-kfam:8081): only the central dashboard may call it -------------------------

KFAM_PREFIX = "/kfam/v1"
CONTRIBUTORS = "/api/workgroup/get-contributors/{namespace}"
# Istio's local reply when an AuthorizationPolicy refuses the caller (no RBAC of Kubernetes).
ISTIO_DENIED = "RBAC: access denied"


def _kfam_in_cluster(world: World) -> str:
    """Where a pod in the cluster reaches KFAM: the target's ``extra.kfam`` (e.g.
    ``http://profiles-kfam.kubeflow:8081``), or the emulator's direct listener, which serves
    KFAM's routes behind the same policy."""
    target = world.connection.target
    named = target.extra.get("kfam") if isinstance(target.extra, dict) else None
    if isinstance(named, str) and named:
        return named.rstrip("/")
    if target.is_emulator and target.kfp_direct:
        return target.kfp_direct.rstrip("/")
    raise NotSupported("the target names no in-cluster KFAM endpoint (extra.kfam)")


@when(parsers.re(rf"(?P<actor>\w+) asks the dashboard for the contributors of {TENANT}"))
def asks_contributors(world: World, actor: str, tenant: str) -> None:
    """The central dashboard's contributor list: the dashboard asks KFAM (its one admitted
    caller), so this is KFAM at work for a user."""
    session = world.session(actor, "gateway")
    world.actor, world.door = actor, "gateway"
    path = CONTRIBUTORS.format(namespace=world.cast.namespace(tenant))
    world.response = session.get(world.connection.target.gateway.rstrip("/") + path)
    world.record(actor, "gateway", world.response)


@when(parsers.re(rf"(?P<actor>\w+) reads KFAM's bindings of {TENANT} through the gateway"))
def reads_kfam_bindings(world: World, actor: str, tenant: str) -> None:
    """KFAM's own route (VirtualService ``/kfam/``), past the dashboard."""
    session = world.session(actor, "gateway")
    world.actor, world.door = actor, "gateway"
    world.response = session.get(f"{world.connection.target.gateway.rstrip('/')}{KFAM_PREFIX}"
                                 f"/bindings?namespace={world.cast.namespace(tenant)}")
    world.record(actor, "gateway", world.response)


@when(parsers.re(rf"(?P<actor>\w+) asks KFAM in the cluster to make (?P<person>\w+) an? "
                 rf"(?P<role>{'|'.join(ROLES)}) contributor of {TENANT}, "
                 r"claiming to be (?P<claimed>\w+)"))
def asks_kfam_binding(world: World, request: pytest.FixtureRequest, actor: str, person: str,
                      role: str, tenant: str, claimed: str) -> None:
    """``POST /kfam/v1/bindings`` as the dashboard would send it, from inside the cluster, with
    a forged identity header.  A binding it made is removed when the scenario ends (through
    KFAM, which also removes its Istio policy, then through Kubernetes)."""
    email, namespace = world.cast.identity(person), world.cast.namespace(tenant)
    if kube_allows(world, email, namespace):
        raise HarnessError(f"{email} may already read experiments in {namespace}")
    url = f"{_kfam_in_cluster(world)}{KFAM_PREFIX}/bindings"
    body = {"user": {"kind": "User", "name": email}, "referredNamespace": namespace,
            "RoleRef": {"kind": "ClusterRole", "name": role}}
    headers = {USERID_HEADER: world.cast.identity(claimed)}
    world.actor, world.door = actor, "direct"
    world.response = requests.post(url, json=body, headers=headers, timeout=30)
    world.record(actor, "direct", world.response)
    if world.response.status_code != 200:
        return

    def undo() -> None:
        requests.delete(url, json=body, headers=headers, timeout=30)
        _ignore_missing(lambda: remove_contributor(world.connection.kube, namespace, email,
                                                   role))
        settle(f"{email} removed again from {namespace}",
               lambda: not kube_allows(world, email, namespace))

    request.addfinalizer(undo)


@then("the request is refused by Istio's policy")
def refused_by_istio(world: World) -> None:
    """Envoy's local reply for an AuthorizationPolicy denial: 403 and its exact text."""
    response = world.last()
    assert (response.status_code, response.text) == (403, ISTIO_DENIED), \
        f"expected Istio's 403 {ISTIO_DENIED!r}, got {response.status_code}: " \
        f"{response.text[:300]!r}"


# -- the precise refusals -----------------------------------------------------------------------


def review_refused(response: requests.Response) -> None:
    """The API server's exact 401 (spec 2.3) after Kubernetes refused the bearer token: the
    internal message carries the TokenReview authenticator's error (spec 2.2)."""
    oracles.unauthenticated(response, gateway=False)
    message = str(oracles.body(response).get("message", ""))
    assert REVIEW_REFUSED in message, \
        f"expected the token review's refusal ({REVIEW_REFUSED!r}) in {message!r}"


def envoy_refused(response: requests.Response, reason: str) -> None:
    """Envoy jwt_authn's local reply: 401, the status string as text/plain, and a Bearer
    challenge flagging the token invalid (docs/upstream/kubeflow-platform.md 5.1)."""
    assert (response.status_code, response.text) == (401, reason), \
        f"expected the gateway's 401 {reason!r}, got {response.status_code}: " \
        f"{response.text[:300]!r}"
    assert response.headers.get("content-type", "").startswith("text/plain"), response.headers
    challenge = response.headers.get("www-authenticate", "")
    assert challenge.startswith("Bearer realm=") and challenge.endswith(
        ', error="invalid_token"'), f"unexpected WWW-Authenticate {challenge!r}"


@then("the request is refused by the token review")
def refused_by_review(world: World) -> None:
    if world.door != "direct":
        raise HarnessError("the token review is the direct endpoint's: send it there")
    review_refused(world.last())


@then("the expired token is refused")
def expired_refused(world: World) -> None:
    if world.door == "gateway":
        envoy_refused(world.last(), ENVOY_EXPIRED)
    else:
        review_refused(world.last())

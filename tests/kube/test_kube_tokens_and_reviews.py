"""TokenRequest, TokenReview and (Self)SubjectAccessReview: the same authorities KFP asks."""

from __future__ import annotations

import json

import pytest
from kube_support import KubeEnv, status_body, status_of
from kubernetes import client

from emulator.kube.tokens import API_AUDIENCE
from emulator.testing import (
    CONTRIBUTOR,
    OWNER,
    OWNER_NAMESPACE,
    STRANGER,
    STRANGER_NAMESPACE,
    VIEWER,
    assert_denied,
    assert_unauthenticated,
)

KFP_AUDIENCE = "pipelines.kubeflow.org"
EDITOR = "system:serviceaccount:alice:default-editor"


def _token_request(audiences: list[str],
                   seconds: int | None = None) -> client.AuthenticationV1TokenRequest:
    return client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(
        audiences=audiences, expiration_seconds=seconds))


def _mint(kube: KubeEnv, audiences: list[str],
          seconds: int | None = None) -> client.AuthenticationV1TokenRequest:
    with kube.admin() as api:
        return client.CoreV1Api(api).create_namespaced_service_account_token(
            "default-editor", OWNER_NAMESPACE, _token_request(audiences, seconds))


def _kfp_list(kube: KubeEnv, token: str) -> tuple[int, str]:
    response = kube.kfp_bearer(token).get(
        f"/apis/v2beta1/experiments?namespace={OWNER_NAMESPACE}")
    return response.status_code, response.text


def test_token_request_mints_a_kfp_credential(kube: KubeEnv) -> None:
    issued = _mint(kube, [KFP_AUDIENCE], 3600)
    assert issued.spec.expiration_seconds == 3600
    # Whole seconds, as the token's exp claim.
    assert issued.status.expiration_timestamp.timestamp() == int(kube.emulator.clock.now()) + 3600
    status, text = _kfp_list(kube, issued.status.token)
    assert status == 200, text


def test_token_request_defaults_to_the_api_audience_and_an_hour(kube: KubeEnv) -> None:
    issued = _mint(kube, [])
    assert issued.spec.audiences == [API_AUDIENCE]
    assert issued.spec.expiration_seconds == 3600
    # A Kubernetes-audience token works on the Kubernetes API...
    own = kube.raw("GET", f"/api/v1/namespaces/{OWNER_NAMESPACE}/serviceaccounts",
                   issued.status.token)
    assert own.status_code == 200
    # ...and is refused by KFP, which reviews tokens for its own audience.
    response = kube.kfp_bearer(issued.status.token).get(
        f"/apis/v2beta1/experiments?namespace={OWNER_NAMESPACE}")
    assert_unauthenticated(response)
    assert (f'Review.Status.Authenticated is false. Error [invalid bearer token, token audiences '
            f'["{API_AUDIENCE}"] is invalid for the target audiences ["{KFP_AUDIENCE}"]]'
            ) in json.dumps(response.json(), ensure_ascii=False).replace('\\"', '"')


def test_token_request_expires_on_the_emulator_clock(kube: KubeEnv) -> None:
    issued = _mint(kube, [KFP_AUDIENCE], 600)
    assert _kfp_list(kube, issued.status.token)[0] == 200
    kube.emulator.advance(661)  # past the expiry and the validator's 60 s leeway
    response = kube.kfp_bearer(issued.status.token).get(
        f"/apis/v2beta1/experiments?namespace={OWNER_NAMESPACE}")
    assert_unauthenticated(response)
    assert "service account token has expired" in response.text


def test_token_request_shorter_than_ten_minutes_is_invalid(kube: KubeEnv) -> None:
    assert _mint(kube, [KFP_AUDIENCE], 600).status.token
    before = kube.snapshot()
    with pytest.raises(client.ApiException) as invalid:
        _mint(kube, [KFP_AUDIENCE], 599)
    cause = "Invalid value: 599: may not specify a duration less than 10 minutes"
    assert status_of(invalid.value) == status_body(
        422, "Invalid",
        f'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: {cause}',
        {"group": "authentication.k8s.io", "kind": "TokenRequest",
         "causes": [{"reason": "FieldValueInvalid", "message": cause,
                     "field": "spec.expirationSeconds"}]})
    assert kube.snapshot() == before


def test_token_request_needs_the_token_subresource_permission(kube: KubeEnv) -> None:
    # The owner administers alice (serviceaccounts: all verbs) yet kubeflow roles do not grant
    # serviceaccounts/token: RBAC matches the subresource as "serviceaccounts/token".
    with kube.as_user(OWNER) as api:
        core = client.CoreV1Api(api)
        assert core.read_namespaced_service_account("default-editor", OWNER_NAMESPACE)
        with pytest.raises(client.ApiException) as denied:
            core.create_namespaced_service_account_token(
                "default-editor", OWNER_NAMESPACE, _token_request([KFP_AUDIENCE]))
    assert status_of(denied.value) == status_body(
        403, "Forbidden",
        'serviceaccounts "default-editor" is forbidden: User "alice@example.com" cannot create '
        'resource "serviceaccounts/token" in API group "" in the namespace "alice"',
        {"name": "default-editor", "kind": "serviceaccounts"})


def _sar(kube: KubeEnv, user: str, verb: str, namespace: str) -> client.V1SubjectAccessReview:
    with kube.admin() as api:
        return client.AuthorizationV1Api(api).create_subject_access_review(
            client.V1SubjectAccessReview(spec=client.V1SubjectAccessReviewSpec(
                user=user, resource_attributes=client.V1ResourceAttributes(
                    namespace=namespace, verb=verb, group="pipelines.kubeflow.org",
                    version="v1beta1", resource="experiments"))))


@pytest.mark.parametrize(("user", "verb", "allowed"), [
    (OWNER, "create", True), (CONTRIBUTOR, "create", True), (VIEWER, "list", True),
    (VIEWER, "create", False), (STRANGER, "list", False), (EDITOR, "create", True)])
def test_subject_access_review_agrees_with_kfp(kube: KubeEnv, user: str, verb: str,
                                               allowed: bool) -> None:
    """The Kubernetes SAR and KFP's own decision both follow the roles (spec section 10)."""
    review = _sar(kube, user, verb, OWNER_NAMESPACE)
    if verb == "create":
        response = kube.kfp_as(user).post("/apis/v2beta1/experiments", json={
            "display_name": "e", "namespace": OWNER_NAMESPACE})
    else:
        response = kube.kfp_as(user).get(
            f"/apis/v2beta1/experiments?namespace={OWNER_NAMESPACE}")
    assert review.status.allowed is allowed
    if allowed:
        assert response.status_code == 200, response.text
        assert review.status.reason.startswith("RBAC: allowed by RoleBinding ")
    else:
        assert_denied(response)
        assert review.status.reason is None


def test_self_subject_access_review_uses_the_callers_groups(kube: KubeEnv) -> None:
    review = client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec(
        resource_attributes=client.V1ResourceAttributes(
            namespace=OWNER_NAMESPACE, verb="create", group="pipelines.kubeflow.org",
            resource="experiments")))
    with kube.admin() as api:
        mine = client.AuthorizationV1Api(api).create_self_subject_access_review(review)
    assert mine.status.allowed is True
    assert mine.status.reason == ('RBAC: allowed by ClusterRoleBinding "cluster-admin" of '
                                  'ClusterRole "cluster-admin" to Group "system:masters"')
    with kube.as_user(STRANGER) as api:
        theirs = client.AuthorizationV1Api(api).create_self_subject_access_review(review)
    assert theirs.status.allowed is False


def test_subject_access_review_requires_a_subject_and_attributes(kube: KubeEnv) -> None:
    assert _sar(kube, OWNER, "get", OWNER_NAMESPACE).status.allowed is True
    response = kube.raw("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                        kube.admin_token(), json={"spec": {}})
    body = response.json()
    assert (response.status_code, body["reason"]) == (422, "Invalid")
    assert body["message"] == (
        'SubjectAccessReview.authorization.k8s.io "" is invalid: [spec.resourceAttributes: '
        'Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must '
        'be specified, spec.user: Invalid value: "": at least one of user or group must be '
        'specified]')


def test_tenants_may_not_review_others(kube: KubeEnv) -> None:
    # Positive control: an admin may ask about anyone.
    assert _sar(kube, STRANGER, "list", STRANGER_NAMESPACE).status.allowed is True
    with kube.as_user(OWNER) as api, pytest.raises(client.ApiException) as denied:
        client.AuthorizationV1Api(api).create_subject_access_review(
            client.V1SubjectAccessReview(spec=client.V1SubjectAccessReviewSpec(
                user=STRANGER, non_resource_attributes=client.V1NonResourceAttributes(
                    path="/api", verb="get"))))
    assert status_of(denied.value)["message"] == (
        'subjectaccessreviews.authorization.k8s.io is forbidden: User "alice@example.com" cannot '
        'create resource "subjectaccessreviews" in API group "authorization.k8s.io" at the '
        'cluster scope')


def _review(kube: KubeEnv, token: str, audiences: list[str] | None) -> client.V1TokenReview:
    with kube.admin() as api:
        return client.AuthenticationV1Api(api).create_token_review(client.V1TokenReview(
            spec=client.V1TokenReviewSpec(token=token, audiences=audiences)))


def test_token_review_good_expired_and_wrong_audience(kube: KubeEnv) -> None:
    token = kube.emulator.service_account_token(OWNER_NAMESPACE, ttl_seconds=600,
                                                audiences=[KFP_AUDIENCE])
    good = _review(kube, token, [KFP_AUDIENCE])
    assert good.status.authenticated is True
    assert good.status.user.username == EDITOR
    assert "system:serviceaccounts:alice" in good.status.user.groups
    assert good.status.audiences == [KFP_AUDIENCE]
    wrong = _review(kube, token, None)
    assert wrong.status.authenticated is False
    assert wrong.status.error == (
        f'[invalid bearer token, token audiences ["{KFP_AUDIENCE}"] is invalid for the target '
        f'audiences ["{API_AUDIENCE}"]]')
    kube.emulator.advance(661)  # past the expiry and the validator's 60 s leeway
    expired = _review(kube, token, [KFP_AUDIENCE])
    assert expired.status.authenticated is False
    assert expired.status.error == "[invalid bearer token, service account token has expired]"


def test_token_review_without_a_token_is_a_bad_request(kube: KubeEnv) -> None:
    response = kube.raw("POST", "/apis/authentication.k8s.io/v1/tokenreviews",
                        kube.admin_token(), json={"spec": {"token": ""}})
    assert response.json() == status_body(
        400, "BadRequest", "token is required for TokenReview in authentication")


def test_a_tenant_cannot_mint_another_namespaces_token(kube: KubeEnv) -> None:
    path = f"/api/v1/namespaces/{OWNER_NAMESPACE}/serviceaccounts/default-editor/token"
    # Positive control: the cluster admin can (no Kubeflow role grants serviceaccounts/token).
    assert kube.raw("POST", path, kube.admin_token(), json={"spec": {}}).status_code == 201
    for user in (STRANGER, OWNER):
        denied = kube.raw("POST", path, kube.kube_token(user), json={"spec": {}})
        assert denied.json()["message"] == (
            f'serviceaccounts "default-editor" is forbidden: User "{user}" cannot create '
            f'resource "serviceaccounts/token" in API group "" in the namespace '
            f'"{OWNER_NAMESPACE}"')

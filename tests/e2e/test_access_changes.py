"""Access changes made through the Kubernetes API, and token lifetimes, act on the next request.

Each test has an emulator of its own (``fresh_platform``): they change bindings and the clock.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client as k8s

from emulator.kube.tokens import API_AUDIENCE
from emulator.testing import assert_unauthenticated
from tests.e2e.provisioning import (
    ANN,
    ANN_NS,
    EVE,
    KFP_AUDIENCE,
    add_contributor,
    kfam_binding_name,
    request_token,
)
from tests.e2e.support import (
    ENDPOINTS,
    SDK_WARNING,
    HttpFailure,
    Platform,
    assert_denied_to,
    expect_denied,
    failure_response,
    unique,
)

pytestmark = SDK_WARNING

# TokenReview's error for a token with none of the requested audiences: the kube-apiserver's
# ServiceAccount authenticator returns ``token audiences %q is invalid for the target audiences
# %q`` (k8s pkg/serviceaccount/jwt.go), aggregated by the bearer-token union authenticator
# behind ``invalid bearer token``; KFP wraps status.error (spec 2.2).
WRONG_AUDIENCE = (
    f'Review.Status.Authenticated is false. Error [invalid bearer token, token audiences '
    f'["{API_AUDIENCE}"] is invalid for the target audiences ["{KFP_AUDIENCE}"]]')
EXPIRED = ("Review.Status.Authenticated is false. Error [invalid bearer token, service account "
           "token has expired]")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_removing_and_changing_a_contributor_binding_acts_on_the_next_request(
        fresh_platform: Platform, kfp_home: Path, endpoint: str) -> None:
    platform = fresh_platform
    owner = platform.person(endpoint, ANN)
    eve = platform.person(endpoint, EVE)
    rbac = k8s.RbacAuthorizationV1Api(platform.kube)

    # Positive controls: the owner and eve (edit contributor) both write.
    owner.create_experiment(ANN_NS, unique("owner"))
    before = eve.create_experiment(ANN_NS, unique("eve-before"))
    assert before in owner.list_experiments(ANN_NS)

    rbac.delete_namespaced_role_binding(kfam_binding_name(EVE, "edit"), ANN_NS)
    owner.create_experiment(ANN_NS, unique("owner-after"))  # the namespace itself still works
    after = unique("eve-after")
    with pytest.raises(HttpFailure) as info:
        eve.create_experiment(ANN_NS, after)
    # The SDK looks the name up first (a list); the raw client goes straight to create.
    verb = "create" if endpoint == "direct" else "list"
    assert_denied_to(info.value, EVE, verb, "experiments", ANN_NS)
    assert after not in owner.list_experiments(ANN_NS).values()

    # Re-admitted as a viewer: she reads again, and still cannot write.
    add_contributor(platform.kube, ANN_NS, EVE, "view")
    assert before in eve.list_experiments(ANN_NS)
    expect_denied(eve, "create", "experiments", ANN_NS,
                  lambda: eve.create_experiment(ANN_NS, after))
    assert after not in owner.list_experiments(ANN_NS).values()


def test_an_expired_service_account_token_is_refused(
        fresh_platform: Platform, kfp_home: Path) -> None:
    platform = fresh_platform
    direct = platform.service_account("direct", ANN_NS)
    gateway = platform.service_account("gateway", ANN_NS)
    assert direct.create_experiment(ANN_NS, unique("fresh"))  # positive controls
    assert gateway.create_experiment(ANN_NS, unique("fresh"))

    # The TokenRequest asked for 3600 s.  Both validators allow 60 s of clock skew past exp:
    # the kube-apiserver's ServiceAccount validator uses go-jose ``Claims.Validate``
    # (DefaultLeeway = 1 minute; k8s pkg/serviceaccount/claims.go) and Envoy's jwt_authn uses
    # jwt_verify_lib's kClockSkewInSecond = 60.  So step past exp + 60 s.
    platform.emulator.advance(3600 + 61)

    with pytest.raises(HttpFailure) as info:
        direct.list_experiments(ANN_NS)
    body = assert_unauthenticated(failure_response(info.value))
    assert "service account token has expired" in body["message"]
    assert EXPIRED in body["message"], body["message"]

    # The gateway's jwt_authn filter checks exp itself (docs/upstream/kubeflow-platform.md 5.1).
    with pytest.raises(HttpFailure) as info:
        gateway.list_experiments(ANN_NS)
    response = failure_response(info.value)
    assert (response.status_code, response.text) == (401, "Jwt is expired")

    # A fresh TokenRequest works again (the ServiceAccount itself is fine).
    renewed = platform.service_account("direct", ANN_NS, request_token(platform.kube, ANN_NS))
    assert renewed.list_experiments(ANN_NS) is not None


def test_a_token_for_another_audience_is_refused_directly_but_passes_the_gateway(
        fresh_platform: Platform, kfp_home: Path) -> None:
    """ml-pipeline reviews tokens for the ``pipelines.kubeflow.org`` audience (spec 2.2); the
    gateway's RequestAuthentications set no ``audiences``, so Istio accepts any ``aud``
    (docs/upstream/kubeflow-platform.md 3.3, 5.1) and forwards ``kubeflow-userid`` from ``sub``,
    which ml-pipeline then trusts."""
    platform = fresh_platform
    kube_token = request_token(platform.kube, ANN_NS, audiences=[API_AUDIENCE])
    owner = platform.service_account("direct", ANN_NS)  # the KFP-audience token
    owner.list_experiments(ANN_NS)  # positive control

    direct = platform.service_account("direct", ANN_NS, kube_token)
    with pytest.raises(HttpFailure) as info:
        direct.create_experiment(ANN_NS, unique("wrong-audience"))
    body = assert_unauthenticated(failure_response(info.value))
    assert WRONG_AUDIENCE in body["message"], body["message"]

    gateway = platform.service_account("gateway", ANN_NS, kube_token)
    name = unique("via-gateway")
    created = gateway.create_experiment(ANN_NS, name)
    assert owner.list_experiments(ANN_NS)[created] == name


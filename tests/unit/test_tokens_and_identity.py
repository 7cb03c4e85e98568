"""Bearer tokens, TokenReview and the KFP authenticator chain."""

from __future__ import annotations

import pytest

from emulator.config import EmulatorConfig
from emulator.errors import GrpcCode, KfpError
from emulator.kfp.access import EMPTY_IDENTITY, AccessControl, Credentials
from emulator.kube.cluster import Cluster
from emulator.kube.tokens import TokenAuthority

AUDIENCE = "pipelines.kubeflow.org"


def test_token_review_accepts_a_fresh_token_and_reports_the_requested_audience() -> None:
    authority = TokenAuthority()
    token = authority.mint("alice@example.com", [AUDIENCE, "other"], now=1000, ttl_seconds=60)
    status = authority.review(token, [AUDIENCE], now=1030)
    assert status.authenticated
    assert status.username == "alice@example.com"
    assert status.audiences == (AUDIENCE,)


def test_token_review_rejects_expired_forged_and_wrong_audience_tokens() -> None:
    authority = TokenAuthority()
    token = authority.mint("alice@example.com", [AUDIENCE], now=1000, ttl_seconds=60)
    # Expiry 1060, plus the 60 s leeway of Kubernetes' validator.
    assert authority.review(token, [AUDIENCE], now=1120).authenticated
    expired = authority.review(token, [AUDIENCE], now=1121)
    assert not expired.authenticated
    assert expired.error == "[invalid bearer token, service account token has expired]"
    other = TokenAuthority()  # a different signing key
    assert not other.review(token, [AUDIENCE], now=1001).authenticated
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert not authority.review(tampered, [AUDIENCE], now=1001).authenticated
    k8s_only = authority.mint("alice@example.com", ["https://kubernetes.default.svc"], 1000, 60)
    status = authority.review(k8s_only, [AUDIENCE], now=1001)
    assert not status.authenticated and "audiences" in status.error
    assert not authority.review("not-a-jwt", [AUDIENCE], now=1001).authenticated


def test_minting_needs_a_positive_lifetime() -> None:
    with pytest.raises(ValueError):
        TokenAuthority().mint("a", [AUDIENCE], 0, 0)


def test_service_account_tokens_die_with_their_service_account() -> None:
    cluster = Cluster()
    cluster.create_profile("alice", "alice@example.com")
    token = cluster.mint_service_account_token("alice", "default-editor", 1000, 600, [AUDIENCE])
    review = cluster.tokens.review(token, [AUDIENCE], 1001)
    assert review.username == "system:serviceaccount:alice:default-editor"
    cluster.delete_service_account("alice", "default-editor")
    assert not cluster.tokens.review(token, [AUDIENCE], 1002).authenticated
    # Recreating an account of the same name does not revive its old tokens (UID binding).
    cluster.create_service_account("alice", "default-editor")
    assert not cluster.tokens.review(token, [AUDIENCE], 1003).authenticated
    fresh = cluster.mint_service_account_token("alice", "default-editor", 1003, 600, [AUDIENCE])
    assert cluster.tokens.review(fresh, [AUDIENCE], 1004).authenticated


def _access(**config: object) -> tuple[AccessControl, Cluster]:
    cluster = Cluster()
    cluster.create_profile("alice", "alice@example.com")
    return AccessControl(EmulatorConfig(**config), cluster, lambda: 1000.0), cluster  # type: ignore[arg-type]


def test_identity_header_wins_over_an_invalid_bearer_token() -> None:
    access, _ = _access()
    creds = Credentials(("alice@example.com",), "Bearer garbage")
    assert access.authenticate(creds) == "alice@example.com"


def test_bearer_token_is_used_when_no_header_is_present() -> None:
    access, cluster = _access()
    token = cluster.mint_service_account_token("alice", "default-editor", 1000, 600, [AUDIENCE])
    assert access.authenticate(Credentials((), f"Bearer {token}")) == \
        "system:serviceaccount:alice:default-editor"
    # "Bearer" with a capital B and exactly one space, as the real authenticator requires.
    with pytest.raises(KfpError):
        access.authenticate(Credentials((), f"bearer {token}"))


@pytest.mark.parametrize("creds, fragment", [
    (Credentials(), "there is no user identity header"),
    (Credentials(("a@x", "b@x")), "unexpected number of 'kubeflow-userid' headers. Expect 1 got 2"),
    (Credentials((), "Bearer nope"), "Review.Status.Authenticated is false"),
])
def test_failed_authentication_is_401_with_the_real_messages(creds: Credentials,
                                                             fragment: str) -> None:
    access, _ = _access()
    with pytest.raises(KfpError) as raised:
        access.authenticate(creds)
    assert raised.value.code == GrpcCode.UNAUTHENTICATED
    assert raised.value.external == EMPTY_IDENTITY
    assert fragment in raised.value.internal


def test_prefix_must_match_and_is_stripped() -> None:
    access, _ = _access(userid_prefix="accounts.google.com:")
    assert access.authenticate(Credentials(("accounts.google.com:alice@example.com",))) == \
        "alice@example.com"
    with pytest.raises(KfpError) as raised:
        access.authenticate(Credentials(("alice@example.com",)))
    assert "incorrectly formatted" in raised.value.internal


def test_empty_identity_header_is_unauthenticated() -> None:
    access, _ = _access()
    with pytest.raises(KfpError) as raised:
        access.authenticate(Credentials(("",)))
    assert raised.value.code == GrpcCode.UNAUTHENTICATED

"""Signed, expiring bearer tokens and the TokenReview that checks them.

Tokens are JWTs signed with HS256 under a key private to one emulator instance, carrying the
username, audiences and expiry a Kubernetes TokenRequest would bind.  :meth:`TokenAuthority.review`
answers like the Kubernetes TokenReview API: ``status.audiences`` is the intersection of the
requested and the token's audiences, and a token with none of the requested audiences is not
authenticated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Clock skew the Kubernetes token validator tolerates (go-jose ``DefaultLeeway``, used by
# ``pkg/serviceaccount/claims.go``): a token is refused once ``now - 60 s`` is after its expiry.
EXPIRY_LEEWAY_SECONDS = 60

# The audience of the cluster's own API (kube-apiserver ``--api-audiences``, the issuer by default).
API_AUDIENCE = "https://kubernetes.default.svc.cluster.local"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class TokenReviewStatus:
    authenticated: bool
    username: str = ""
    uid: str = ""
    groups: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    error: str = ""

    def to_k8s(self) -> dict[str, Any]:
        status: dict[str, Any] = {"authenticated": self.authenticated}
        if self.authenticated:
            status["user"] = {"username": self.username, "uid": self.uid,
                              "groups": list(self.groups)}
            status["audiences"] = list(self.audiences)
        if self.error:
            status["error"] = self.error
        return status


@dataclass
class TokenAuthority:
    """Mints and reviews the emulator's bearer tokens."""

    issuer: str = API_AUDIENCE
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    # (username, bound object UID) -> False once the bound subject (e.g. a deleted, or deleted
    # and recreated, ServiceAccount) no longer exists.
    subject_exists: Callable[[str, str], bool] = lambda username, uid: True

    def mint(self, username: str, audiences: list[str], now: float, ttl_seconds: int,
             groups: list[str] | None = None, bound_uid: str = "") -> str:
        if ttl_seconds <= 0:
            raise ValueError("token lifetime must be positive")
        claims = {
            "iss": self.issuer,
            "sub": username,
            "aud": list(audiences),
            "iat": int(now),
            "nbf": int(now),
            "exp": int(now) + int(ttl_seconds),
            "groups": list(groups or []),
            "jti": secrets.token_hex(8),
            "bound_uid": bound_uid,
        }
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = _b64(self._sign(f"{header}.{payload}"))
        return f"{header}.{payload}.{signature}"

    def _sign(self, signing_input: str) -> bytes:
        return hmac.new(self.key, signing_input.encode("ascii"), hashlib.sha256).digest()

    def claims(self, token: str) -> dict[str, Any] | None:
        """Verified claims, or None for a malformed or forged token (expiry not checked)."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            expected = self._sign(f"{parts[0]}.{parts[1]}")
            if not hmac.compare_digest(expected, _unb64(parts[2])):
                return None
            claims = json.loads(_unb64(parts[1]))
        except (ValueError, UnicodeError):
            return None
        return claims if isinstance(claims, dict) else None

    def review(self, token: str, audiences: list[str], now: float) -> TokenReviewStatus:
        claims = self.claims(token)
        if claims is None:
            return TokenReviewStatus(False, error="[invalid bearer token, square/go-jose: error in "
                                                  "cryptographic primitive]")
        if int(now) - EXPIRY_LEEWAY_SECONDS > int(claims.get("exp", 0)):
            return TokenReviewStatus(False, error="[invalid bearer token, service account token "
                                                  "has expired]")
        username = str(claims.get("sub", ""))
        if not self.subject_exists(username, str(claims.get("bound_uid", ""))):
            return TokenReviewStatus(False, error="[invalid bearer token, service account token "
                                                  "is not valid: subject no longer exists]")
        token_audiences = [str(a) for a in claims.get("aud", [])]
        granted = tuple(a for a in audiences if a in token_audiences) if audiences else tuple(
            token_audiences)
        if audiences and not granted:
            return TokenReviewStatus(
                False,
                error=(f"[invalid bearer token, token audiences {json.dumps(token_audiences)} "
                       f"is invalid for the target audiences {json.dumps(audiences)}]"),
            )
        return TokenReviewStatus(
            True,
            username=username,
            uid=str(claims.get("jti", "")),
            groups=tuple(claims.get("groups", [])),
            audiences=granted,
        )

"""The gateway's JWT checks: Istio RequestAuthentications run by Envoy's jwt_authn filter
(docs/upstream/kubeflow-platform.md 3.3 and 5.1).

Envoy's order: parse the token (header, payload and its registered claims, signature), look its
issuer up, check nbf/exp (60 s clock skew), check the audiences (only when configured), verify the
signature.  Each failure has its own status string from jwt_verify_lib; every one is a 401 except
the audience failure, a 403.

The claim-type failures (``Jwt payload [exp] field is not an integer`` ...) are worded as the
newer jwt_verify_lib ``status.cc`` has them, checked in its parse order (iss, sub, iat, nbf, exp,
jti, aud); the other strings are the older library's (docs/upstream/kubeflow-platform.md 5.1).
Which library version an Istio build carries is not pinned down: an approximation.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from emulator.gateway.config import DEX_ISSUER, KIND_SHORT_ISSUER, GatewayConfig
from emulator.gateway.pages import header_safe
from emulator.kube.tokens import TokenAuthority

# jwt_verify_lib's kClockSkewInSecond; Istio does not set clock_skew_seconds.
CLOCK_SKEW_SECONDS = 60
# Envoy's local replies are plain text.
TEXT_PLAIN = "text/plain"
SUPPORTED_ALGS = frozenset({"ES256", "ES384", "ES512", "HS256", "HS384", "HS512", "RS256",
                            "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"})

BAD_FORMAT = "Jwt is not in the form of Header.Payload.Signature"
HEADER_PARSE_ERROR = "Jwt header is an invalid Base64url input or an invalid JSON"
HEADER_BAD_ALG = "Jwt header [alg] field is not a string"
HEADER_ALG_NOT_IMPLEMENTED = "Jwt header [alg] field value is invalid"
PAYLOAD_PARSE_ERROR = "Jwt payload is an invalid Base64 or an invalid JSON"
SIGNATURE_PARSE_ERROR = "Jwt signature is an invalid Base64"
UNKNOWN_ISSUER = "Jwt issuer is not configured"
NOT_YET_VALID = "Jwt not yet valid"
EXPIRED = "Jwt is expired"
AUDIENCE_NOT_ALLOWED = "Audiences in Jwt are not allowed"
VERIFICATION_FAILS = "Jwt verification fails"
RBAC_DENIED = "RBAC: access denied"
# 2^64: jwt_verify_lib's GetUInt64 refuses a negative number or one at or past this.
UINT64_LIMIT = 2 ** 64
STRING_CLAIMS = ("iss", "sub")
INTEGER_CLAIMS = ("iat", "nbf", "exp")


@dataclass(frozen=True)
class JwtFailure:
    status: int
    message: str


@dataclass(frozen=True)
class JwtIdentity:
    """A verified token: the ``kubeflow-userid`` claim value and ``kubeflow-groups``."""

    user: str
    groups: tuple[str, ...]


def _b64url(text: str) -> bytes:
    if any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_="
           for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))


def _json_object(part: str) -> dict[str, Any]:
    value = json.loads(_b64url(part))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _issuer_claims(authority: TokenAuthority) -> dict[str, str]:
    """Issuer -> the claim the RequestAuthentication copies into ``kubeflow-userid``.  The m2m
    issuers (Kubernetes ServiceAccount and user tokens) map ``sub``; Dex maps ``email``.  All are
    verified with the emulator's one token key."""
    return {authority.issuer: "sub", KIND_SHORT_ISSUER: "sub", DEX_ISSUER: "email"}


def _claim_failure(payload: dict[str, Any]) -> JwtFailure | None:
    """The registered claims' types, as jwt_verify_lib's payload parse checks them.  A missing
    claim is fine; a number with a fraction is truncated."""
    def failure(claim: str, what: str) -> JwtFailure:
        return JwtFailure(401, f"Jwt payload [{claim}] field is not {what}")

    for claim in STRING_CLAIMS:
        if claim in payload and not isinstance(payload[claim], str):
            return failure(claim, "a string")
    for claim in INTEGER_CLAIMS:
        if claim not in payload:
            continue
        value = payload[claim]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return failure(claim, "an integer")
        if not 0 <= value < UINT64_LIMIT:
            return failure(claim, "a positive 64 bit integer")
    if "jti" in payload and not isinstance(payload["jti"], str):
        return failure("jti", "a string")
    aud = payload.get("aud", "")
    if not isinstance(aud, str) and not (
            isinstance(aud, list) and all(isinstance(a, str) for a in aud)):
        return failure("aud", "a string or string list")
    return None


def _audiences(payload: dict[str, Any]) -> list[str]:
    aud = payload.get("aud")
    if isinstance(aud, str):
        return [aud] if aud else []
    return list(aud) if isinstance(aud, list) else []


def verify(token: str, authority: TokenAuthority, config: GatewayConfig,
           now: float) -> JwtIdentity | JwtFailure:
    parts = token.split(".")
    if len(parts) != 3:
        return JwtFailure(401, BAD_FORMAT)
    try:
        header = _json_object(parts[0])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return JwtFailure(401, HEADER_PARSE_ERROR)
    alg = header.get("alg")
    if not isinstance(alg, str):
        return JwtFailure(401, HEADER_BAD_ALG)
    if alg not in SUPPORTED_ALGS:
        return JwtFailure(401, HEADER_ALG_NOT_IMPLEMENTED)
    try:
        payload = _json_object(parts[1])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return JwtFailure(401, PAYLOAD_PARSE_ERROR)
    claim_failure = _claim_failure(payload)
    if claim_failure is not None:
        return claim_failure
    try:
        _b64url(parts[2])
    except (ValueError, binascii.Error):
        return JwtFailure(401, SIGNATURE_PARSE_ERROR)
    claim = _issuer_claims(authority).get(payload.get("iss", ""))
    if claim is None:
        return JwtFailure(401, UNKNOWN_ISSUER)
    second = int(now)
    nbf, exp = int(payload.get("nbf", 0)), int(payload.get("exp", 0))
    if second + CLOCK_SKEW_SECONDS < nbf:
        return JwtFailure(401, NOT_YET_VALID)
    if exp and second > exp + CLOCK_SKEW_SECONDS:
        return JwtFailure(401, EXPIRED)
    if config.audiences and not any(a in config.audiences for a in _audiences(payload)):
        return JwtFailure(403, AUDIENCE_NOT_ALLOWED)
    if authority.claims(token) is None:
        return JwtFailure(401, VERIFICATION_FAILS)
    user = payload.get(claim)
    groups = payload.get("groups")
    return JwtIdentity(str(user) if isinstance(user, (str, int, float)) else "",
                       tuple(str(g) for g in groups) if isinstance(groups, list) else ())


def failure_response(failure: JwtFailure, original_uri: str) -> Response:
    """Envoy's local reply: the status string as text, and the Bearer challenge naming the
    request's URI (path cut to 256 characters by the caller)."""
    challenge = f'Bearer realm="{header_safe(original_uri)}", error="invalid_token"'
    return Response(failure.message.encode(), status_code=failure.status,
                    headers={"Content-Type": TEXT_PLAIN, "WWW-Authenticate": challenge})


def rbac_denied() -> Response:
    """The RBAC filter's 403 (an AuthorizationPolicy DENY, or ALLOW with no match)."""
    return Response(RBAC_DENIED.encode(), status_code=403, headers={"Content-Type": TEXT_PLAIN})

"""Who is calling the Kubernetes API: bearer tokens reviewed for the API server's audience.

As kube-apiserver's authentication filter: no bearer token (or an empty one) is the anonymous
user; a token that fails review is ``401 Unauthorized``; an authenticated caller always carries
``system:authenticated``.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.kube.api.status import unauthorized
from emulator.kube.defaults import AUTHENTICATED_GROUP, UNAUTHENTICATED_GROUP
from emulator.kube.tokens import API_AUDIENCE, TokenAuthority

ANONYMOUS = "system:anonymous"


@dataclass(frozen=True)
class Caller:
    user: str
    groups: tuple[str, ...]
    uid: str = ""


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer`` header ('' when there is none)."""
    if not authorization:
        return ""
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return token.strip()


def authenticate(tokens: TokenAuthority, authorization: str | None, now: float) -> Caller:
    token = bearer_token(authorization)
    if not token:
        return Caller(ANONYMOUS, (UNAUTHENTICATED_GROUP,))
    status = tokens.review(token, [API_AUDIENCE], now)
    if not status.authenticated:
        raise unauthorized()
    groups = tuple(status.groups)
    if AUTHENTICATED_GROUP not in groups:
        groups += (AUTHENTICATED_GROUP,)
    return Caller(status.username, groups, status.uid)

"""Who is calling, and may they: the KFP API server's ``IsAuthorized`` (spec sections 2 and 3.1).

Identity comes from the configured header first, then from an ``Authorization: Bearer`` token
reviewed for the configured audience.  Authorization is delegated to the cluster's one
:class:`~emulator.kube.rbac.Authorizer` as a SubjectAccessReview carrying only the user.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from emulator.config import EmulatorConfig
from emulator.errors import permission_denied, unauthenticated
from emulator.kube.cluster import Cluster
from emulator.kube.rbac import ResourceAttributes

EMPTY_IDENTITY = "Failed to check authorization. User identity is empty in the request header"
NO_HEADER = "Request header error: there is no user identity header."
READ_VERBS = frozenset({"get", "list"})
# The operation being served (set by the router), so authorization can be switched off for one
# operation (EmulatorConfig.unguarded_operations) and the operations that ask can be listed.
CURRENT_OPERATION: ContextVar[str] = ContextVar("kfp_operation", default="")


@dataclass(frozen=True)
class Credentials:
    """What a request carries that the API server's authenticators can see."""

    userid_headers: tuple[str, ...] = ()
    authorization: str | None = None

    @classmethod
    def anonymous(cls) -> Credentials:
        return cls()


class AccessControl:
    def __init__(self, config: EmulatorConfig, cluster: Cluster,
                 now: Callable[[], float]) -> None:
        self.config = config
        self.cluster = cluster
        self._now = now
        self.consulted: set[str] = set()  # operations that asked for authorization

    def authenticate(self, credentials: Credentials) -> str:
        """The authenticator chain; the first authenticator that yields an identity wins."""
        errors: list[str] = []
        identity = self._from_header(credentials, errors)
        if identity is None:
            identity = self._from_token(credentials, errors)
        if identity:
            return identity
        unique = list(dict.fromkeys(errors))
        aggregate = unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"
        raise unauthenticated(EMPTY_IDENTITY, aggregate if unique else None)

    def _from_header(self, credentials: Credentials, errors: list[str]) -> str | None:
        header = self.config.userid_header.lower()
        values = credentials.userid_headers
        if not values:
            errors.append(f"Unauthenticated: {NO_HEADER}: {NO_HEADER}")
            return None
        if len(values) > 1:
            message = (f"Request header error: unexpected number of '{header}' headers. "
                       f"Expect 1 got {len(values)}")
            errors.append(f"BadRequestError: {message}: {message}")
            return None
        value = values[0]
        prefix = self.config.userid_prefix
        if not value.startswith(prefix):
            message = f"Header '{header}' is incorrectly formatted. Expected prefix '{prefix}'"
            errors.append(f"BadRequestError: {message}: {message}")
            return None
        return value[len(prefix):] or None

    def _from_token(self, credentials: Credentials, errors: list[str]) -> str | None:
        raw = credentials.authorization
        if raw is None or not raw.startswith("Bearer "):
            errors.append(f"Unauthenticated: {NO_HEADER}: {NO_HEADER}")
            return None
        audience = self.config.token_review_audience
        status = self.cluster.tokens.review(raw[len("Bearer "):], [audience], self._now())
        if not status.authenticated:
            message = f"Review.Status.Authenticated is false. Error {status.error}"
            errors.append(f"Unauthenticated: {message}")
            return None
        if audience not in status.audiences:
            message = (f"Failed to find all of '[{audience}]' in audience: "
                       f"[{' '.join(status.audiences)}]")
            errors.append(f"Unauthenticated: {message}")
            return None
        return status.username or None

    def authorize(self, credentials: Credentials, attrs: ResourceAttributes) -> None:
        """Raise the real server's 401/403 unless the caller may do ``attrs`` (MU only)."""
        if not self.config.multiuser:
            return
        operation = CURRENT_OPERATION.get()
        self.consulted.add(operation)
        if operation in self.config.unguarded_operations:
            return
        if self.config.shared_read and attrs.verb in READ_VERBS:
            return
        user = self.authenticate(credentials)
        decision = self.cluster.authorizer.review(user, attrs)
        if not decision.allowed:
            raise permission_denied(
                f"User '{user}' is not authorized with reason: {decision.sar_reason} "
                f"(request: {attrs.go_repr()})")


"""The cast of the conformance suite: who the actors of the features are, and their tenants.

Actors are written in steps as ``alice``, ``alice's service account``, ``anonymous``...; the
cast resolves them to :mod:`conformance.targets` callers and to the identity the API server
names in its answers.  Tenants are written ``alice`` / ``bob``; their namespaces carry a
run-unique prefix (``kfpiso-<6 hex>-alice``) everywhere but on the empty emulator a session
starts itself.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from conformance.provisioning import EDITOR_SA, CustomRole, Tenant
from conformance.targets import Caller, Nobody, Person, ServiceAccount

# actor -> email of the people of the cast (docs/design/conformance-suite.md, "The cast").
PEOPLE = {
    "alice": "alice@example.com",  # owner of alice
    "carol": "carol@example.com",  # edit contributor of alice
    "victor": "victor@example.com",  # view contributor of alice
    "rita": "rita@example.com",  # custom Role experiment-reader in alice (get, list)
    "una": "una@example.com",  # custom Roles in alice with partial write verbs (below)
    "bob": "bob@example.com",  # owner of bob, a stranger to alice
    "an admin": "ada@example.com",  # bound to cluster-admin
}
ADMIN = "an admin"
# Custom Roles in alice: (Role name, actor, resource, verbs), one Role per resource.  rita
# reads experiments only.  una holds, besides reads, exactly the verbs KFP 2.0.0-beta asked for
# in place of the right ones (isolation-bugs ISO-001): she may unarchive runs, archive
# experiments and enable recurring runs, but not delete or terminate runs, delete or unarchive
# experiments, or disable recurring runs.
CUSTOM_ROLES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("experiment-reader", "rita", "experiments", ("get", "list")),
    ("partial-runs", "una", "runs", ("get", "list", "unarchive")),
    ("partial-experiments", "una", "experiments", ("get", "list", "archive")),
    ("partial-jobs", "una", "jobs", ("get", "list", "enable")),
)
TENANTS = ("alice", "bob")
ANONYMOUS = "anonymous"
_SERVICE_ACCOUNT = re.compile(r"(?P<tenant>\w+)'s service account")


class UnknownActor(LookupError):
    pass


def custom_grants(actor: str) -> dict[str, frozenset[str]]:
    """The verbs per resource ``actor``'s custom Roles grant in alice (empty: none)."""
    grants: dict[str, frozenset[str]] = {}
    for _, holder, resource, verbs in CUSTOM_ROLES:
        if holder == actor:
            grants[resource] = grants.get(resource, frozenset()) | frozenset(verbs)
    return grants


def run_prefix() -> str:
    return f"kfpiso-{secrets.token_hex(3)}-"


def login_users() -> dict[str, str]:
    """Fresh passwords for the static users an in-process emulator signs the cast in with."""
    return {email: secrets.token_urlsafe(12) for email in PEOPLE.values()}


@dataclass(frozen=True)
class Cast:
    prefix: str = ""
    people: dict[str, str] = field(default_factory=lambda: dict(PEOPLE))

    def namespace(self, tenant: str) -> str:
        if tenant not in TENANTS:
            raise UnknownActor(f"unknown tenant {tenant!r}; the cast has {', '.join(TENANTS)}")
        return self.prefix + tenant

    def tenants(self) -> list[Tenant]:
        """What :func:`conformance.provisioning.provision` makes for this cast."""
        roles = tuple(CustomRole(name, (resource,), verbs, (self.people[actor],))
                      for name, actor, resource, verbs in CUSTOM_ROLES)
        return [
            Tenant(self.namespace("alice"), self.people["alice"],
                   contributors=((self.people["carol"], "edit"), (self.people["victor"], "view")),
                   roles=roles),
            Tenant(self.namespace("bob"), self.people["bob"]),
        ]

    @property
    def admin_binding(self) -> str:
        """The ClusterRoleBinding that makes the admin actor a cluster admin."""
        return f"{self.prefix}kfp-isolation-admin"

    def owner(self, tenant: str) -> str:
        """The actor owning ``tenant``."""
        self.namespace(tenant)
        return tenant

    def caller(self, actor: str) -> Caller:
        if actor == ANONYMOUS:
            return Nobody()
        if actor in self.people:
            return Person(self.people[actor])
        match = _SERVICE_ACCOUNT.fullmatch(actor)
        if match:
            return ServiceAccount(self.namespace(match["tenant"]))
        raise UnknownActor(f"unknown actor {actor!r}; the cast has {', '.join(self.people)}, "
                           "<tenant>'s service account and anonymous")

    def identity(self, actor: str) -> str:
        """The user name the API server sees for ``actor`` ("" for anonymous)."""
        caller = self.caller(actor)
        if isinstance(caller, Person):
            return caller.email
        if isinstance(caller, ServiceAccount):
            return f"system:serviceaccount:{caller.namespace}:{EDITOR_SA}"
        return ""

"""The state of one scenario: who sent what, the named objects it made, the last answer.

Steps never talk to a target directly; they go through the world, which keeps the sessions of
the actors, translates the names written in the features (``"plans"``, ``alice``) into ids and
namespaces, remembers how the owner saw each object (for the no-side-effect checks) and removes
what the scenario made when it ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import requests

from conformance.cast import Cast
from conformance.outcomes import HarnessError
from conformance.targets import Connection
from emulator.testing import IdentitySession

EXPERIMENTS = "/apis/v2beta1/experiments"
DOORS = ("direct", "gateway")
_PLACEHOLDER = re.compile(r"\{(?P<kind>\w+):(?P<name>[^}]+)\}")


@dataclass
class Named:
    """An object a scenario created, by the name the feature gives it."""

    kind: str
    name: str
    id: str
    tenant: str
    given: bool = True  # made by a Given (the scene), not by the action under test
    seen: dict[str, Any] = field(default_factory=dict)  # the owner's last view of it


@dataclass
class World:
    connection: Connection
    cast: Cast
    objects: dict[str, Named] = field(default_factory=dict)
    response: requests.Response | None = None
    actor: str = ""
    door: str = ""
    _sessions: dict[tuple[str, str], IdentitySession] = field(default_factory=dict)

    @property
    def mode_door(self) -> str:
        return "gateway" if self.connection.mode.access == "outside" else "direct"

    def session(self, actor: str, door: str | None = None) -> IdentitySession:
        door = door or self.mode_door
        if door not in DOORS:
            raise HarnessError(f"unknown door {door!r}; use one of {', '.join(DOORS)}")
        key = (actor, door)
        if key not in self._sessions:
            self._sessions[key] = self.connection.session(self.cast.caller(actor),
                                                          outside=door == "gateway")
        return self._sessions[key]

    def send(self, actor: str, method: str, path: str, *, door: str | None = None,
             json: Any = None, headers: dict[str, str] | None = None) -> requests.Response:
        """Send as ``actor`` and remember it as the scenario's last request."""
        self.actor, self.door = actor, door or self.mode_door
        self.response = self.session(actor, door).request(method, self.resolve(path), json=json,
                                                           headers=headers)
        return self.response

    def last(self) -> requests.Response:
        if self.response is None:
            raise HarnessError("no request was sent before this step")
        return self.response

    def resolve(self, path: str) -> str:
        """Fill ``{experiment:<name>}`` and ``{namespace:<tenant>}`` placeholders."""
        def fill(match: re.Match[str]) -> str:
            kind, name = match["kind"], match["name"]
            if kind == "namespace":
                return self.cast.namespace(name)
            return self.named(kind, name).id
        return _PLACEHOLDER.sub(fill, path)

    def named(self, kind: str, name: str) -> Named:
        found = self.objects.get(f"{kind}:{name}")
        if found is None:
            raise HarnessError(f"this scenario made no {kind} named {name!r}")
        return found

    def remember(self, kind: str, name: str, object_id: str, tenant: str, *,
                 given: bool = True) -> Named:
        named = Named(kind, name, object_id, tenant, given)
        self.objects[f"{kind}:{name}"] = named
        return named

    def owner_view(self, named: Named) -> requests.Response:
        """How the tenant's owner sees the object now (the reference for side effects)."""
        return self.session(self.cast.owner(named.tenant)).get(
            f"{EXPERIMENTS}/{named.id}" if named.kind == "experiment" else
            f"/apis/v2beta1/{named.kind}s/{named.id}")

    def refresh(self, named: Named) -> None:
        response = self.owner_view(named)
        if response.status_code != 200:
            raise HarnessError(f"the owner cannot read {named.kind} {named.name!r}: "
                               f"{response.status_code} {response.text[:200]}")
        named.seen = response.json()

    def cleanup(self) -> None:
        """Delete what the scenario made, as each tenant's owner; already gone is fine."""
        problems = []
        for named in reversed(list(self.objects.values())):
            response = self.session(self.cast.owner(named.tenant)).delete(
                f"/apis/v2beta1/{named.kind}s/{named.id}")
            if response.status_code not in (200, 404):
                problems.append(f"{named.kind} {named.name}: {response.status_code}")
        self.objects.clear()
        for session in self._sessions.values():
            session.close()
        if problems:
            raise HarnessError("cleanup failed: " + ", ".join(problems))

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
from conformance.changes import change
from conformance.outcomes import HarnessError
from conformance.targets import Connection
from emulator.testing import IdentitySession

EXPERIMENTS = "/apis/v2beta1/experiments"
# Where the owner reads, and the cleanup deletes, each kind of named object (v2beta1).
KIND_PATHS = {
    "experiment": EXPERIMENTS,
    "run": "/apis/v2beta1/runs",
    "recurringrun": "/apis/v2beta1/recurringruns",
    "pipeline": "/apis/v2beta1/pipelines",
    # Versions by id alone: the v1beta1 path needs no parent pipeline id.
    "pipelineversion": "/apis/v1beta1/pipeline_versions",
}
# A pipeline that still has versions is deleted with them (KFP 2.x's ``cascade``).
DELETE_QUERY = {"pipeline": "?cascade=true"}
DOORS = ("direct", "gateway")
SECRET_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "proxy-authorization"})
REDACTED = "<redacted>"
BODY_LIMIT = 2000


@dataclass(frozen=True)
class Exchange:
    """One request of a scenario and its answer, with every secret redacted (for reports)."""

    actor: str
    door: str
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str
    status: int
    response_body: str

    @classmethod
    def of(cls, actor: str, door: str, response: requests.Response) -> Exchange:
        request = response.request
        body = request.body or b""
        text = body.decode(errors="replace") if isinstance(body, bytes) else str(body)
        return cls(actor, door, str(request.method), str(request.url),
                   redact_headers(request.headers), text[:BODY_LIMIT], response.status_code,
                   response.text[:BODY_LIMIT])


def redact_headers(headers: Any) -> dict[str, str]:
    return {name: REDACTED if name.lower() in SECRET_HEADERS else str(value)
            for name, value in dict(headers).items()}
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
    exchanges: list[Exchange] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)  # what a step leaves for later steps

    @property
    def mode_door(self) -> str:
        return "gateway" if self.connection.mode.access == "outside" else "direct"

    def session(self, actor: str, door: str | None = None) -> IdentitySession:
        door = door or self.mode_door
        if door not in DOORS:
            raise HarnessError(f"unknown door {door!r}; use one of {', '.join(DOORS)}")
        return self.connection.pooled_session(self.cast.caller(actor), outside=door == "gateway")

    def send(self, actor: str, method: str, path: str, *, door: str | None = None,
             json: Any = None, headers: dict[str, str] | None = None,
             files: Any = None) -> requests.Response:
        """Send as ``actor`` and remember it as the scenario's last request."""
        self.actor, self.door = actor, door or self.mode_door
        self.response = self.session(actor, door).request(method, self.resolve(path), json=json,
                                                           headers=headers, files=files)
        self.record(actor, self.door, self.response)
        return self.response

    def record(self, actor: str, door: str, response: requests.Response) -> None:
        self.exchanges.append(Exchange.of(actor, door, response))

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
        if kind not in KIND_PATHS:
            raise HarnessError(f"unknown kind {kind!r}; known: {', '.join(KIND_PATHS)}")
        named = Named(kind, name, object_id, tenant, given)
        self.objects[f"{kind}:{name}"] = named
        return named

    def owner_view(self, named: Named) -> requests.Response:
        """How the tenant's owner sees the object now (the reference for side effects)."""
        owner = self.cast.owner(named.tenant)
        response = self.session(owner).get(f"{KIND_PATHS[named.kind]}/{named.id}")
        self.record(owner, self.mode_door, response)
        return response

    def refresh(self, named: Named) -> None:
        response = self.owner_view(named)
        if response.status_code != 200:
            raise HarnessError(f"the owner cannot read {named.kind} {named.name!r}: "
                               f"{response.status_code} {response.text[:200]}")
        named.seen = response.json()

    def changed(self, named: Named) -> tuple[str | None, Any]:
        """What happened to ``named`` since the owner last saw it (None: nothing, see
        :mod:`conformance.changes`), and the owner's view now."""
        response = self.owner_view(named)
        if response.status_code != 200:
            return f"its owner cannot read it any more: {response.status_code}", None
        now = response.json()
        return change(named.kind, named.seen, now), now

    def cleanup(self) -> None:
        """Delete what the scenario made, as each tenant's owner; already gone is fine."""
        problems = []
        for named in reversed(list(self.objects.values())):
            response = self.session(self.cast.owner(named.tenant)).delete(
                f"{KIND_PATHS[named.kind]}/{named.id}{DELETE_QUERY.get(named.kind, '')}")
            if response.status_code not in (200, 404):
                problems.append(f"{named.kind} {named.name}: {response.status_code}")
        self.objects.clear()
        if problems:
            raise HarnessError("cleanup failed: " + ", ".join(problems))

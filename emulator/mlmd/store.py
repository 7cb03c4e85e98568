"""The metadata store: ML Metadata's state and rules, in memory.

One instance per emulator (``Emulator.metadata``).  The rules are the real MLMD's, measured
against ml-metadata 1.17.1's own engine (tests/mlmd_real): type ids come after the nine
system types MLMD registers first, node ids count from 1 per kind, names are unique per type,
a write that fails changes nothing, and the messages of refusals are MLMD's.

Two ways in: the simple calls the execution engine uses (``put_context``, ``put_execution``,
``put_artifact``, ``put_event``: types made on first use, ``properties`` being *custom*
properties as KFP writes them), and the full ones the gRPC service maps its methods onto.
Callers hold ``emulator.kfp.state.lock``; the store itself takes no lock.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from emulator.mlmd.models import (
    EVENT_TYPES,
    EXECUTION_STATES,
    Artifact,
    Context,
    Event,
    Execution,
    Node,
    NodeType,
    PathStep,
    Properties,
    PropertyValue,
    TypeKind,
    property_type,
)
from emulator.mlmd.status import already_exists, invalid, not_found

# MLMD's type table starts with nine hidden system types (mlmd.Dataset ... mlmd.Deploy), so
# the first type a client registers gets id 10 (measured).
FIRST_TYPE_ID = 10

N = TypeVar("N", bound=Node)


@dataclass
class _Tables:
    types: dict[int, NodeType] = field(default_factory=dict)
    artifacts: dict[int, Artifact] = field(default_factory=dict)
    executions: dict[int, Execution] = field(default_factory=dict)
    contexts: dict[int, Context] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    attributions: dict[tuple[int, int], None] = field(default_factory=dict)  # (artifact, ctx)
    associations: dict[tuple[int, int], None] = field(default_factory=dict)  # (execution, ctx)
    next_type_id: int = FIRST_TYPE_ID
    next_ids: dict[TypeKind, int] = field(
        default_factory=lambda: dict.fromkeys(TypeKind, 1))


def _describe(node: Node) -> str:
    """The node as MLMD's messages show it (its set fields, text-format style)."""
    parts = [f"type_id: {node.type_id}"]
    for name in ("uri", "name"):
        value = getattr(node, name, None)
        if value is not None:
            parts.append(f'{name}: "{value}"')
    return " ".join(parts)


class MetadataStore:
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._t = _Tables()

    def clear(self) -> None:
        self._t = _Tables()

    def _ms(self) -> int:
        return int(self._now() * 1000)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """All of a multi-record write or none of it: on any error the tables are restored.

        Stored records are never changed in place (an update stores a new record), so a copy
        of the containers is a full snapshot."""
        saved = _Tables(**{f.name: copy.copy(getattr(self._t, f.name))
                           for f in dataclasses.fields(_Tables)})
        try:
            yield
        except BaseException:
            self._t = saved
            raise

    # -- the simple interface (execution engine) ---------------------------------------------

    def put_context(self, type_name: str, name: str,
                    properties: dict[str, str | int | float]) -> int:
        """The context ``name`` of type ``type_name`` (custom properties set when made);
        idempotent: an existing context's id is returned unchanged."""
        existing = self.context_by_type_and_name(type_name, name)
        if existing is not None:
            return existing.id
        with self.atomic():
            kind_type = self.ensure_type(TypeKind.CONTEXT, type_name)
            return self.save_context(Context(type_id=kind_type.id, name=name,
                                             custom_properties=dict(properties)))

    def put_execution(self, type_name: str, name: str, state: str, properties: Properties,
                      context_ids: list[int]) -> int:
        if state not in EXECUTION_STATES:
            raise invalid(f"unknown execution state {state!r}")
        with self.atomic():
            kind_type = self.ensure_type(TypeKind.EXECUTION, type_name)
            execution_id = self.save_execution(Execution(
                type_id=kind_type.id, name=name or None, state=state,
                custom_properties=dict(properties)))
            for context_id in context_ids:
                self.associate(execution_id, context_id)
        return execution_id

    def put_artifact(self, type_name: str, uri: str, properties: Properties,
                     context_ids: list[int], name: str = "") -> int:
        with self.atomic():
            kind_type = self.ensure_type(TypeKind.ARTIFACT, type_name)
            artifact_id = self.save_artifact(Artifact(
                type_id=kind_type.id, uri=uri, name=name or None, state="LIVE",
                custom_properties=dict(properties)))
            for context_id in context_ids:
                self.attribute(artifact_id, context_id)
        return artifact_id

    def put_event(self, execution_id: int, artifact_id: int, kind: str, path: str) -> None:
        """An INPUT/OUTPUT event whose path is one key step (KFP names the artifact there)."""
        self.add_event(Event(artifact_id=artifact_id, execution_id=execution_id, kind=kind,
                             path=(path,) if path else ()))

    # -- types -------------------------------------------------------------------------------

    def types(self, kind: TypeKind) -> list[NodeType]:
        return [t for t in self._t.types.values() if t.kind is kind]

    def types_by_id(self, kind: TypeKind, ids: Iterable[int]) -> list[NodeType]:
        """In the order asked (measured), unknown ids and other kinds skipped."""
        found = (self.type_by_id(kind, i) for i in dict.fromkeys(ids))
        return [t for t in found if t is not None]

    def type_by_id(self, kind: TypeKind, type_id: int) -> NodeType | None:
        found = self._t.types.get(type_id)
        return found if found is not None and found.kind is kind else None

    def type_by_name(self, kind: TypeKind, name: str,
                     version: str | None = None) -> NodeType | None:
        for candidate in self.types(kind):
            if candidate.name == name and candidate.version == version:
                return candidate
        return None

    def get_type(self, kind: TypeKind, name: str, version: str | None = None) -> NodeType:
        """GetArtifactType and friends: a missing type is NOT_FOUND."""
        found = self.type_by_name(kind, name, version)
        if found is None:
            shown = f"`{version}`" if version is not None else "`nullopt`"
            raise not_found(f"No type found for query, name: `{name}`, version: {shown}")
        return found

    def ensure_type(self, kind: TypeKind, name: str) -> NodeType:
        found = self.type_by_name(kind, name)
        if found is not None:
            return found
        return self._t.types[self.put_type(NodeType(kind=kind, name=name))]

    def put_type(self, wanted: NodeType, can_add_fields: bool = False,
                 can_omit_fields: bool = False) -> int:
        """PutArtifactType/PutExecutionType/PutContextType: the stored type's id when it
        matches (or may be widened to match), a new type otherwise."""
        if not wanted.name:
            raise invalid("No type name is specified.")
        for prop, kind in wanted.properties.items():
            if kind == "UNKNOWN":
                raise invalid(f"Property {prop}'s value type is not specified.")
        stored = self.type_by_name(wanted.kind, wanted.name, wanted.version)
        if stored is None:
            created = dataclasses.replace(wanted, id=self._t.next_type_id,
                                          properties=dict(wanted.properties))
            self._t.next_type_id += 1
            self._t.types[created.id] = created
            return created.id
        for prop, kind in wanted.properties.items():
            if prop in stored.properties and stored.properties[prop] != kind:
                raise already_exists(
                    "Type already exists with different properties: property type of "
                    f"{prop} differs: stored type: {stored.name}")
        added = {p: k for p, k in wanted.properties.items() if p not in stored.properties}
        if added and not can_add_fields:
            raise already_exists(
                "Type already exists with different properties: can_add_fields is false while "
                f"the given type has more properties: stored_type: {stored.name}")
        if set(stored.properties) - set(wanted.properties) and not can_omit_fields:
            raise already_exists(
                "Type already exists with different properties: can_omit_fields is false "
                f"while stored type has more properties: stored type: {stored.name}")
        if added:
            self._t.types[stored.id] = dataclasses.replace(
                stored, properties={**stored.properties, **added})
        return stored.id

    # -- nodes -------------------------------------------------------------------------------

    def save_artifact(self, artifact: Artifact) -> int:
        """PutArtifacts for one artifact: create (id 0) or replace the stored one."""
        return self._save(TypeKind.ARTIFACT, self._t.artifacts, artifact, need_name=False)

    def save_execution(self, execution: Execution) -> int:
        return self._save(TypeKind.EXECUTION, self._t.executions, execution, need_name=False)

    def save_context(self, context: Context) -> int:
        return self._save(TypeKind.CONTEXT, self._t.contexts, context, need_name=True)

    def _save(self, kind: TypeKind, table: dict[int, N], node: N, need_name: bool) -> int:
        if not node.type_id:
            raise invalid("Type id is missing.")
        node_type = self.type_by_id(kind, node.type_id)
        if node_type is None:
            raise not_found(f"Cannot find type for {_describe(node)}No type found for query, "
                            f"type_id: {node.type_id}")
        self._check_properties(node_type, node)
        now = self._ms()
        if node.id:
            stored = table.get(node.id)
            if stored is None:
                raise invalid(f"Cannot find the given id {node.id}")
            if stored.type_id != node.type_id:
                raise invalid(f"Given type_id {node.type_id} is different from the one known "
                              f"before: {stored.type_id}")
            updated = copy.deepcopy(node)
            for keep in ("name", "external_id", "uri", "state"):
                if getattr(updated, keep, None) is None and hasattr(stored, keep):
                    setattr(updated, keep, getattr(stored, keep))
            self._check_unique(table, updated)
            updated.type_name = node_type.name
            updated.create_time_ms, updated.update_time_ms = stored.create_time_ms, now
            table[node.id] = updated
            return node.id
        if need_name and not node.name:
            raise invalid(f'Cannot create node for type_id: {node.type_id} name: "'
                          f'{node.name or ""}"Context name should not be empty')
        self._check_unique(table, node)
        created = copy.deepcopy(node)
        created.id = self._t.next_ids[kind]
        self._t.next_ids[kind] += 1
        created.type_name = node_type.name
        created.create_time_ms = created.update_time_ms = now
        table[created.id] = created
        return created.id

    @staticmethod
    def _check_properties(node_type: NodeType, node: Node) -> None:
        for name, value in node.properties.items():
            declared = node_type.properties.get(name)
            if declared is None:
                raise invalid(f"Cannot validate properties of {_describe(node)}"
                              f"Found unknown property: {name}")
            if declared != property_type(value):
                raise invalid(f"Cannot validate properties of {_describe(node)}"
                              f"Found unmatched property type: {name}")

    @staticmethod
    def _check_unique(table: dict[int, N], node: N) -> None:
        for other in table.values():
            if other.id == node.id or other.type_id != node.type_id:
                continue
            if node.name and other.name == node.name:
                raise already_exists(f"Given node already exists: {_describe(node)}")
            if node.external_id and other.external_id == node.external_id:
                raise already_exists(f"Given node already exists: external_id: "
                                     f"{node.external_id!r}")

    def artifacts(self) -> list[Artifact]:
        return list(self._t.artifacts.values())

    def executions(self) -> list[Execution]:
        return list(self._t.executions.values())

    def contexts(self) -> list[Context]:
        return list(self._t.contexts.values())

    def artifacts_by_id(self, ids: Iterable[int]) -> list[Artifact]:
        return _by_id(self._t.artifacts, ids)

    def executions_by_id(self, ids: Iterable[int]) -> list[Execution]:
        return _by_id(self._t.executions, ids)

    def contexts_by_id(self, ids: Iterable[int]) -> list[Context]:
        return _by_id(self._t.contexts, ids)

    def artifacts_by_uri(self, uri: str) -> list[Artifact]:
        return [a for a in self._t.artifacts.values() if a.uri == uri]

    def context_by_type_and_name(self, type_name: str, name: str) -> Context | None:
        context_type = self.type_by_name(TypeKind.CONTEXT, type_name)
        if context_type is None:
            return None
        for context in self._t.contexts.values():
            if context.type_id == context_type.id and context.name == name:
                return context
        return None

    def contexts_by_type(self, type_name: str, version: str | None = None) -> list[Context]:
        context_type = self.type_by_name(TypeKind.CONTEXT, type_name, version)
        if context_type is None:
            return []
        return [c for c in self._t.contexts.values() if c.type_id == context_type.id]

    # -- links -------------------------------------------------------------------------------

    def attribute(self, artifact_id: int, context_id: int) -> None:
        """Artifact -> context (Attribution); idempotent like MLMD's."""
        if artifact_id not in self._t.artifacts:
            raise invalid("Artifact id not found.")
        if context_id not in self._t.contexts:
            raise invalid("Context id not found.")
        self._t.attributions[(artifact_id, context_id)] = None

    def associate(self, execution_id: int, context_id: int) -> None:
        """Execution -> context (Association); idempotent like MLMD's."""
        if execution_id not in self._t.executions:
            raise invalid("Execution id not found.")
        if context_id not in self._t.contexts:
            raise invalid("Context id not found.")
        self._t.associations[(execution_id, context_id)] = None

    def contexts_by_artifact(self, artifact_id: int) -> list[Context]:
        ids = [c for a, c in self._t.attributions if a == artifact_id]
        return self.contexts_by_id(ids)

    def contexts_by_execution(self, execution_id: int) -> list[Context]:
        ids = [c for e, c in self._t.associations if e == execution_id]
        return self.contexts_by_id(ids)

    def artifacts_by_context(self, context_id: int) -> list[Artifact]:
        return self.artifacts_by_id(a for a, c in self._t.attributions if c == context_id)

    def executions_by_context(self, context_id: int) -> list[Execution]:
        return self.executions_by_id(e for e, c in self._t.associations if c == context_id)

    # -- events ------------------------------------------------------------------------------

    def add_event(self, event: Event) -> None:
        if event.kind not in EVENT_TYPES or event.kind == "UNKNOWN":
            raise invalid("No event type is specified.")
        if event.artifact_id not in self._t.artifacts:
            raise invalid(f"No artifact with the given id {event.artifact_id}")
        if event.execution_id not in self._t.executions:
            raise invalid(f"No execution with the given id {event.execution_id}")
        for other in self._t.events:
            if (other.artifact_id, other.execution_id, other.kind) == (
                    event.artifact_id, event.execution_id, event.kind):
                raise already_exists(
                    f"Given event already exists: artifact_id: {event.artifact_id} "
                    f"execution_id: {event.execution_id} type: {event.kind}")
        self._t.events.append(dataclasses.replace(event, time_ms=event.time_ms or self._ms()))

    def events_by_execution_ids(self, ids: Iterable[int]) -> list[Event]:
        wanted = set(ids)
        return [e for e in self._t.events if e.execution_id in wanted]

    def events_by_artifact_ids(self, ids: Iterable[int]) -> list[Event]:
        wanted = set(ids)
        return [e for e in self._t.events if e.artifact_id in wanted]


def _by_id(table: dict[int, N], ids: Iterable[int]) -> list[N]:
    """Found ids only, in id order (MLMD answers by-id reads sorted, missing ids skipped)."""
    return [table[i] for i in sorted(set(ids)) if i in table]


__all__ = ["FIRST_TYPE_ID", "MetadataStore", "PathStep", "PropertyValue"]

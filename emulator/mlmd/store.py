"""The metadata store: ML Metadata's state and rules, in memory.

One instance per emulator (``Emulator.metadata``).  The rules are the real MLMD's, measured
against ml-metadata 1.17.1's own engine (tests/mlmd_real): type ids come after the nine
system types MLMD registers first, node ids count from 1 per kind, names are unique per type,
a write that fails changes nothing, and the messages of refusals are MLMD's.

Two ways in: the simple calls the execution engine uses (``put_context``, ``put_execution``,
``put_artifact``, ``put_event``: types made on first use, ``properties`` being *custom*
properties as KFP writes them), and the full ones the gRPC service maps its methods onto.
Callers hold ``emulator.kfp.state.lock``; the store itself takes no lock.

Every lookup the engine and the service make is an index read (names and external ids per
type, artifacts by URI, contexts by type, links and events from either end), so writing and
reading cost the same with a hundred records or a million.  The indexes live in ``_Tables``
beside the records and change with them through the few mutators below, which also journal
each change while a transaction (``atomic``) is open: a failed write is undone step by step
instead of snapshotting every table on each write.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from emulator.mlmd.models import (
    ARTIFACT_STATES,
    EVENT_TYPES,
    EXECUTION_STATES,
    PROPERTY_TYPES,
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
from emulator.mlmd.status import MlmdError, already_exists, invalid, not_found
from emulator.snapshot_fields import count as _count
from emulator.snapshot_fields import text as _text

# MLMD's type table starts with nine hidden system types (mlmd.Dataset ... mlmd.Deploy), so
# the first type a client registers gets id 10 (measured).
FIRST_TYPE_ID = 10

N = TypeVar("N", bound=Node)

# An index maps a key to one int (the common case: one record) or to a list of ints, in the
# order they were added; ``_values`` reads both the same way.
Multi = dict[Any, "int | list[int]"]
_MISSING: Any = object()
# The declared properties of every node the simple interface makes (KFP sets custom ones
# only): one shared empty dict, never written (stored records are replaced, not changed).
_NO_PROPERTIES: Properties = {}
# Event paths of one step, shared by every event naming the same output.
_PATHS: dict[str, tuple[PathStep, ...]] = {}


def _values(index: Multi, key: Any) -> list[int] | tuple[int, ...]:
    found = index.get(key)
    if found is None:
        return ()
    return found if isinstance(found, list) else (found,)


@dataclass
class _Tables:
    types: dict[int, NodeType] = field(default_factory=dict)
    artifacts: dict[int, Artifact] = field(default_factory=dict)
    executions: dict[int, Execution] = field(default_factory=dict)
    contexts: dict[int, Context] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    next_type_id: int = FIRST_TYPE_ID
    next_ids: dict[TypeKind, int] = field(
        default_factory=lambda: dict.fromkeys(TypeKind, 1))
    # -- indexes (derived from the records above, kept with them) --
    # (kind, name, version) -> type id
    type_ids: dict[tuple[TypeKind, str, str | None], int] = field(default_factory=dict)
    # per kind: (type id, name) and (type id, external id) -> node id (unique per type)
    names: dict[TypeKind, dict[tuple[int, str], int]] = field(
        default_factory=lambda: {kind: {} for kind in TypeKind})
    external_ids: dict[TypeKind, dict[tuple[int, str], int]] = field(
        default_factory=lambda: {kind: {} for kind in TypeKind})
    uris: Multi = field(default_factory=dict)  # artifact uri -> artifact ids
    contexts_of_type: Multi = field(default_factory=dict)  # type id -> context ids, id order
    # Attributions (artifact, context) and associations (execution, context) from both ends.
    artifact_contexts: Multi = field(default_factory=dict)
    context_artifacts: Multi = field(default_factory=dict)
    execution_contexts: Multi = field(default_factory=dict)
    context_executions: Multi = field(default_factory=dict)
    # positions in ``events`` by execution id and by artifact id
    execution_events: Multi = field(default_factory=dict)
    artifact_events: Multi = field(default_factory=dict)


def _describe(node: Node) -> str:
    """The node as MLMD's messages show it (its set fields, text-format style)."""
    parts = [f"type_id: {node.type_id}"]
    for name in ("uri", "name"):
        value = getattr(node, name, None)
        if value is not None:
            parts.append(f'{name}: "{value}"')
    return " ".join(parts)


_TABLE_OF = {TypeKind.ARTIFACT: "artifacts", TypeKind.EXECUTION: "executions",
             TypeKind.CONTEXT: "contexts"}


class MetadataStore:
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._t = _Tables()
        # While a transaction is open: how to undo each change made since it began.
        self._journal: list[tuple[Any, ...]] | None = None

    def clear(self) -> None:
        if self._journal is not None:
            self._journal.append(("attr", self, "_t", self._t))
        self._t = _Tables()

    def _ms(self) -> int:
        return int(self._now() * 1000)

    # -- snapshot (emulator/snapshot.py) -----------------------------------------------------

    def export(self) -> dict[str, Any]:
        """Every record, the links and the id counters as plain JSON (the indexes are derived
        from them on restore), in table (id) order."""
        t = self._t

        def links(index: Multi) -> list[list[int]]:
            return [[node, other] for node in index for other in _values(index, node)]

        return {
            "next_type_id": t.next_type_id,
            "next_ids": {kind.value: value for kind, value in t.next_ids.items()},
            "types": [_type_json(x) for x in t.types.values()],
            "artifacts": [_node_json(n) for n in t.artifacts.values()],
            "executions": [_node_json(n) for n in t.executions.values()],
            "contexts": [_node_json(n) for n in t.contexts.values()],
            "events": [{"artifact_id": e.artifact_id, "execution_id": e.execution_id,
                        "type": e.kind, "path": list(e.path), "time_ms": e.time_ms}
                       for e in t.events],
            "attributions": links(t.artifact_contexts),
            "associations": links(t.execution_contexts),
        }

    def restorer(self, data: Any) -> Callable[[], None]:
        """Read an :meth:`export` into new tables, checked as MLMD checks writes (a malformed
        one raises ``ValueError``, ``KeyError`` or ``TypeError``); the returned call installs
        them, so a snapshot import can read everything before it changes anything."""
        fresh = MetadataStore(self._now)
        try:
            fresh._load(data)
        except MlmdError as error:
            raise ValueError(f"metadata: {error.message}") from None

        def install() -> None:
            self.clear()
            self._t = fresh._t
        return install

    def _load(self, data: dict[str, Any]) -> None:
        t = self._t
        for entry in sorted(data["types"], key=lambda e: int(e["id"])):
            node_type = NodeType(
                id=_positive(entry["id"]), kind=TypeKind(entry["kind"]), name=_text(entry["name"]),
                properties={_text(k): _choice(v, PROPERTY_TYPES)
                            for k, v in dict(entry.get("properties") or {}).items()},
                version=_optional_text(entry.get("version")),
                description=_optional_text(entry.get("description")),
                external_id=_optional_text(entry.get("external_id")))
            key = (node_type.kind, node_type.name, node_type.version)
            if not node_type.name or node_type.id in t.types or key in t.type_ids:
                raise ValueError(f"metadata: duplicate or unnamed type {entry!r}")
            t.types[node_type.id] = node_type
            t.type_ids[key] = node_type.id
        for kind, node_class in ((TypeKind.ARTIFACT, Artifact), (TypeKind.EXECUTION, Execution),
                                 (TypeKind.CONTEXT, Context)):
            table: dict[int, Any] = getattr(t, _TABLE_OF[kind])
            for entry in sorted(data[_TABLE_OF[kind]], key=lambda e: int(e["id"])):
                node = _node_from(node_class, entry)
                of_type = self.type_by_id(kind, node.type_id)
                if of_type is None or node.id in table:
                    raise ValueError(f"metadata: {kind.value} {node.id}: unknown type or id "
                                     "used twice")
                node.type_name = of_type.name
                self._check_properties(of_type, node)
                self._check_unique(kind, node)
                if kind is TypeKind.CONTEXT and not node.name:
                    raise ValueError(f"metadata: context {node.id} has no name")
                table[node.id] = node
                self._index(kind, node)
                if kind is TypeKind.CONTEXT:
                    self._add(t.contexts_of_type, node.type_id, node.id)
        for artifact_id, context_id in data["attributions"]:
            self.attribute(_positive(artifact_id), _positive(context_id))
        for execution_id, context_id in data["associations"]:
            self.associate(_positive(execution_id), _positive(context_id))
        for entry in data["events"]:
            path = tuple(_step(s) for s in entry.get("path") or ())
            self.add_event(Event(artifact_id=_positive(entry["artifact_id"]),
                                 execution_id=_positive(entry["execution_id"]),
                                 kind=_text(entry["type"]), path=path,
                                 time_ms=_count(entry.get("time_ms", 0))))
        # The counters never go back below an id in use (a hand-edited snapshot).
        t.next_type_id = max([_positive(data.get("next_type_id", FIRST_TYPE_ID)),
                              *(i + 1 for i in t.types)])
        next_ids = dict(data.get("next_ids") or {})
        for kind in TypeKind:
            table = getattr(t, _TABLE_OF[kind])
            t.next_ids[kind] = max([_positive(next_ids.get(kind.value, 1)),
                                    *(i + 1 for i in table)])

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """All of a multi-record write or none of it: on any error every change made inside
        (records and indexes) is undone, newest first.  Nests: an inner failure undoes the
        inner changes only (and propagates)."""
        outer = self._journal is None
        if outer:
            self._journal = []
        journal = self._journal
        assert journal is not None
        mark = len(journal)
        try:
            yield
        except BaseException:
            while len(journal) > mark:
                _undo(journal.pop())
            raise
        finally:
            if outer:
                self._journal = None

    # -- journaled mutations (the only writers of ``_t``'s containers) ----------------------

    def _set(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        if self._journal is not None:
            self._journal.append(("set", table, key, table.get(key, _MISSING)))
        table[key] = value

    def _delete(self, table: dict[Any, Any], key: Any) -> None:
        if self._journal is not None:
            self._journal.append(("set", table, key, table[key]))
        del table[key]

    def _append(self, items: list[Any], value: Any) -> None:
        if self._journal is not None:
            self._journal.append(("pop", items))
        items.append(value)

    def _set_attr(self, owner: Any, name: str, value: Any) -> None:
        if self._journal is not None:
            self._journal.append(("attr", owner, name, getattr(owner, name)))
        setattr(owner, name, value)

    def _add(self, index: Multi, key: Any, value: int) -> None:
        found = index.get(key)
        if found is None:
            self._set(index, key, value)
        elif isinstance(found, list):
            self._append(found, value)
        else:
            self._set(index, key, [found, value])

    def _remove(self, index: Multi, key: Any, value: int) -> None:
        rest = [v for v in _values(index, key) if v != value]
        if not rest:
            self._delete(index, key)
        else:  # a new container: the old one stays intact for an undo
            self._set(index, key, rest if len(rest) > 1 else rest[0])

    def _next_id(self, kind: TypeKind) -> int:
        value = self._t.next_ids[kind]
        self._set(self._t.next_ids, kind, value + 1)
        return value

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
            return self._save(TypeKind.CONTEXT, self._t.contexts, Context(
                type_id=kind_type.id, name=name, properties=_NO_PROPERTIES,
                custom_properties=dict(properties)),
                need_name=True, owned=True)

    def put_execution(self, type_name: str, name: str, state: str, properties: Properties,
                      context_ids: list[int]) -> int:
        if state not in EXECUTION_STATES:
            raise invalid(f"unknown execution state {state!r}")
        with self.atomic():
            kind_type = self.ensure_type(TypeKind.EXECUTION, type_name)
            execution_id = self._save(TypeKind.EXECUTION, self._t.executions, Execution(
                type_id=kind_type.id, name=name or None, state=state,
                properties=_NO_PROPERTIES, custom_properties=_copied(properties)),
                need_name=False, owned=True)
            for context_id in context_ids:
                self.associate(execution_id, context_id)
        return execution_id

    def put_artifact(self, type_name: str, uri: str, properties: Properties,
                     context_ids: list[int], name: str = "") -> int:
        with self.atomic():
            kind_type = self.ensure_type(TypeKind.ARTIFACT, type_name)
            artifact_id = self._save(TypeKind.ARTIFACT, self._t.artifacts, Artifact(
                type_id=kind_type.id, uri=uri, name=name or None, state="LIVE",
                properties=_NO_PROPERTIES, custom_properties=_copied(properties)),
                need_name=False, owned=True)
            for context_id in context_ids:
                self.attribute(artifact_id, context_id)
        return artifact_id

    def put_event(self, execution_id: int, artifact_id: int, kind: str, path: str) -> None:
        """An INPUT/OUTPUT event whose path is one key step (KFP names the artifact there)."""
        steps = _PATHS.get(path)
        if steps is None:
            steps = (path,) if path else ()
            if len(_PATHS) < 4096:
                _PATHS[path] = steps
        self.add_event(Event(artifact_id=artifact_id, execution_id=execution_id, kind=kind,
                             path=steps))

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
        type_id = self._t.type_ids.get((kind, name, version))
        return None if type_id is None else self._t.types[type_id]

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
            self._set_attr(self._t, "next_type_id", self._t.next_type_id + 1)
            self._set(self._t.types, created.id, created)
            self._set(self._t.type_ids, (created.kind, created.name, created.version),
                      created.id)
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
            self._set(self._t.types, stored.id, dataclasses.replace(
                stored, properties={**stored.properties, **added}))
        return stored.id

    # -- nodes -------------------------------------------------------------------------------

    def save_artifact(self, artifact: Artifact) -> int:
        """PutArtifacts for one artifact: create (id 0) or replace the stored one."""
        return self._save(TypeKind.ARTIFACT, self._t.artifacts, artifact, need_name=False)

    def save_execution(self, execution: Execution) -> int:
        return self._save(TypeKind.EXECUTION, self._t.executions, execution, need_name=False)

    def save_context(self, context: Context) -> int:
        return self._save(TypeKind.CONTEXT, self._t.contexts, context, need_name=True)

    def _save(self, kind: TypeKind, table: dict[int, N], node: N, need_name: bool,
              owned: bool = False) -> int:
        """Store ``node`` (a copy of it unless ``owned``: made by the store for this call)."""
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
            updated = node if owned else copy.deepcopy(node)
            for keep in ("name", "external_id", "uri", "state"):
                if getattr(updated, keep, None) is None and hasattr(stored, keep):
                    setattr(updated, keep, getattr(stored, keep))
            self._check_unique(kind, updated)
            updated.type_name = node_type.name
            updated.create_time_ms, updated.update_time_ms = stored.create_time_ms, now
            self._unindex(kind, stored)
            self._set(table, node.id, updated)
            self._index(kind, updated)
            return node.id
        if need_name and not node.name:
            raise invalid(f'Cannot create node for type_id: {node.type_id} name: "'
                          f'{node.name or ""}"Context name should not be empty')
        self._check_unique(kind, node)
        created = node if owned else copy.deepcopy(node)
        created.id = self._next_id(kind)
        created.type_name = node_type.name
        created.create_time_ms = created.update_time_ms = now
        self._set(table, created.id, created)
        self._index(kind, created)
        if kind is TypeKind.CONTEXT:
            self._add(self._t.contexts_of_type, created.type_id, created.id)
        return created.id

    def _index(self, kind: TypeKind, node: Node) -> None:
        if node.name:
            self._set(self._t.names[kind], (node.type_id, node.name), node.id)
        if node.external_id:
            self._set(self._t.external_ids[kind], (node.type_id, node.external_id), node.id)
        uri = getattr(node, "uri", None)
        if kind is TypeKind.ARTIFACT and uri is not None:
            self._add(self._t.uris, uri, node.id)

    def _unindex(self, kind: TypeKind, node: Node) -> None:
        if node.name:
            self._delete(self._t.names[kind], (node.type_id, node.name))
        if node.external_id:
            self._delete(self._t.external_ids[kind], (node.type_id, node.external_id))
        uri = getattr(node, "uri", None)
        if kind is TypeKind.ARTIFACT and uri is not None:
            self._remove(self._t.uris, uri, node.id)

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

    def _check_unique(self, kind: TypeKind, node: Node) -> None:
        """Another node of the type with the name or the external id: the first such node
        in the table (id order) decides the message, the name checked first on one node."""
        same_name = same_external_id = 0
        if node.name:
            other = self._t.names[kind].get((node.type_id, node.name), 0)
            same_name = other if other != node.id else 0
        if node.external_id:
            other = self._t.external_ids[kind].get((node.type_id, node.external_id), 0)
            same_external_id = other if other != node.id else 0
        if same_name and (not same_external_id or same_name <= same_external_id):
            raise already_exists(f"Given node already exists: {_describe(node)}")
        if same_external_id:
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
        """In table (id) order."""
        return _by_id(self._t.artifacts, _values(self._t.uris, uri))

    def context_by_type_and_name(self, type_name: str, name: str) -> Context | None:
        context_type = self.type_by_name(TypeKind.CONTEXT, type_name)
        if context_type is None or not name:
            return None
        found = self._t.names[TypeKind.CONTEXT].get((context_type.id, name))
        return None if found is None else self._t.contexts[found]

    def contexts_by_type(self, type_name: str, version: str | None = None) -> list[Context]:
        context_type = self.type_by_name(TypeKind.CONTEXT, type_name, version)
        if context_type is None:
            return []
        contexts = self._t.contexts
        return [contexts[i] for i in _values(self._t.contexts_of_type, context_type.id)]

    # -- links -------------------------------------------------------------------------------

    def attribute(self, artifact_id: int, context_id: int) -> None:
        """Artifact -> context (Attribution); idempotent like MLMD's."""
        if artifact_id not in self._t.artifacts:
            raise invalid("Artifact id not found.")
        if context_id not in self._t.contexts:
            raise invalid("Context id not found.")
        if context_id not in _values(self._t.artifact_contexts, artifact_id):
            self._add(self._t.artifact_contexts, artifact_id, context_id)
            self._add(self._t.context_artifacts, context_id, artifact_id)

    def associate(self, execution_id: int, context_id: int) -> None:
        """Execution -> context (Association); idempotent like MLMD's."""
        if execution_id not in self._t.executions:
            raise invalid("Execution id not found.")
        if context_id not in self._t.contexts:
            raise invalid("Context id not found.")
        if context_id not in _values(self._t.execution_contexts, execution_id):
            self._add(self._t.execution_contexts, execution_id, context_id)
            self._add(self._t.context_executions, context_id, execution_id)

    def contexts_by_artifact(self, artifact_id: int) -> list[Context]:
        return self.contexts_by_id(_values(self._t.artifact_contexts, artifact_id))

    def contexts_by_execution(self, execution_id: int) -> list[Context]:
        return self.contexts_by_id(_values(self._t.execution_contexts, execution_id))

    def artifacts_by_context(self, context_id: int) -> list[Artifact]:
        return self.artifacts_by_id(_values(self._t.context_artifacts, context_id))

    def executions_by_context(self, context_id: int) -> list[Execution]:
        return self.executions_by_id(_values(self._t.context_executions, context_id))

    # -- events ------------------------------------------------------------------------------

    def add_event(self, event: Event) -> None:
        if event.kind not in EVENT_TYPES or event.kind == "UNKNOWN":
            raise invalid("No event type is specified.")
        if event.artifact_id not in self._t.artifacts:
            raise invalid(f"No artifact with the given id {event.artifact_id}")
        if event.execution_id not in self._t.executions:
            raise invalid(f"No execution with the given id {event.execution_id}")
        events = self._t.events
        for position in _values(self._t.execution_events, event.execution_id):
            other = events[position]
            if other.artifact_id == event.artifact_id and other.kind == event.kind:
                raise already_exists(
                    f"Given event already exists: artifact_id: {event.artifact_id} "
                    f"execution_id: {event.execution_id} type: {event.kind}")
        position = len(events)
        self._append(events, dataclasses.replace(event, time_ms=event.time_ms or self._ms()))
        self._add(self._t.execution_events, event.execution_id, position)
        self._add(self._t.artifact_events, event.artifact_id, position)

    def events_by_execution_ids(self, ids: Iterable[int]) -> list[Event]:
        return self._events(self._t.execution_events, ids)

    def events_by_artifact_ids(self, ids: Iterable[int]) -> list[Event]:
        return self._events(self._t.artifact_events, ids)

    def _events(self, index: Multi, ids: Iterable[int]) -> list[Event]:
        """The events of those ids in the order they were added."""
        positions = sorted(p for i in set(ids) for p in _values(index, i))
        events = self._t.events
        return [events[p] for p in positions]


def _copied(properties: Properties) -> Properties:
    """A copy the caller cannot change through (struct values copied deeply)."""
    return {name: copy.deepcopy(value) if isinstance(value, dict) else value
            for name, value in properties.items()}


def _undo(entry: tuple[Any, ...]) -> None:
    action = entry[0]
    if action == "set":
        _, table, key, old = entry
        if old is _MISSING:
            del table[key]
        else:
            table[key] = old
    elif action == "pop":
        entry[1].pop()
    else:  # "attr"
        _, owner, name, old = entry
        setattr(owner, name, old)


# -- snapshot helpers ----------------------------------------------------------------------------


def _type_json(node_type: NodeType) -> dict[str, Any]:
    return {"id": node_type.id, "kind": node_type.kind.value, "name": node_type.name,
            "properties": dict(node_type.properties), "version": node_type.version,
            "description": node_type.description, "external_id": node_type.external_id}


def _node_json(node: Node) -> dict[str, Any]:
    out: dict[str, Any] = {"id": node.id, "type_id": node.type_id, "type": node.type_name,
                           "name": node.name, "external_id": node.external_id}
    if isinstance(node, Artifact):
        out["uri"], out["state"] = node.uri, node.state
    elif isinstance(node, Execution):
        out["state"] = node.state
    out["properties"] = _copied(node.properties)
    out["custom_properties"] = _copied(node.custom_properties)
    out["create_time_ms"], out["update_time_ms"] = node.create_time_ms, node.update_time_ms
    return out


def _node_from(node_class: type[N], entry: dict[str, Any]) -> N:
    fields: dict[str, Any] = {
        "id": _positive(entry["id"]), "type_id": _positive(entry["type_id"]),
        "name": _optional_text(entry.get("name")),
        "external_id": _optional_text(entry.get("external_id")),
        "properties": _properties(entry.get("properties")),
        "custom_properties": _properties(entry.get("custom_properties")),
        "create_time_ms": _count(entry.get("create_time_ms", 0)),
        "update_time_ms": _count(entry.get("update_time_ms", 0))}
    if node_class is Artifact:
        fields["uri"] = _optional_text(entry.get("uri"))
        state = entry.get("state")
        fields["state"] = None if state is None else _choice(state, ARTIFACT_STATES)
    elif node_class is Execution:
        state = entry.get("state")
        fields["state"] = None if state is None else _choice(state, EXECUTION_STATES)
    return node_class(**fields)


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _positive(value: Any) -> int:
    if _count(value) == 0:
        raise ValueError("expected an id (> 0), got 0")
    return int(value)


def _choice(value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"expected one of {allowed}, got {value!r}")
    return str(value)


def _step(value: Any) -> PathStep:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"an event path step is an index or a key, not {value!r}")
    return value


def _properties(value: Any) -> Properties:
    properties = dict(value or {})
    for name, item in properties.items():
        if not isinstance(name, str) or not isinstance(item, (int, float, str, bool, dict)):
            raise TypeError(f"property {name!r}: unsupported value {item!r}")
    return _copied(properties)


def _by_id(table: dict[int, N], ids: Iterable[int]) -> list[N]:
    """Found ids only, in id order (MLMD answers by-id reads sorted, missing ids skipped)."""
    return [table[i] for i in sorted(set(ids)) if i in table]


__all__ = ["FIRST_TYPE_ID", "MetadataStore", "PathStep", "PropertyValue"]

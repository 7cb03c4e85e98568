"""ML Metadata's records as plain Python: types, the three node kinds, events.

Property values are Python values: ``int``, ``float``, ``str``, ``bool`` or a ``dict`` (a
``google.protobuf.Struct``: JSON-like).  MLMD's ``Value`` oneof maps one to one onto them, so
an ``int`` stays an ``int_value`` and a ``float`` a ``double_value`` across a round trip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

PropertyValue = int | float | str | bool | dict[str, Any]
Properties = dict[str, PropertyValue]

ARTIFACT_STATES = ("UNKNOWN", "PENDING", "LIVE", "MARKED_FOR_DELETION", "DELETED", "ABANDONED",
                   "REFERENCE")
EXECUTION_STATES = ("UNKNOWN", "NEW", "RUNNING", "COMPLETE", "FAILED", "CACHED", "CANCELED")
EVENT_TYPES = ("UNKNOWN", "DECLARED_OUTPUT", "DECLARED_INPUT", "INPUT", "OUTPUT",
               "INTERNAL_INPUT", "INTERNAL_OUTPUT", "PENDING_OUTPUT")
PROPERTY_TYPES = ("UNKNOWN", "INT", "DOUBLE", "STRING", "STRUCT", "PROTO", "BOOLEAN")


class TypeKind(str, Enum):
    """Which node a type describes; MLMD keeps the three kinds' names apart."""

    ARTIFACT = "artifact"
    EXECUTION = "execution"
    CONTEXT = "context"


def property_type(value: PropertyValue) -> str:
    """The ``PropertyType`` a value satisfies (bool before int: a bool is an int in Python)."""
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "INT"
    if isinstance(value, float):
        return "DOUBLE"
    if isinstance(value, str):
        return "STRING"
    return "STRUCT"


@dataclass(kw_only=True, slots=True)
class NodeType:
    id: int = 0
    kind: TypeKind
    name: str
    properties: dict[str, str] = field(default_factory=dict)  # name -> PropertyType name
    version: str | None = None
    description: str | None = None
    external_id: str | None = None


@dataclass(kw_only=True, slots=True)
class Node:
    """What artifacts, executions and contexts share.  ``id`` 0 means "not stored yet"."""

    id: int = 0
    type_id: int = 0
    type_name: str = ""  # the output-only ``type`` field, filled by the store
    name: str | None = None
    external_id: str | None = None
    properties: Properties = field(default_factory=dict)
    custom_properties: Properties = field(default_factory=dict)
    create_time_ms: int = 0
    update_time_ms: int = 0


@dataclass(kw_only=True, slots=True)
class Artifact(Node):
    uri: str | None = None
    state: str | None = None  # one of ARTIFACT_STATES, None when never set


@dataclass(kw_only=True, slots=True)
class Execution(Node):
    state: str | None = None  # last_known_state: one of EXECUTION_STATES


@dataclass(kw_only=True, slots=True)
class Context(Node):
    pass


PathStep = int | str  # Event.Path.Step: an index or a key


@dataclass(frozen=True, kw_only=True, slots=True)
class Event:
    artifact_id: int
    execution_id: int
    kind: str  # one of EVENT_TYPES
    path: tuple[PathStep, ...] = ()
    time_ms: int = 0

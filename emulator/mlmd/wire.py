"""Between MLMD's wire messages (emulator.mlmd.schema) and the store's records (models).

Optional proto2 fields that are not set stay ``None`` in a record and unset on the wire, so
what a client reads back has exactly the fields real MLMD would fill.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format

from emulator.mlmd import schema
from emulator.mlmd.models import (
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
)
from emulator.mlmd.status import invalid

TYPE_MESSAGES = {TypeKind.ARTIFACT: "ArtifactType", TypeKind.EXECUTION: "ExecutionType",
                 TypeKind.CONTEXT: "ContextType"}


def _optional(message: Any, name: str) -> Any:
    return getattr(message, name) if message.HasField(name) else None


# -- property values -------------------------------------------------------------------------

def value_from_message(value: Any, key: str) -> PropertyValue:
    kind = value.WhichOneof("value")
    if kind == "struct_value":
        return dict(json_format.MessageToDict(value.struct_value))
    if kind is None:
        raise invalid(f"property {key} has no value set")
    result: PropertyValue = getattr(value, kind)
    return result


def value_to_message(target: Any, value: PropertyValue) -> None:
    """Fill a ``Value`` message (bool checked before int: a bool is an int in Python)."""
    if isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, str):
        target.string_value = value
    else:
        target.struct_value.update(value)


def _properties_from(field: Any) -> Properties:
    return {key: value_from_message(value, key) for key, value in field.items()}


def _properties_to(field: Any, properties: Properties) -> None:
    for key, value in properties.items():
        value_to_message(field[key], value)


# -- types -----------------------------------------------------------------------------------

def type_from_message(kind: TypeKind, message: Any) -> NodeType:
    return NodeType(
        kind=kind, name=message.name, id=message.id,
        properties={key: schema.enum_name("PropertyType", number)
                    for key, number in message.properties.items()},
        version=_optional(message, "version"), description=_optional(message, "description"),
        external_id=_optional(message, "external_id"))


def type_to_message(node_type: NodeType) -> Any:
    message = schema.new(TYPE_MESSAGES[node_type.kind], id=node_type.id, name=node_type.name)
    for key, kind in node_type.properties.items():
        message.properties[key] = schema.enum_value("PropertyType", kind)
    for name in ("version", "description", "external_id"):
        if getattr(node_type, name) is not None:
            setattr(message, name, getattr(node_type, name))
    return message


# -- nodes -----------------------------------------------------------------------------------

def _node_fields(message: Any) -> dict[str, Any]:
    return {"id": message.id, "type_id": message.type_id, "name": _optional(message, "name"),
            "external_id": _optional(message, "external_id"),
            "properties": _properties_from(message.properties),
            "custom_properties": _properties_from(message.custom_properties)}


def _fill_node(message: Any, node: Node) -> Any:
    message.id = node.id
    message.type_id = node.type_id
    message.type = node.type_name
    for name in ("name", "external_id"):
        if getattr(node, name) is not None:
            setattr(message, name, getattr(node, name))
    _properties_to(message.properties, node.properties)
    _properties_to(message.custom_properties, node.custom_properties)
    message.create_time_since_epoch = node.create_time_ms
    message.last_update_time_since_epoch = node.update_time_ms
    return message


def artifact_from_message(message: Any) -> Artifact:
    state = _optional(message, "state")
    return Artifact(**_node_fields(message), uri=_optional(message, "uri"),
                    state=None if state is None else schema.enum_name("Artifact.State", state))


def artifact_to_message(artifact: Artifact) -> Any:
    message = _fill_node(schema.new("Artifact"), artifact)
    if artifact.uri is not None:
        message.uri = artifact.uri
    if artifact.state is not None:
        message.state = schema.enum_value("Artifact.State", artifact.state)
    return message


def execution_from_message(message: Any) -> Execution:
    state = _optional(message, "last_known_state")
    return Execution(**_node_fields(message),
                     state=None if state is None else schema.enum_name("Execution.State", state))


def execution_to_message(execution: Execution) -> Any:
    message = _fill_node(schema.new("Execution"), execution)
    if execution.state is not None:
        message.last_known_state = schema.enum_value("Execution.State", execution.state)
    return message


def context_from_message(message: Any) -> Context:
    return Context(**_node_fields(message))


def context_to_message(context: Context) -> Any:
    return _fill_node(schema.new("Context"), context)


# -- events ----------------------------------------------------------------------------------

def event_from_message(message: Any, execution_id: int | None = None,
                       artifact_id: int | None = None) -> Event:
    steps: list[PathStep] = []
    for step in message.path.steps:
        kind = step.WhichOneof("value")
        if kind is not None:
            steps.append(step.index if kind == "index" else step.key)
    kind_number = _optional(message, "type")
    return Event(
        artifact_id=message.artifact_id if artifact_id is None else artifact_id,
        execution_id=message.execution_id if execution_id is None else execution_id,
        kind="UNKNOWN" if kind_number is None else schema.enum_name("Event.Type", kind_number),
        path=tuple(steps), time_ms=message.milliseconds_since_epoch)


def event_to_message(event: Event) -> Any:
    message = schema.new("Event", artifact_id=event.artifact_id,
                         execution_id=event.execution_id,
                         type=schema.enum_value("Event.Type", event.kind),
                         milliseconds_since_epoch=event.time_ms)
    for step in event.path:
        added = message.path.steps.add()
        if isinstance(step, int):
            added.index = step
        else:
            added.key = step
    return message

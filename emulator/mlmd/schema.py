"""ML Metadata's wire messages, defined here from a table and built at import time.

Why not generated code: the real ``ml-metadata`` package pins protobuf<5, which cannot live
beside kfp's protobuf 6, and generated ``_pb2`` files are tied to one protobuf runtime.  So
each message we serve is one row below (names and field numbers as upstream ml-metadata
1.14-1.17 has them), turned into a ``FileDescriptorProto`` in a *private* descriptor pool,
so it can never clash with a real ``ml_metadata`` module loaded in the same process.

A field is written ``"name number type [flag ...]"``: ``type`` is a scalar (``int64``,
``int32``, ``string``, ``double``, ``bool``), a message or enum of the package (``Artifact``,
``Event.Path.Step``, ``Artifact.State``), a well-known type (``google.protobuf.Struct``) or
``map<T>`` (string keys); flags are ``repeated``, ``packed``, ``oneof=<name>``,
``default=<value>``.  Messages we do not serve are left out; their fields arrive as unknown
fields and are ignored, as a proto2 reader does.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, struct_pb2
from google.protobuf.message import Message

PACKAGE = "ml_metadata"
FILE_NAME = "kfp_isolation/ml_metadata/metadata_store.proto"

# Enums: values numbered from 0 in the order given.
ENUMS: dict[str, tuple[str, ...]] = {
    "PropertyType": ("UNKNOWN", "INT", "DOUBLE", "STRING", "STRUCT", "PROTO", "BOOLEAN"),
    "Artifact.State": ("UNKNOWN", "PENDING", "LIVE", "MARKED_FOR_DELETION", "DELETED",
                       "ABANDONED", "REFERENCE"),
    "Execution.State": ("UNKNOWN", "NEW", "RUNNING", "COMPLETE", "FAILED", "CACHED", "CANCELED"),
    "Event.Type": ("UNKNOWN", "DECLARED_OUTPUT", "DECLARED_INPUT", "INPUT", "OUTPUT",
                   "INTERNAL_INPUT", "INTERNAL_OUTPUT", "PENDING_OUTPUT"),
    "ListOperationOptions.OrderByField.Field": ("FIELD_UNSPECIFIED", "CREATE_TIME",
                                                "LAST_UPDATE_TIME", "ID"),
}

_TYPE_FIELDS = ("id 1 int64", "name 2 string", "version 4 string", "description 5 string",
                "external_id 7 string", "properties 3 map<PropertyType>")
_TX = "transaction_options {} TransactionOptions"

# The data model (metadata_store.proto).
MESSAGES: dict[str, tuple[str, ...]] = {
    "Value": ("int_value 1 int64 oneof=value", "double_value 2 double oneof=value",
              "string_value 3 string oneof=value",
              "struct_value 4 google.protobuf.Struct oneof=value",
              "bool_value 6 bool oneof=value"),
    "Artifact": ("id 1 int64", "name 7 string", "type_id 2 int64", "type 8 string",
                 "uri 3 string", "external_id 11 string", "properties 4 map<Value>",
                 "custom_properties 5 map<Value>", "state 6 Artifact.State",
                 "create_time_since_epoch 9 int64", "last_update_time_since_epoch 10 int64"),
    "ArtifactType": _TYPE_FIELDS,
    "Event": ("artifact_id 1 int64", "execution_id 2 int64", "path 3 Event.Path",
              "type 4 Event.Type", "milliseconds_since_epoch 5 int64"),
    "Event.Path": ("steps 1 Event.Path.Step repeated",),
    "Event.Path.Step": ("index 1 int64 oneof=value", "key 2 string oneof=value"),
    "Execution": ("id 1 int64", "name 6 string", "type_id 2 int64", "type 7 string",
                  "external_id 10 string", "last_known_state 3 Execution.State",
                  "properties 4 map<Value>", "custom_properties 5 map<Value>",
                  "create_time_since_epoch 8 int64", "last_update_time_since_epoch 9 int64"),
    "ExecutionType": ("id 1 int64", "name 2 string", "version 6 string",
                      "description 7 string", "external_id 9 string",
                      "properties 3 map<PropertyType>"),
    "ContextType": _TYPE_FIELDS,
    "Context": ("id 1 int64", "name 3 string", "type_id 2 int64", "type 6 string",
                "external_id 9 string", "properties 4 map<Value>",
                "custom_properties 5 map<Value>", "create_time_since_epoch 7 int64",
                "last_update_time_since_epoch 8 int64"),
    "Attribution": ("artifact_id 1 int64", "context_id 2 int64"),
    "Association": ("execution_id 1 int64", "context_id 2 int64"),
    "ListOperationOptions": ("max_result_size 1 int32 default=20",
                             "order_by_field 2 ListOperationOptions.OrderByField",
                             "next_page_token 3 string", "filter_query 4 string"),
    "ListOperationOptions.OrderByField": (
        "field 1 ListOperationOptions.OrderByField.Field default=ID",
        "is_asc 2 bool default=true"),
    "TransactionOptions": ("tag 1 string",),
}


def _request(*fields: str, tx: int) -> tuple[str, ...]:
    return (*fields, _TX.format(tx))


# The service's requests and responses (metadata_store_service.proto), for the methods served.
SERVICE_MESSAGES: dict[str, tuple[str, ...]] = {
    # writes
    "PutArtifactTypeRequest": _request("artifact_type 1 ArtifactType", "can_add_fields 2 bool",
                                       "can_omit_fields 5 bool", tx=6),
    "PutArtifactTypeResponse": ("type_id 1 int64",),
    "PutExecutionTypeRequest": _request("execution_type 1 ExecutionType",
                                        "can_add_fields 2 bool", "can_omit_fields 5 bool", tx=6),
    "PutExecutionTypeResponse": ("type_id 1 int64",),
    "PutContextTypeRequest": _request("context_type 1 ContextType", "can_add_fields 2 bool",
                                      "can_omit_fields 5 bool", tx=6),
    "PutContextTypeResponse": ("type_id 1 int64",),
    "PutArtifactsRequest": _request("artifacts 1 Artifact repeated", tx=3),
    "PutArtifactsResponse": ("artifact_ids 1 int64 repeated",),
    "PutExecutionsRequest": _request("executions 1 Execution repeated", tx=2),
    "PutExecutionsResponse": ("execution_ids 1 int64 repeated",),
    "PutContextsRequest": _request("contexts 1 Context repeated", tx=2),
    "PutContextsResponse": ("context_ids 1 int64 repeated",),
    "PutEventsRequest": _request("events 1 Event repeated", tx=2),
    "PutEventsResponse": (),
    "PutAttributionsAndAssociationsRequest": _request("attributions 1 Attribution repeated",
                                                      "associations 2 Association repeated",
                                                      tx=3),
    "PutAttributionsAndAssociationsResponse": (),
    "PutExecutionRequest": _request(
        "execution 1 Execution",
        "artifact_event_pairs 2 PutExecutionRequest.ArtifactAndEvent repeated",
        "contexts 3 Context repeated", "options 4 PutExecutionRequest.Options", tx=5),
    "PutExecutionRequest.ArtifactAndEvent": ("artifact 1 Artifact", "event 2 Event"),
    "PutExecutionRequest.Options": ("reuse_context_if_already_exist 1 bool",
                                    "reuse_artifact_if_already_exist_by_external_id 2 bool"),
    "PutExecutionResponse": ("execution_id 1 int64", "artifact_ids 2 int64 repeated",
                             "context_ids 3 int64 repeated"),
    # types
    "GetArtifactTypeRequest": _request("type_name 1 string", "type_version 2 string", tx=3),
    "GetArtifactTypeResponse": ("artifact_type 1 ArtifactType",),
    "GetExecutionTypeRequest": _request("type_name 1 string", "type_version 2 string", tx=3),
    "GetExecutionTypeResponse": ("execution_type 1 ExecutionType",),
    "GetContextTypeRequest": _request("type_name 1 string", "type_version 2 string", tx=3),
    "GetContextTypeResponse": ("context_type 1 ContextType",),
    "GetArtifactTypesRequest": _request(tx=1),
    "GetArtifactTypesResponse": ("artifact_types 1 ArtifactType repeated",),
    "GetExecutionTypesRequest": _request(tx=1),
    "GetExecutionTypesResponse": ("execution_types 1 ExecutionType repeated",),
    "GetContextTypesRequest": _request(tx=1),
    "GetContextTypesResponse": ("context_types 1 ContextType repeated",),
    "GetArtifactTypesByIDRequest": _request("type_ids 1 int64 repeated", tx=2),
    "GetArtifactTypesByIDResponse": ("artifact_types 1 ArtifactType repeated",),
    "GetExecutionTypesByIDRequest": _request("type_ids 1 int64 repeated", tx=2),
    "GetExecutionTypesByIDResponse": ("execution_types 1 ExecutionType repeated",),
    # artifacts
    "GetArtifactsRequest": _request("options 1 ListOperationOptions", tx=2),
    "GetArtifactsResponse": ("artifacts 1 Artifact repeated", "next_page_token 2 string"),
    "GetArtifactsByIDRequest": _request("artifact_ids 1 int64 repeated",
                                        "populate_artifact_types 3 bool", tx=2),
    "GetArtifactsByIDResponse": ("artifacts 1 Artifact repeated",
                                 "artifact_types 2 ArtifactType repeated"),
    "GetArtifactsByURIRequest": _request("uris 2 string repeated", tx=3),
    "GetArtifactsByURIResponse": ("artifacts 1 Artifact repeated",),
    "GetArtifactsByContextRequest": _request("context_id 1 int64",
                                             "options 2 ListOperationOptions", tx=3),
    "GetArtifactsByContextResponse": ("artifacts 1 Artifact repeated",
                                      "next_page_token 2 string"),
    # executions
    "GetExecutionsRequest": _request("options 1 ListOperationOptions", tx=2),
    "GetExecutionsResponse": ("executions 1 Execution repeated", "next_page_token 2 string"),
    "GetExecutionsByIDRequest": _request("execution_ids 1 int64 repeated", tx=2),
    "GetExecutionsByIDResponse": ("executions 1 Execution repeated",),
    "GetExecutionsByContextRequest": _request("context_id 1 int64",
                                              "options 2 ListOperationOptions", tx=3),
    "GetExecutionsByContextResponse": ("executions 1 Execution repeated",
                                       "next_page_token 2 string",
                                       "transaction_options 3 TransactionOptions"),
    # contexts
    "GetContextsRequest": _request("options 1 ListOperationOptions", tx=2),
    "GetContextsResponse": ("contexts 1 Context repeated", "next_page_token 2 string"),
    "GetContextsByIDRequest": _request("context_ids 1 int64 repeated", tx=2),
    "GetContextsByIDResponse": ("contexts 1 Context repeated",),
    "GetContextsByTypeRequest": _request("type_name 1 string", "options 2 ListOperationOptions",
                                         "type_version 3 string", tx=4),
    "GetContextsByTypeResponse": ("contexts 1 Context repeated", "next_page_token 2 string"),
    "GetContextByTypeAndNameRequest": _request("type_name 1 string", "type_version 3 string",
                                               "context_name 2 string", tx=4),
    "GetContextByTypeAndNameResponse": ("context 1 Context",),
    "GetContextsByArtifactRequest": _request("artifact_id 1 int64", tx=2),
    "GetContextsByArtifactResponse": ("contexts 1 Context repeated",),
    "GetContextsByExecutionRequest": _request("execution_id 1 int64", tx=2),
    "GetContextsByExecutionResponse": ("contexts 1 Context repeated",),
    # events
    "GetEventsByExecutionIDsRequest": _request("execution_ids 1 int64 repeated", tx=2),
    "GetEventsByExecutionIDsResponse": ("events 1 Event repeated",),
    "GetEventsByArtifactIDsRequest": _request("artifact_ids 1 int64 repeated", tx=2),
    "GetEventsByArtifactIDsResponse": ("events 1 Event repeated",),
}

SERVICE = "MetadataStoreService"
SERVICE_FULL_NAME = f"{PACKAGE}.{SERVICE}"

# Every method whose request and response are defined above (the names follow upstream's
# <Method>Request / <Method>Response rule).
METHODS: tuple[str, ...] = tuple(
    name[:-len("Request")] for name in SERVICE_MESSAGES
    if name.endswith("Request") and "." not in name)

_SCALARS = {
    "int64": descriptor_pb2.FieldDescriptorProto.TYPE_INT64,
    "int32": descriptor_pb2.FieldDescriptorProto.TYPE_INT32,
    "string": descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
    "double": descriptor_pb2.FieldDescriptorProto.TYPE_DOUBLE,
    "bool": descriptor_pb2.FieldDescriptorProto.TYPE_BOOL,
}
_F = descriptor_pb2.FieldDescriptorProto


def _set_type(field: descriptor_pb2.FieldDescriptorProto, type_name: str) -> None:
    if type_name in _SCALARS:
        field.type = _SCALARS[type_name]
    elif type_name.startswith("google.protobuf."):
        field.type = _F.TYPE_MESSAGE
        field.type_name = "." + type_name
    else:
        field.type = _F.TYPE_ENUM if type_name in ENUMS else _F.TYPE_MESSAGE
        field.type_name = f".{PACKAGE}.{type_name}"


def _add_field(message: descriptor_pb2.DescriptorProto, full_name: str, spec: str) -> None:
    name, number, type_name, *flags = spec.split()
    field = message.field.add(name=name, number=int(number), label=_F.LABEL_OPTIONAL)
    if type_name.startswith("map<"):
        # map<string, T> is a repeated nested *Entry message marked map_entry.
        entry = message.nested_type.add(
            name="".join(part.capitalize() for part in name.split("_")) + "Entry")
        entry.options.map_entry = True
        entry.field.add(name="key", number=1, label=_F.LABEL_OPTIONAL, type=_F.TYPE_STRING)
        _set_type(entry.field.add(name="value", number=2, label=_F.LABEL_OPTIONAL),
                  type_name[4:-1])
        field.label = _F.LABEL_REPEATED
        field.type = _F.TYPE_MESSAGE
        field.type_name = f".{PACKAGE}.{full_name}.{entry.name}"
        return
    _set_type(field, type_name)
    for flag in flags:
        key, _, value = flag.partition("=")
        if key == "repeated":
            field.label = _F.LABEL_REPEATED
        elif key == "packed":
            field.options.packed = True
        elif key == "default":
            field.default_value = value
        elif key == "oneof":
            names = [decl.name for decl in message.oneof_decl]
            if value not in names:
                message.oneof_decl.add(name=value)
                names.append(value)
            field.oneof_index = names.index(value)
        else:
            raise ValueError(f"{full_name}.{name}: unknown flag {flag}")


def _file() -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto(
        name=FILE_NAME, package=PACKAGE, syntax="proto2",
        dependency=[struct_pb2.DESCRIPTOR.name])
    made: dict[str, Any] = {}

    def container(path: str) -> Any:
        """The DescriptorProto for a dotted message path (outer messages made on demand)."""
        if path in made:
            return made[path]
        outer, _, short = path.rpartition(".")
        parent = container(outer).nested_type if outer else proto.message_type
        made[path] = parent.add(name=short)
        return made[path]

    for path, fields in {**MESSAGES, **SERVICE_MESSAGES}.items():
        message = container(path)
        for spec in fields:
            _add_field(message, path, spec)
    for path, values in ENUMS.items():
        outer, _, short = path.rpartition(".")
        parent = container(outer).enum_type if outer else proto.enum_type
        enum = parent.add(name=short)
        for number, value in enumerate(values):
            enum.value.add(name=value, number=number)
    return proto


def _build_pool() -> descriptor_pool.DescriptorPool:
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(struct_pb2.DESCRIPTOR.serialized_pb)
    pool.AddSerializedFile(_file().SerializeToString())
    return pool


POOL = _build_pool()


def message_class(name: str) -> type[Message]:
    """The class of ``ml_metadata.<name>`` (``"Artifact"``, ``"Event.Path"``...)."""
    return message_factory.GetMessageClass(POOL.FindMessageTypeByName(f"{PACKAGE}.{name}"))


def new(name: str, /, **fields: Any) -> Any:
    """A new ``ml_metadata.<name>`` message (typed ``Any``: its fields are dynamic)."""
    return message_class(name)(**fields)


def request_class(method: str) -> type[Message]:
    return message_class(f"{method}Request")


def response_class(method: str) -> type[Message]:
    return message_class(f"{method}Response")


def enum_value(enum: str, name: str) -> int:
    """The number of ``name`` in enum ``enum`` (``enum_value("Event.Type", "OUTPUT") == 4``)."""
    return ENUMS[enum].index(name)


def enum_name(enum: str, number: int) -> str:
    values = ENUMS[enum]
    return values[number] if 0 <= number < len(values) else values[0]

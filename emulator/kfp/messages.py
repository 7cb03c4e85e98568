"""protojson-style parsing of request bodies and filters.

grpc-gateway decodes request JSON with protojson (``DiscardUnknown=false``): proto field names or
their lowerCamel JSON names, enums by name or number, 64-bit integers as numbers or strings,
timestamps as RFC 3339, ``null`` as unset, and any unknown field or wrong type is a 400.  The
message shapes below are the KFP API's proto messages (field names and types are facts of the
wire protocol); parsing yields plain dicts keyed by proto field names.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from emulator.clock import parse_rfc3339
from emulator.errors import GrpcCode, KfpError


class ParseError(Exception):
    pass


def bad_body(message: str) -> KfpError:
    """grpc-gateway's answer to an undecodable body: code 3 and the decoder's text, no details."""
    return KfpError(GrpcCode.INVALID_ARGUMENT, message, message, with_details=False)


@dataclass(frozen=True)
class Scalar:
    kind: str  # string | bool | int32 | int64 | double | timestamp | struct | value


@dataclass(frozen=True)
class Enum:
    name: str
    values: tuple[str, ...]
    numbers: tuple[int, ...] = ()

    def name_of(self, number: int) -> str | None:
        numbers = self.numbers or tuple(range(len(self.values)))
        return self.values[numbers.index(number)] if number in numbers else None


@dataclass(frozen=True)
class Repeated:
    item: Any


@dataclass(frozen=True)
class MapOf:
    value: Any


@dataclass(frozen=True)
class Message:
    name: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    # Fields of a oneof: at most one may be set.
    oneofs: tuple[tuple[str, ...], ...] = ()


STRING = Scalar("string")
BOOL = Scalar("bool")
INT32 = Scalar("int32")
INT64 = Scalar("int64")
DOUBLE = Scalar("double")
TIMESTAMP = Scalar("timestamp")
STRUCT = Scalar("struct")
VALUE = Scalar("value")

_INT_LIMITS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def json_name(proto_name: str) -> str:
    head, *rest = proto_name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def decode_json(raw: bytes) -> Any:
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_body(f"proto: syntax error (line 1:1): {exc}") from None


def parse_message(message: Message, data: Any, raw: str = "") -> dict[str, Any]:
    try:
        return _parse_message(message, data, raw)
    except ParseError as exc:
        raise bad_body(str(exc)) from None


def _where(raw: str, token: str) -> str:
    index = raw.find(token)
    if index < 0:
        return "(line 1:1)"
    line = raw.count("\n", 0, index) + 1
    column = index - (raw.rfind("\n", 0, index) + 1) + 1
    return f"(line {line}:{column})"


def _parse_message(message: Message, data: Any, raw: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ParseError(f"proto: {_where(raw, '')}: invalid value for {message.name}: "
                         f"expected object, got {json_type(data)}")
    by_json = {json_name(name): name for name in message.fields}
    result: dict[str, Any] = {}
    for key, value in data.items():
        proto_name = key if key in message.fields else by_json.get(key)
        if proto_name is None:
            raise ParseError(f'proto: {_where(raw, json.dumps(key))}: unknown field "{key}"')
        if proto_name in result:
            raise ParseError(f'proto: {_where(raw, json.dumps(key))}: duplicate field "{key}"')
        if value is None:
            continue
        result[proto_name] = _parse_value(message.fields[proto_name], value, raw, key)
    for group in message.oneofs:
        chosen = [name for name in group if name in result]
        if len(chosen) > 1:
            raise ParseError(f"proto: {_where(raw, json.dumps(chosen[1]))}: error parsing "
                             f'"{chosen[1]}", oneof {message.name} is already set')
    return result


def json_type(value: Any) -> str:
    """The JSON type name Go's decoders print in their errors."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _invalid(raw: str, key: str, kind: str, value: Any) -> ParseError:
    shown = json.dumps(value) if not isinstance(value, (dict, list)) else json_type(value)
    return ParseError(f"proto: {_where(raw, json.dumps(key))}: invalid value for {kind} field "
                      f"{key}: {shown}")


def _parse_value(spec: Any, value: Any, raw: str, key: str) -> Any:
    if isinstance(spec, Message):
        return _parse_message(spec, value, raw)
    if isinstance(spec, Repeated):
        if not isinstance(value, list):
            raise _invalid(raw, key, "repeated", value)
        return [_parse_value(spec.item, item, raw, key) for item in value if item is not None]
    if isinstance(spec, MapOf):
        if not isinstance(value, dict):
            raise _invalid(raw, key, "map", value)
        return {str(k): _parse_value(spec.value, v, raw, key) for k, v in value.items()}
    if isinstance(spec, Enum):
        return _parse_enum(spec, value, raw, key)
    return _parse_scalar(spec.kind, value, raw, key)


def _parse_enum(spec: Enum, value: Any, raw: str, key: str) -> str:
    if isinstance(value, str) and value in spec.values:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        name = spec.name_of(value)
        # protojson keeps unknown enum numbers; KFP then treats them as unspecified.
        return name if name is not None else spec.values[0]
    raise ParseError(f"proto: {_where(raw, json.dumps(key))}: invalid value for enum field "
                     f"{key}: {json.dumps(value)}")


def _parse_scalar(kind: str, value: Any, raw: str, key: str) -> Any:
    if kind == "string":
        if not isinstance(value, str):
            raise _invalid(raw, key, "string", value)
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise _invalid(raw, key, "bool", value)
        return value
    if kind in ("int32", "int64"):
        return _parse_int(kind, value, raw, key)
    if kind == "double":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise _invalid(raw, key, "double", value)
        try:
            number = float(value)
        except ValueError:
            raise _invalid(raw, key, "double", value) from None
        if isinstance(value, str) and not math.isfinite(number) and value not in (
                "NaN", "Infinity", "-Infinity"):
            raise _invalid(raw, key, "double", value)
        return number
    if kind == "timestamp":
        if not isinstance(value, str):
            raise _invalid(raw, key, "google.protobuf.Timestamp", value)
        try:
            return parse_rfc3339(value)
        except ValueError:
            raise _invalid(raw, key, "google.protobuf.Timestamp", value) from None
    if kind == "struct":
        if not isinstance(value, dict):
            raise _invalid(raw, key, "google.protobuf.Struct", value)
        return value
    return value  # google.protobuf.Value: any JSON


_INT_TEXT = re.compile(r"^-?\d+$")


def _parse_int(kind: str, value: Any, raw: str, key: str) -> int:
    if isinstance(value, bool):
        raise _invalid(raw, key, kind, value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and _INT_TEXT.match(value.strip()):
        value = int(value.strip())
    if not isinstance(value, int):
        raise _invalid(raw, key, kind, value)
    low, high = _INT_LIMITS[kind]
    if not low <= value <= high:
        raise _invalid(raw, key, kind, value)
    return value


# ---------------------------------------------------------------------------------------------
# KFP message shapes (request side)
# ---------------------------------------------------------------------------------------------

STATUS = Message("google.rpc.Status", {"code": INT32, "message": STRING,
                                       "details": Repeated(STRUCT)})

V2_STORAGE_STATE = Enum("StorageState", ("STORAGE_STATE_UNSPECIFIED", "AVAILABLE", "ARCHIVED"))
V2_RUNTIME_STATE = Enum("RuntimeState", (
    "RUNTIME_STATE_UNSPECIFIED", "PENDING", "RUNNING", "SUCCEEDED", "SKIPPED", "FAILED",
    "CANCELING", "CANCELED", "PAUSED"))
V2_PREDICATE_OPERATION = Enum("Operation", (
    "OPERATION_UNSPECIFIED", "EQUALS", "NOT_EQUALS", "GREATER_THAN", "GREATER_THAN_EQUALS",
    "LESS_THAN", "LESS_THAN_EQUALS", "IN", "IS_SUBSTRING"), (0, 1, 2, 3, 5, 6, 7, 8, 9))
V1_PREDICATE_OP = Enum("Op", (
    "UNKNOWN", "EQUALS", "NOT_EQUALS", "GREATER_THAN", "GREATER_THAN_EQUALS", "LESS_THAN",
    "LESS_THAN_EQUALS", "IN", "IS_SUBSTRING"), (0, 1, 2, 3, 5, 6, 7, 8, 9))

_PREDICATE_VALUES = {
    "key": STRING,
    "int_value": INT32,
    "long_value": INT64,
    "string_value": STRING,
    "timestamp_value": TIMESTAMP,
    "int_values": Message("IntValues", {"values": Repeated(INT32)}),
    "long_values": Message("LongValues", {"values": Repeated(INT64)}),
    "string_values": Message("StringValues", {"values": Repeated(STRING)}),
}
_VALUE_ONEOF = (("int_value", "long_value", "string_value", "timestamp_value", "int_values",
                 "long_values", "string_values"),)
V2_FILTER = Message("Filter", {"predicates": Repeated(Message(
    "Predicate", {"operation": V2_PREDICATE_OPERATION, **_PREDICATE_VALUES}, _VALUE_ONEOF))})
V1_FILTER = Message("Filter", {"predicates": Repeated(Message(
    "Predicate", {"op": V1_PREDICATE_OP, **_PREDICATE_VALUES}, _VALUE_ONEOF))})

URL = Message("Url", {"pipeline_url": STRING})

V2_EXPERIMENT = Message("Experiment", {
    "experiment_id": STRING, "display_name": STRING, "description": STRING,
    "created_at": TIMESTAMP, "namespace": STRING, "storage_state": V2_STORAGE_STATE,
    "last_run_created_at": TIMESTAMP,
})
V2_PIPELINE_VERSION_REFERENCE = Message("PipelineVersionReference", {
    "pipeline_id": STRING, "pipeline_version_id": STRING})
V2_RUNTIME_CONFIG = Message("RuntimeConfig", {"parameters": MapOf(VALUE),
                                              "pipeline_root": STRING})
V2_RUNTIME_STATUS = Message("RuntimeStatus", {"update_time": TIMESTAMP,
                                              "state": V2_RUNTIME_STATE, "error": STATUS})
V2_RUN = Message("Run", {
    "experiment_id": STRING, "run_id": STRING, "display_name": STRING,
    "storage_state": V2_STORAGE_STATE, "description": STRING, "pipeline_version_id": STRING,
    "pipeline_spec": STRUCT, "pipeline_version_reference": V2_PIPELINE_VERSION_REFERENCE,
    "runtime_config": V2_RUNTIME_CONFIG, "service_account": STRING, "created_at": TIMESTAMP,
    "scheduled_at": TIMESTAMP, "finished_at": TIMESTAMP, "state": V2_RUNTIME_STATE,
    "error": STATUS, "run_details": STRUCT, "recurring_run_id": STRING,
    "state_history": Repeated(V2_RUNTIME_STATUS), "plugins_input": MapOf(STRUCT),
    "plugins_output": MapOf(STRUCT),
}, (("pipeline_version_id", "pipeline_spec", "pipeline_version_reference"),))
_SCHEDULE = {"start_time": TIMESTAMP, "end_time": TIMESTAMP}
V2_TRIGGER = Message("Trigger", {
    "cron_schedule": Message("CronSchedule", {**_SCHEDULE, "cron": STRING}),
    "periodic_schedule": Message("PeriodicSchedule", {**_SCHEDULE, "interval_second": INT64}),
}, (("cron_schedule", "periodic_schedule"),))
V2_RECURRING_RUN = Message("RecurringRun", {
    "recurring_run_id": STRING, "display_name": STRING, "description": STRING,
    "pipeline_version_id": STRING, "pipeline_spec": STRUCT,
    "pipeline_version_reference": V2_PIPELINE_VERSION_REFERENCE,
    "runtime_config": V2_RUNTIME_CONFIG, "service_account": STRING, "max_concurrency": INT64,
    "trigger": V2_TRIGGER, "mode": Enum("Mode", ("MODE_UNSPECIFIED", "ENABLE", "DISABLE")),
    "created_at": TIMESTAMP, "updated_at": TIMESTAMP,
    "status": Enum("Status", ("STATUS_UNSPECIFIED", "ENABLED", "DISABLED")), "error": STATUS,
    "no_catchup": BOOL, "namespace": STRING, "experiment_id": STRING,
    "plugins_input": MapOf(STRUCT),
}, (("pipeline_version_id", "pipeline_spec", "pipeline_version_reference"),))
V2_PIPELINE = Message("Pipeline", {
    "pipeline_id": STRING, "display_name": STRING, "name": STRING, "description": STRING,
    "created_at": TIMESTAMP, "namespace": STRING, "error": STATUS, "tags": MapOf(STRING),
})
V2_PIPELINE_VERSION = Message("PipelineVersion", {
    "pipeline_id": STRING, "pipeline_version_id": STRING, "display_name": STRING, "name": STRING,
    "description": STRING, "created_at": TIMESTAMP, "package_url": URL,
    "code_source_url": STRING, "pipeline_spec": STRUCT, "error": STATUS,
    "tags": MapOf(STRING),
})
V2_CREATE_PIPELINE_AND_VERSION = Message("CreatePipelineAndVersionRequest", {
    "pipeline": V2_PIPELINE, "pipeline_version": V2_PIPELINE_VERSION})

V1_RESOURCE_TYPE = Enum("ResourceType", (
    "UNKNOWN_RESOURCE_TYPE", "EXPERIMENT", "JOB", "PIPELINE", "PIPELINE_VERSION", "NAMESPACE"))
V1_RELATIONSHIP = Enum("Relationship", ("UNKNOWN_RELATIONSHIP", "OWNER", "CREATOR"))
V1_RESOURCE_REFERENCE = Message("ResourceReference", {
    "key": Message("ResourceKey", {"type": V1_RESOURCE_TYPE, "id": STRING}),
    "name": STRING, "relationship": V1_RELATIONSHIP,
})
V1_PARAMETER = Message("Parameter", {"name": STRING, "value": STRING})
V1_PIPELINE_SPEC = Message("PipelineSpec", {
    "pipeline_id": STRING, "pipeline_name": STRING, "workflow_manifest": STRING,
    "pipeline_manifest": STRING, "parameters": Repeated(V1_PARAMETER),
    "runtime_config": Message("RuntimeConfig", {"parameters": MapOf(VALUE),
                                                "pipeline_root": STRING}),
})
V1_STORAGE_STATE = Enum("StorageState", ("STORAGESTATE_UNSPECIFIED", "STORAGESTATE_AVAILABLE",
                                         "STORAGESTATE_ARCHIVED"))
V1_RUN_STORAGE_STATE = Enum("RunStorageState", ("STORAGESTATE_AVAILABLE",
                                                "STORAGESTATE_ARCHIVED"))
V1_EXPERIMENT = Message("Experiment", {
    "id": STRING, "name": STRING, "description": STRING, "created_at": TIMESTAMP,
    "resource_references": Repeated(V1_RESOURCE_REFERENCE), "storage_state": V1_STORAGE_STATE,
})
V1_RUN_METRIC = Message("RunMetric", {
    "name": STRING, "node_id": STRING, "number_value": DOUBLE,
    "format": Enum("Format", ("UNSPECIFIED", "RAW", "PERCENTAGE")),
})
V1_RUN = Message("Run", {
    "id": STRING, "name": STRING, "storage_state": V1_RUN_STORAGE_STATE, "description": STRING,
    "pipeline_spec": V1_PIPELINE_SPEC, "resource_references": Repeated(V1_RESOURCE_REFERENCE),
    "service_account": STRING, "created_at": TIMESTAMP, "scheduled_at": TIMESTAMP,
    "finished_at": TIMESTAMP, "status": STRING, "error": STRING,
    "metrics": Repeated(V1_RUN_METRIC),
})
V1_JOB = Message("Job", {
    "id": STRING, "name": STRING, "description": STRING, "pipeline_spec": V1_PIPELINE_SPEC,
    "resource_references": Repeated(V1_RESOURCE_REFERENCE), "service_account": STRING,
    "max_concurrency": INT64,
    "trigger": Message("Trigger", {
        "cron_schedule": Message("CronSchedule", {**_SCHEDULE, "cron": STRING}),
        "periodic_schedule": Message("PeriodicSchedule", {**_SCHEDULE,
                                                          "interval_second": INT64}),
    }, (("cron_schedule", "periodic_schedule"),)),
    "mode": Enum("Mode", ("UNKNOWN_MODE", "ENABLED", "DISABLED")),
    "created_at": TIMESTAMP, "updated_at": TIMESTAMP, "status": STRING, "error": STRING,
    "enabled": BOOL, "no_catchup": BOOL,
})
V1_PIPELINE_VERSION = Message("PipelineVersion", {
    "id": STRING, "name": STRING, "created_at": TIMESTAMP, "parameters": Repeated(V1_PARAMETER),
    "code_source_url": STRING, "package_url": URL,
    "resource_references": Repeated(V1_RESOURCE_REFERENCE), "description": STRING,
})
V1_PIPELINE = Message("Pipeline", {
    "id": STRING, "created_at": TIMESTAMP, "name": STRING, "description": STRING,
    "parameters": Repeated(V1_PARAMETER), "url": URL, "error": STRING,
    "default_version": V1_PIPELINE_VERSION,
    "resource_references": Repeated(V1_RESOURCE_REFERENCE),
})
V1_REPORT_RUN_METRICS = Message("ReportRunMetricsRequest", {
    "run_id": STRING, "metrics": Repeated(V1_RUN_METRIC)})

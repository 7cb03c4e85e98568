"""List semantics of the KFP API server (spec section 6).

Page size 20 by default and clamped to 200; keyset pagination with opaque base64-JSON page tokens
that carry the sort and filter (never the namespace scope, which each request re-applies);
``sort_by`` with ``asc``/``desc``; filters of AND-ed predicates with enum names or numbers.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import unquote_plus

from emulator.errors import KfpError, invalid_input
from emulator.kfp import messages

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 200

Accessor = Callable[[Any], Any]


@dataclass(frozen=True)
class Listable:
    """How one resource type is sorted and filtered: API field name -> (column, accessor)."""

    model_name: str
    fields: dict[str, tuple[str, Accessor]]
    key_column: str = "UUID"

    def column(self, api_field: str) -> tuple[str, Accessor] | None:
        return self.fields.get(api_field)


@dataclass(frozen=True)
class Predicate:
    key: str
    operation: str
    value: Any

    def matches(self, item: Any, listable: Listable) -> bool:
        _, accessor = listable.fields[self.key]
        actual = accessor(item)
        op = self.operation
        if op == "IN":
            return any(_equal(actual, v) for v in self.value)
        if op == "IS_SUBSTRING":
            return str(self.value) in str(actual)
        if op == "EQUALS":
            return _equal(actual, self.value)
        if op == "NOT_EQUALS":
            return not _equal(actual, self.value)
        left, right = _comparable(actual, self.value)
        if op == "GREATER_THAN":
            return bool(left > right)
        if op == "GREATER_THAN_EQUALS":
            return bool(left >= right)
        if op == "LESS_THAN":
            return bool(left < right)
        return bool(left <= right)  # LESS_THAN_EQUALS


def _comparable(actual: Any, value: Any) -> tuple[Any, Any]:
    """Coerce like SQL does when a number meets a string."""
    if isinstance(actual, (int, float)) and isinstance(value, str):
        try:
            return actual, float(value)
        except ValueError:
            return actual, 0.0
    if isinstance(actual, str) and isinstance(value, (int, float)):
        try:
            return float(actual), value
        except ValueError:
            return 0.0, value
    return actual, value


def _equal(actual: Any, value: Any) -> bool:
    left, right = _comparable(actual, value)
    return bool(left == right)


@dataclass(frozen=True)
class ListQuery:
    page_size: int
    sort_field: str
    sort_column: str
    descending: bool
    predicates: tuple[Predicate, ...]
    filter_json: Any  # canonical filter, compared against a page token's
    cursor: tuple[Any, str] | None  # (sort value, id) of the first row of this page


@dataclass
class Page(Generic[T]):
    items: list[T]
    total_size: int
    next_page_token: str


_TOKEN_MISMATCH = ("page token does not match the supplied sort by and/or filtering criteria. "
                   "Either specify the same criteria or leave the latter empty if page token is "
                   "specified")


def parse_list_query(listable: Listable, *, page_token: str = "", page_size: Any = None,
                     sort_by: str = "", filter_text: str = "", api_version: str = "v2beta1",
                     default_sort: str = "created_at") -> ListQuery:
    size = _page_size(page_size)
    predicates, filter_json = parse_filter(listable, filter_text, api_version)
    if page_token:
        token = _decode_token(page_token, listable)
        token_filter = token.get("Filter")
        if sort_by and _sort_spec(listable, sort_by)[1:] != (token["SortBySQLColumn"],
                                                             bool(token["IsDesc"])):
            raise invalid_input(_TOKEN_MISMATCH)
        if filter_text and filter_json != token_filter:
            raise invalid_input(_TOKEN_MISMATCH)
        token_predicates, _ = parse_filter(
            listable, json.dumps(token_filter) if token_filter else "", "token")
        return ListQuery(
            page_size=size,
            sort_field=token["SortByFieldName"],
            sort_column=token["SortBySQLColumn"],
            descending=bool(token["IsDesc"]),
            predicates=token_predicates,
            filter_json=token_filter,
            cursor=(token["SortByFieldValue"], token["KeyFieldValue"]),
        )
    field_name, column, descending = _sort_spec(listable, sort_by or default_sort)
    return ListQuery(size, field_name, column, descending, predicates, filter_json, None)


def _page_size(raw: Any) -> int:
    if raw in (None, ""):
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except (TypeError, ValueError):
        raise messages.bad_body(
            f'parsing field "page_size": strconv.ParseInt: parsing {json.dumps(str(raw))}: '
            "invalid syntax") from None
    if not -(2**31) <= size < 2**31:
        raise messages.bad_body(
            f'parsing field "page_size": strconv.ParseInt: parsing {json.dumps(str(raw))}: '
            "value out of range")
    if size < 0:
        raise invalid_input(f"The page size should be greater than 0. Got {size}")
    if size == 0:
        return DEFAULT_PAGE_SIZE
    return min(size, MAX_PAGE_SIZE)


def _sort_spec(listable: Listable, sort_by: str) -> tuple[str, str, bool]:
    parts = sort_by.split()
    if not parts or len(parts) > 2 or (len(parts) == 2 and parts[1].lower() not in ("asc",
                                                                                    "desc")):
        raise invalid_input(
            f'Received invalid sort by format "{sort_by}". Supported format: "field_name", '
            '"field_name desc", or "field_name asc"')
    column = listable.column(parts[0])
    if column is None:
        raise invalid_input(
            f'Invalid sorting field: "{parts[0]}" on listable type {listable.model_name}')
    return parts[0], column[0], len(parts) == 2 and parts[1].lower() == "desc"


def parse_filter(listable: Listable, text: str,
                 api_version: str) -> tuple[tuple[Predicate, ...], Any]:
    """Parse a ``filter`` query value; returns the predicates and a canonical JSON form."""
    if not text:
        return (), None
    if api_version == "token":
        decoded = json.loads(text)
        return tuple(Predicate(p["key"], p["operation"], p["value"])
                     for p in decoded["predicates"]), decoded
    # The server unescapes the already-decoded value once more (so "+" becomes a space).
    try:
        unescaped = unquote_plus(text, errors="strict")
    except UnicodeDecodeError:
        unescaped = text
    message = messages.V1_FILTER if api_version == "v1beta1" else messages.V2_FILTER
    op_field = "op" if api_version == "v1beta1" else "operation"
    try:
        data = json.loads(unescaped)
        parsed = messages.parse_message(message, data, unescaped)
    except (ValueError, KfpError) as exc:
        detail = exc.external if isinstance(exc, KfpError) else str(exc)
        raise invalid_input(f"failed to parse valid filter from {json.dumps(text)}: {detail}",
                            None) from None
    predicates = []
    for raw in parsed.get("predicates", []):
        predicates.append(_predicate(listable, raw, raw.get(op_field, "OPERATION_UNSPECIFIED")))
    canonical = {"predicates": [{"key": p.key, "operation": p.operation, "value": p.value}
                                for p in predicates]}
    return tuple(predicates), canonical


def _predicate(listable: Listable, raw: dict[str, Any], operation: str) -> Predicate:
    key = raw.get("key", "")
    if not key:
        raise invalid_input("Predicate key cannot be empty. Please specify a key for the "
                            "predicate")
    if operation in ("OPERATION_UNSPECIFIED", "UNKNOWN"):
        raise invalid_input(f"invalid predicate operation: {operation}")
    scalars = [k for k in ("int_value", "long_value", "string_value", "timestamp_value")
               if k in raw]
    arrays = [k for k in ("int_values", "long_values", "string_values") if k in raw]
    if operation == "IN":
        if not arrays:
            kind = scalars[0] if scalars else "nil"
            raise invalid_input(f"cannot use IN operator with scalar type {kind}")
        value: Any = list(raw[arrays[0]].get("values", []))
    else:
        if arrays:
            raise invalid_input(f"cannot use scalar operator {operation} on array type "
                                f"{arrays[0]}")
        if not scalars:
            raise invalid_input(f"filter predicate on {key!r} has no value")
        value = raw[scalars[0]]
        if scalars[0] == "timestamp_value":
            value = int(value)
        if operation == "IS_SUBSTRING" and scalars[0] != "string_value":
            raise invalid_input(f"cannot use IS_SUBSTRING operator with non-string type "
                                f"{scalars[0]}")
    if listable.column(key) is None and not key.startswith("tags."):
        raise invalid_input(f'no support for filtering on unrecognized field "{key}"')
    return Predicate(key, operation, value)


def _encode_token(token: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(token, separators=(",", ":")).encode()).decode()


def _decode_token(text: str, listable: Listable) -> dict[str, Any]:
    try:
        token = json.loads(base64.b64decode(text.encode(), validate=True))
        needed = ("SortByFieldName", "SortBySQLColumn", "SortByFieldValue", "KeyFieldValue",
                  "IsDesc", "ModelName")
        if not isinstance(token, dict) or any(k not in token for k in needed):
            raise ValueError("missing fields")
        if token["ModelName"] != listable.model_name:
            raise ValueError("token of another listable type")
        if listable.column(token["SortByFieldName"]) is None:
            raise ValueError("unknown sort field")
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise invalid_input("Invalid page token", str(exc)) from None
    return token


def paginate(query: ListQuery, listable: Listable, candidates: Iterable[T],
             key_of: Callable[[T], str]) -> Page[T]:
    """Filter, count, sort and cut one page; tie-break on the primary key like the SQL store."""
    _, accessor = listable.fields[query.sort_field]
    rows = [item for item in candidates
            if all(_predicate_matches(p, item, listable) for p in query.predicates)]
    total = len(rows)
    rows.sort(key=lambda item: (_sortable(accessor(item)), key_of(item)),
              reverse=query.descending)
    if query.cursor is not None:
        cursor = (_sortable(query.cursor[0]), query.cursor[1])
        if query.descending:
            rows = [r for r in rows if (_sortable(accessor(r)), key_of(r)) <= cursor]
        else:
            rows = [r for r in rows if (_sortable(accessor(r)), key_of(r)) >= cursor]
    page = rows[:query.page_size]
    next_token = ""
    if len(rows) > query.page_size:
        following = rows[query.page_size]
        next_token = _encode_token({
            "SortByFieldName": query.sort_field,
            "SortBySQLColumn": query.sort_column,
            "SortByFieldValue": accessor(following),
            "SortByFieldPrefix": f"{listable.model_name.lower()}s.",
            "KeyFieldName": listable.key_column,
            "KeyFieldValue": key_of(following),
            "KeyFieldPrefix": f"{listable.model_name.lower()}s.",
            "IsDesc": query.descending,
            "ModelName": listable.model_name,
            "Filter": query.filter_json,
        })
    return Page(page, total, next_token)


def _predicate_matches(predicate: Predicate, item: Any, listable: Listable) -> bool:
    if predicate.key.startswith("tags."):
        tags = getattr(item, "tags", {})
        return predicate.operation == "EQUALS" and tags.get(predicate.key[5:]) == predicate.value
    return predicate.matches(item, listable)


def _sortable(value: Any) -> tuple[int, Any]:
    """Order numbers before strings so mixed columns never raise."""
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, (int, float)):
        return (0, value)
    return (1, str(value))

"""List semantics of the KFP API server (spec section 6).

Page size 20 by default and clamped to 200; keyset pagination with opaque base64-JSON page tokens
that carry the sort and filter (never the namespace scope, which each request re-applies);
``sort_by`` with ``asc``/``desc``; filters of AND-ed predicates with enum names or numbers.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import heapq
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Generic, TypeVar

from emulator.errors import GrpcCode, KfpError, invalid_input
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
    # Fields that never change after creation: a store may keep its buckets sorted by them.
    immutable: frozenset[str] = frozenset()

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
    """``validatedListOptions``: the checks run in the real server's order.

    Without a token: filter (decode, predicates), page size, sort_by, filter keys.  With a token:
    page size, token; then, if ``sort_by`` or ``filter`` is also sent, the options they describe
    (an absent one meaning the default) must equal the token's (``Options.Matches``).
    """
    raw_size = _parse_page_size(page_size)
    if not page_token:
        return _fresh_query(listable, raw_size, sort_by or default_sort, filter_text,
                            api_version)
    size = _page_size_value(raw_size)
    token = _decode_token(page_token, listable)
    token_filter = token.get("Filter") or None
    if sort_by or filter_text:
        fresh = _fresh_query(listable, raw_size, sort_by or default_sort, filter_text,
                             api_version)
        if (fresh.sort_column, fresh.descending, fresh.filter_json) != (
                token["SortBySQLColumn"], bool(token["IsDesc"]), token_filter):
            raise invalid_input(_TOKEN_MISMATCH)
    return ListQuery(
        page_size=size,
        sort_field=token["SortByFieldName"],
        sort_column=token["SortBySQLColumn"],
        descending=bool(token["IsDesc"]),
        predicates=_predicates_from_canonical(listable, token_filter),
        filter_json=token_filter,
        cursor=(token["SortByFieldValue"], token["KeyFieldValue"]),
    )


def _fresh_query(listable: Listable, raw_size: int, sort_by: str, filter_text: str,
                 api_version: str) -> ListQuery:
    predicates = parse_filter_predicates(filter_text, api_version)
    size = _page_size_value(raw_size)
    field_name, column, descending = _sort_spec(listable, sort_by)
    for predicate in predicates:
        if listable.column(predicate.key) is None and not predicate.key.startswith("tags."):
            raise invalid_input(f'no support for filtering on unrecognized field '
                                f'"{predicate.key}"')
    return ListQuery(size, field_name, column, descending, predicates,
                     _canonical(listable, predicates), None)


def _parse_page_size(raw: Any) -> int:
    """grpc-gateway's int32 query parameter decoding (before any KFP check)."""
    if raw in (None, ""):
        return 0
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
    return size


def _page_size_value(size: int) -> int:
    if size < 0:
        raise invalid_input(f"The page size should be greater than 0. Got {size}")
    if size == 0:
        return DEFAULT_PAGE_SIZE
    return min(size, MAX_PAGE_SIZE)


def _sort_spec(listable: Listable, sort_by: str) -> tuple[str, str, bool]:
    """``NewOptions``: sort_by is lower-cased, then split on whitespace."""
    parts = sort_by.lower().split()
    if not parts or len(parts) > 2 or (len(parts) == 2 and parts[1] not in ("asc", "desc")):
        raise invalid_input(
            f'Received invalid sort by format {_go_quote(sort_by)}. Supported format: '
            '"field_name", "field_name desc", or "field_name asc"')
    column = listable.column(parts[0])
    if column is None:
        raise invalid_input(
            f'Invalid sorting field: {_go_quote(parts[0])} on listable type '
            f'{listable.model_name}')
    return parts[0], column[0], len(parts) == 2 and parts[1] == "desc"


def _go_quote(text: str) -> str:
    """Go's ``%q`` for the strings these messages quote."""
    return json.dumps(text, ensure_ascii=False)


def _go_query_unescape(text: str) -> str:
    """``url.QueryUnescape``: ``+`` is a space and every ``%`` needs two hex digits."""
    out = bytearray()
    index = 0
    while index < len(text):
        char = text[index]
        if char == "%":
            pair = text[index + 1:index + 3]
            if len(pair) < 2 or any(c not in "0123456789abcdefABCDEF" for c in pair):
                raise ValueError(f"invalid URL escape {_go_quote(text[index:index + 3])}")
            out.append(int(pair, 16))
            index += 3
            continue
        out.extend(b" " if char == "+" else char.encode())
        index += 1
    return out.decode("utf-8", errors="replace")


def parse_filter_predicates(text: str, api_version: str) -> tuple[Predicate, ...]:
    """``parseAPIFilter`` + ``filter.New``: decode, convert and check every predicate.

    Keys are not checked here; the real server rejects unknown keys later (``ReplaceKeys``).
    """
    if not text:
        return ()
    message = messages.V1_FILTER if api_version == "v1beta1" else messages.V2_FILTER
    op_field = "op" if api_version == "v1beta1" else "operation"
    op_type = "go_client.Predicate_Op" if api_version == "v1beta1" else \
        "go_client.Predicate_Operation"
    try:
        # The server unescapes the already-decoded value once more (so "+" becomes a space).
        unescaped = _go_query_unescape(text)
        data = json.loads(unescaped)
        parsed = messages.parse_message(message, data, unescaped)
    except (ValueError, KfpError) as exc:
        detail = exc.external if isinstance(exc, KfpError) else str(exc)
        raise invalid_input(f"failed to parse valid filter from {_go_quote(text)}: {detail}",
                            None) from None
    converted = [_predicate(raw, raw.get(op_field, "OPERATION_UNSPECIFIED"), op_type)
                 for raw in parsed.get("predicates", [])]
    for predicate, go_type in converted:
        _check_predicate(predicate, go_type)
    return tuple(predicate for predicate, _ in converted)


_SCALAR_TYPES = {"int_value": "int32", "long_value": "int64", "string_value": "string",
                 "timestamp_value": "int64"}
_ARRAY_TYPES = {"int_values": "[]int32", "long_values": "[]int64", "string_values": "[]string"}


def _unknown_api_version(what: str, go_type: str) -> KfpError:
    message = f"Error using {what} with {go_type}"
    return KfpError(GrpcCode.INVALID_ARGUMENT, message, f"UnknownApiVersionError: {message}")


def _go_value(value: Any) -> str:
    """Go's ``%v`` of a predicate value."""
    if isinstance(value, list):
        return "[" + " ".join(_go_value(v) for v in value) + "]"
    return str(value)


def _predicate(raw: dict[str, Any], operation: str, op_type: str) -> tuple[Predicate, str]:
    """``toPredicate``: operation, then value, then key; returns the value's Go type too."""
    if operation in ("OPERATION_UNSPECIFIED", "UNKNOWN"):
        raise _unknown_api_version("Filter.Predicate.Operation", op_type)
    kind = next((k for k in (*_SCALAR_TYPES, *_ARRAY_TYPES) if k in raw), None)
    if kind is None:
        raise _unknown_api_version("Filter.Predicate.Value", "<nil>")
    value: Any = raw[kind]
    if kind in _ARRAY_TYPES:
        value = list(value.get("values", []))
    elif kind == "timestamp_value":
        value = int(value)
    key = raw.get("key", "")
    if not key:
        raise invalid_input(f"Predicate key cannot be empty for operation {operation} and "
                            f"value {_go_value(value)}")
    return Predicate(key, operation, value), _SCALAR_TYPES.get(kind) or _ARRAY_TYPES[kind]


def _check_predicate(predicate: Predicate, go_type: str) -> None:
    """``checkPredicate``, including its swapped format arguments for IS_SUBSTRING."""
    is_array = go_type.startswith("[]")
    if predicate.operation == "IN":
        if not is_array:
            raise invalid_input(f"cannot use IN operator with scalar type {go_type}")
    elif predicate.operation == "IS_SUBSTRING":
        if go_type != "string":
            raise invalid_input(f"cannot use non string value type string with operator "
                                f"{_go_value(predicate.value)}")
    elif is_array:
        raise invalid_input(f"cannot use scalar operator {predicate.operation} on array type "
                            f"{go_type}")


_OP_KEYS = {"EQUALS": "EQ", "NOT_EQUALS": "NEQ", "GREATER_THAN": "GT",
            "GREATER_THAN_EQUALS": "GTE", "LESS_THAN": "LT", "LESS_THAN_EQUALS": "LTE",
            "IN": "IN", "IS_SUBSTRING": "SUBSTRING"}


def _canonical(listable: Listable, predicates: tuple[Predicate, ...]) -> Any:
    """The filter as the server keeps it in a token: per operation, model column -> values.

    Like the real ``filter.Filter``, predicate order across keys does not matter and API
    aliases of one column (``name``/``display_name``) are the same filter.
    """
    if not predicates:
        return None
    canonical: dict[str, dict[str, list[Any]]] = {op: {} for op in _OP_KEYS.values()}
    for predicate in predicates:
        column = listable.column(predicate.key)
        key = column[0] if column is not None else predicate.key
        canonical[_OP_KEYS[predicate.operation]].setdefault(key, []).append(predicate.value)
    return canonical


def _check_canonical(canonical: Any) -> None:
    if canonical is None:
        return
    if not isinstance(canonical, dict) or set(canonical) - set(_OP_KEYS.values()):
        raise ValueError("malformed filter")
    for op_key, columns in canonical.items():
        if columns is None:
            continue
        if not isinstance(columns, dict) or not all(
                isinstance(k, str) and isinstance(v, list) for k, v in columns.items()):
            raise ValueError("malformed filter")
        if op_key == "IN" and not all(isinstance(x, list) for v in columns.values() for x in v):
            raise ValueError("malformed filter")


def _predicates_from_canonical(listable: Listable, canonical: Any) -> tuple[Predicate, ...]:
    if not canonical:
        return ()
    by_column = {column: name for name, (column, _) in reversed(listable.fields.items())}
    predicates = []
    for operation, op_key in _OP_KEYS.items():
        for key, values in (canonical.get(op_key) or {}).items():
            api_key = by_column.get(key, key)
            predicates += [Predicate(api_key, operation, value) for value in values]
    return tuple(predicates)


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
        _check_canonical(token.get("Filter"))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise invalid_input("Invalid page token", str(exc)) from None
    return token


# (sort field, row key function) -> the scope's (keys, rows) in ascending key order.
OrderedScope = Callable[[str, Callable[[Any], Any]], tuple[list[Any], list[Any]]]


def paginate(query: ListQuery, listable: Listable, candidates: Iterable[T],
             key_of: Callable[[T], str], ordered: OrderedScope | None = None) -> Page[T]:
    """Filter, count, sort and cut one page; tie-break on the primary key like the SQL store.

    ``ordered`` (from the store) serves an unfiltered list sorted by an immutable field from a
    kept sort order, so a page costs a binary search instead of a sort of the whole scope.
    """
    _, accessor = listable.fields[query.sort_field]
    predicates = query.predicates
    if ordered is not None and not predicates and query.sort_field in listable.immutable:
        keys, items = ordered(query.sort_field,
                              lambda item: (_sortable(accessor(item)), key_of(item)))
        return _page_from_order(query, listable, accessor, key_of, keys, items)
    if predicates:
        candidates = [item for item in candidates
                      if all(_predicate_matches(p, item, listable) for p in predicates)]
    # Each row's sort key, computed once: (sort value, primary key) is unique per row.
    keyed = [((_sortable(accessor(item)), key_of(item)), item) for item in candidates]
    total = len(keyed)
    if query.cursor is not None:
        cursor = (_sortable(query.cursor[0]), query.cursor[1])
        if query.descending:
            keyed = [row for row in keyed if row[0] <= cursor]
        else:
            keyed = [row for row in keyed if row[0] >= cursor]
    # Only this page and the row after it need ordering (same as sorting all, then cutting).
    pick = heapq.nlargest if query.descending else heapq.nsmallest
    rows = [item for _, item in pick(query.page_size + 1, keyed, key=itemgetter(0))]
    return _cut(query, listable, accessor, key_of, rows, total)


def _page_from_order(query: ListQuery, listable: Listable, accessor: Accessor,
                     key_of: Callable[[T], str], keys: list[Any], items: list[T]) -> Page[T]:
    size = query.page_size + 1
    if not query.descending:
        start = 0 if query.cursor is None else bisect.bisect_left(
            keys, (_sortable(query.cursor[0]), query.cursor[1]))
        rows = items[start:start + size]
    else:
        end = len(items) if query.cursor is None else bisect.bisect_right(
            keys, (_sortable(query.cursor[0]), query.cursor[1]))
        rows = items[max(end - size, 0):end][::-1]
    return _cut(query, listable, accessor, key_of, rows, len(items))


def _cut(query: ListQuery, listable: Listable, accessor: Accessor, key_of: Callable[[T], str],
         rows: list[T], total: int) -> Page[T]:
    """The page, and the token naming the row after it (if any)."""
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
    kind = type(value)
    if kind is int or kind is float or kind is str:  # the common cases, checked cheaply
        return (1, value) if kind is str else (0, value)
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, (int, float)):
        return (0, value)
    return (1, str(value))

"""ListOperationOptions: MLMD's paging of list reads (GetArtifacts, GetContextsByType...).

Without options a list read answers everything.  With options it answers at most
``max_result_size`` (1..100; above 100 is cut to 100, 0 or less is refused) nodes ordered by
id, create time or update time, and a ``next_page_token`` while more remain.  The token is
ours (opaque to clients, as MLMD's is): the sort key and id of the last node served, so a page
boundary holds when nodes are added meanwhile.  ``filter_query`` is not emulated: refused as
UNIMPLEMENTED rather than silently ignored.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from emulator.mlmd.models import Node
from emulator.mlmd.status import GrpcStatus, MlmdError, invalid

MAX_RESULT_SIZE = 100
ORDER_FIELDS = ("FIELD_UNSPECIFIED", "CREATE_TIME", "LAST_UPDATE_TIME", "ID")

N = TypeVar("N", bound=Node)


@dataclass(frozen=True)
class ListOptions:
    max_result_size: int = 20
    order_field: str = "ID"
    ascending: bool = True
    page_token: str = ""
    filter_query: str = ""


def options_from_message(message: Any) -> ListOptions:
    field_number = message.order_by_field.field
    return ListOptions(
        max_result_size=message.max_result_size,
        order_field=ORDER_FIELDS[field_number] if 0 <= field_number < 4 else "ID",
        ascending=message.order_by_field.is_asc,
        page_token=message.next_page_token, filter_query=message.filter_query)


def _sort_key(node: Node, order_field: str) -> int:
    if order_field == "CREATE_TIME":
        return node.create_time_ms
    if order_field == "LAST_UPDATE_TIME":
        return node.update_time_ms
    return node.id


def _encode_token(key: int, last_id: int, options: ListOptions) -> str:
    raw = json.dumps([key, last_id, options.order_field, options.ascending]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str, options: ListOptions) -> tuple[int, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        key, last_id, order_field, ascending = json.loads(raw)
        if (order_field, ascending) != (options.order_field, options.ascending):
            raise invalid("List options are different from the ones used to create the "
                          "next page token.")
        return int(key), int(last_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise invalid("Failed to parse decoded next page token into "
                      "ListOperationNextPageToken proto message ") from exc


def paginate(nodes: Sequence[N], options: ListOptions | None) -> tuple[list[N], str]:
    """One page of ``nodes`` and the token of the next ("" on the last page)."""
    if options is None:
        return sorted(nodes, key=lambda n: n.id), ""
    if options.filter_query:
        raise MlmdError(GrpcStatus.UNIMPLEMENTED,
                        "filter_query is not supported by the emulator's metadata store")
    if options.max_result_size <= 0:
        raise invalid("max_result_size field value is required to be greater than 0 and less "
                      f"than or equal to 100. Set value:{options.max_result_size}")
    size = min(options.max_result_size, MAX_RESULT_SIZE)
    ordered = sorted(nodes, key=lambda n: (_sort_key(n, options.order_field), n.id),
                     reverse=not options.ascending)
    if options.page_token:
        after = _decode_token(options.page_token, options)
        ordered = [n for n in ordered
                   if ((_sort_key(n, options.order_field), n.id) > after) == options.ascending
                   and (_sort_key(n, options.order_field), n.id) != after]
    page = ordered[:size]
    if len(ordered) <= size:
        return page, ""
    last = page[-1]
    return page, _encode_token(_sort_key(last, options.order_field), last.id, options)

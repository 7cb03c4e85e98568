"""JSON encoding with a memo for the objects lists return over and over.

Encoding a page of runs dominated list latency.  A run's JSON only changes when its state does,
so each encoding is memoized against a fingerprint of the run's mutable fields and reused until
that fingerprint changes; a page is then assembled from the memoized bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar

from emulator.kfp.listing import Page

T = TypeVar("T")

ENCODER = json.JSONEncoder(separators=(",", ":"))


class RawJSON:
    """A body that is already JSON text: sent as is."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


def encode(body: Any) -> bytes:
    return body.data if isinstance(body, RawJSON) else ENCODER.encode(body).encode("utf-8")


class EncodedMemo(Generic[T]):
    """``id -> (fingerprint, JSON bytes)`` for one wire rendering of one resource type.

    Bounded: the oldest entries go first, so memory stays flat however many objects exist (the
    hot set of a list-heavy workload is a few pages per tenant; an evicted hot entry is simply
    encoded again).
    """

    def __init__(self, render: Callable[[T], dict[str, Any]],
                 fingerprint: Callable[[T], Hashable], key: Callable[[T], str],
                 generation: Callable[[], int], max_entries: int = 8192) -> None:
        self._render = render
        self._fingerprint = fingerprint
        self._key = key
        self._generation = generation
        self._seen_generation = generation()
        self._max_entries = max_entries
        self._entries: dict[str, tuple[Hashable, bytes]] = {}

    def __call__(self, obj: T, remember: bool = True) -> bytes:
        """The object's JSON; ``remember=False`` uses a memoized encoding but adds none (single
        reads are one-offs, and must not push out the pages that lists serve again and again).
        """
        if self._generation() != self._seen_generation:
            self._entries.clear()
            self._seen_generation = self._generation()
        key = self._key(obj)
        fingerprint = self._fingerprint(obj)
        entry = self._entries.get(key)
        if entry is not None and entry[0] == fingerprint:
            return entry[1]
        data = ENCODER.encode(self._render(obj)).encode("utf-8")
        if not remember:
            return data
        self._entries.pop(key, None)
        self._entries[key] = (fingerprint, data)
        if len(self._entries) > self._max_entries:
            del self._entries[next(iter(self._entries))]
        return data

    def clear(self) -> None:
        self._entries.clear()


class PageMemo:
    """Whole encoded pages by a key that changes whenever anything on them could.

    Bounded by bytes (pages may hold 200 runs with inline specs): oldest pages go first.
    """

    def __init__(self, max_bytes: int = 64 << 20) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: dict[Hashable, RawJSON] = {}

    def get(self, key: Hashable, build: Callable[[], RawJSON]) -> RawJSON:
        hit = self._entries.get(key)
        if hit is not None:
            return hit
        page = build()
        if len(page.data) <= self._max_bytes:
            self._entries[key] = page
            self._bytes += len(page.data)
            while self._bytes > self._max_bytes:
                oldest = next(iter(self._entries))
                self._bytes -= len(self._entries.pop(oldest).data)
        return page


def page_json(items_key: str, page: Page[T], encode_item: Callable[[T], bytes]) -> RawJSON:
    """A list response with zero values omitted (an empty page is ``{}``)."""
    parts: list[bytes] = []
    if page.items:
        items: Iterable[bytes] = (encode_item(item) for item in page.items)
        parts.append(b'"' + items_key.encode() + b'":[' + b",".join(items) + b"]")
    if page.total_size:
        parts.append(b'"total_size":%d' % page.total_size)
    if page.next_page_token:
        parts.append(b'"next_page_token":' + ENCODER.encode(page.next_page_token).encode())
    return RawJSON(b"{" + b",".join(parts) + b"}")

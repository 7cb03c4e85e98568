"""Tenant-keyed storage: every object lives in its namespace's bucket.

Listing a namespace touches only that namespace's bucket, and listing by experiment touches only
that experiment's objects; a global id index serves by-ID lookups.  Isolation is a property of
the layout, not a filter applied after scanning everyone's data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, Protocol, TypeVar

MAX_KEPT_ORDERS = 8192


class Stored(Protocol):
    id: str
    namespace: str


T = TypeVar("T", bound=Stored)


class NamespacedStore(Generic[T]):
    def __init__(self, group_of: Callable[[T], str] | None = None) -> None:
        self._by_id: dict[str, T] = {}
        self._by_namespace: dict[str, dict[str, T]] = {}
        # Optional secondary grouping (e.g. runs by experiment id).
        self._group_of = group_of
        self._by_group: dict[str, dict[str, T]] = {}
        # Kept sort orders of buckets: (bucket, field) -> (bucket revision, keys, items).
        self._revisions: dict[tuple[str, str], int] = {}
        # Bumped on every add and remove, in any bucket.
        self.revision = 0
        self._orders: dict[tuple[tuple[str, str], str], tuple[int, list[Any], list[T]]] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._by_id.values()))

    def _touch(self, obj: T) -> None:
        self.revision += 1
        for bucket in self._buckets_of(obj):
            self._revisions[bucket] = self._revisions.get(bucket, 0) + 1

    def _buckets_of(self, obj: T) -> list[tuple[str, str]]:
        buckets = [("namespace", obj.namespace)]
        if self._group_of is not None:
            buckets.append(("group", self._group_of(obj)))
        return buckets

    def add(self, obj: T) -> None:
        self._by_id[obj.id] = obj
        self._by_namespace.setdefault(obj.namespace, {})[obj.id] = obj
        if self._group_of is not None:
            self._by_group.setdefault(self._group_of(obj), {})[obj.id] = obj
        self._touch(obj)

    def get(self, obj_id: str) -> T | None:
        return self._by_id.get(obj_id)

    def remove(self, obj_id: str) -> T | None:
        obj = self._by_id.pop(obj_id, None)
        if obj is None:
            return None
        self._touch(obj)
        bucket = self._by_namespace.get(obj.namespace, {})
        bucket.pop(obj_id, None)
        if not bucket:
            self._by_namespace.pop(obj.namespace, None)
        if self._group_of is not None:
            group = self._by_group.get(self._group_of(obj), {})
            group.pop(obj_id, None)
            if not group:
                self._by_group.pop(self._group_of(obj), None)
        return obj

    def in_namespace(self, namespace: str) -> Iterable[T]:
        return self._by_namespace.get(namespace, {}).values()

    def in_group(self, group: str) -> Iterable[T]:
        return self._by_group.get(group, {}).values()

    def ordered(self, *, namespace: str | None = None,
                group: str | None = None) -> Callable[[str, Callable[[T], Any]],
                                                       tuple[list[Any], list[T]]]:
        """A kept sort order of one bucket, rebuilt only after the bucket changed.

        Only valid for keys of fields that never change (the caller's promise)."""
        bucket = ("group", group) if group is not None else ("namespace", namespace or "")

        def view(field: str, key: Callable[[T], Any]) -> tuple[list[Any], list[T]]:
            revision = self._revisions.get(bucket, 0)
            cached = self._orders.get((bucket, field))
            if cached is not None and cached[0] == revision:
                return cached[1], cached[2]
            items = self.in_group(bucket[1]) if bucket[0] == "group" else \
                self.in_namespace(bucket[1])
            pairs = sorted(((key(item), item) for item in items), key=lambda pair: pair[0])
            keys, ordered_items = [k for k, _ in pairs], [i for _, i in pairs]
            if len(self._orders) > MAX_KEPT_ORDERS:
                self._orders.clear()
            self._orders[(bucket, field)] = (revision, keys, ordered_items)
            return keys, ordered_items
        return view

    def namespaces(self) -> list[str]:
        return list(self._by_namespace)

    def clear(self) -> None:
        self._by_id.clear()
        self._by_namespace.clear()
        self._by_group.clear()
        self._orders.clear()
        # Revisions keep counting: an order cached before the clear can never match again.
        self.revision += 1
        for bucket in self._revisions:
            self._revisions[bucket] += 1

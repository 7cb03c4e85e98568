"""Tenant-keyed storage: every object lives in its namespace's bucket.

Listing a namespace touches only that namespace's bucket, and listing by experiment touches only
that experiment's objects; a global id index serves by-ID lookups.  Isolation is a property of
the layout, not a filter applied after scanning everyone's data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Generic, Protocol, TypeVar


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

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._by_id.values()))

    def add(self, obj: T) -> None:
        self._by_id[obj.id] = obj
        self._by_namespace.setdefault(obj.namespace, {})[obj.id] = obj
        if self._group_of is not None:
            self._by_group.setdefault(self._group_of(obj), {})[obj.id] = obj

    def get(self, obj_id: str) -> T | None:
        return self._by_id.get(obj_id)

    def remove(self, obj_id: str) -> T | None:
        obj = self._by_id.pop(obj_id, None)
        if obj is None:
            return None
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

    def namespaces(self) -> list[str]:
        return list(self._by_namespace)

    def clear(self) -> None:
        self._by_id.clear()
        self._by_namespace.clear()
        self._by_group.clear()

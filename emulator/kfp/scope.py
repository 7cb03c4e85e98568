"""Where runs and recurring runs live: the namespace of their parent experiment.

Both are listed by experiment (that experiment's namespace wins over any ``namespace``
parameter) or by namespace, and both fall back to the experiment when their own stored
namespace is empty.  One place for that rule, used by both services.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from emulator.errors import not_found
from emulator.kfp.listing import OrderedScope
from emulator.kfp.state import KfpState
from emulator.kfp.store import NamespacedStore, Stored

T = TypeVar("T", bound=Stored)


def list_namespace(state: KfpState, experiment_id: str, namespace: str) -> str:
    """The namespace a list is authorized in: the experiment's if one is given (404 if gone)."""
    if experiment_id:
        experiment = state.experiments.get(experiment_id)
        if experiment is None:
            raise not_found("Experiment", experiment_id)
        return experiment.namespace
    return state.storage_namespace(namespace)


def list_candidates(state: KfpState, store: NamespacedStore[T], experiment_id: str,
                    namespace: str) -> tuple[Iterable[T], OrderedScope | None]:
    """Only the experiment's or the namespace's bucket is touched (single-user: everything),
    with the store's kept sort order of that bucket."""
    if experiment_id:
        return store.in_group(experiment_id), store.ordered(group=experiment_id)
    if state.config.multiuser:
        return store.in_namespace(namespace), store.ordered(namespace=namespace)
    return store, None


def owner_namespace(state: KfpState, namespace: str, experiment_id: str) -> str | None:
    """A stored namespace, else the parent experiment's; None when that experiment is gone."""
    if namespace and namespace != "-":
        return namespace
    experiment = state.experiments.get(experiment_id)
    return experiment.namespace if experiment is not None else None

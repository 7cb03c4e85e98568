"""``meta.k8s.io/v1`` Table responses, the server-side printing ``kubectl get`` asks for.

Columns follow kube-apiserver's printers for the built-in kinds (``pkg/printers/internalversion``)
and the default ``Name``/``Age`` of a custom resource without printer columns (Profiles).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulator.clock import rfc3339
from emulator.kube.manifests import Model

Column = tuple[str, str, str, int]  # name, type, format, priority
_NAME: Column = ("Name", "string", "name", 0)
_AGE: Column = ("Age", "date", "", 0)
_CREATED: Column = ("Created At", "date", "", 0)

_DESCRIPTIONS = {
    "Name": "Name must be unique within a namespace. Is required when creating resources, "
            "although some resources may allow a client to request the generation of an "
            "appropriate name automatically.",
    "Age": "CreationTimestamp is a timestamp representing the server time when this object was "
           "created.",
}


def wants_table(accept: str) -> bool:
    """kubectl asks ``application/json;as=Table;v=v1;g=meta.k8s.io, ...``."""
    for part in accept.split(","):
        params = {p.strip().lower() for p in part.split(";")[1:]}
        if "as=table" in params and "g=meta.k8s.io" in params:
            return True
    return False


def human_duration(seconds: float) -> str:
    """apimachinery's ``duration.HumanDuration``."""
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        rest = whole % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        rest = (hours // 24) % 365
        return f"{hours // 24 // 365}y{rest}d" if rest else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def _binding_cells(obj: Any, age: str) -> list[Any]:
    def names(kind: str) -> str:
        return ", ".join(
            (f"{s.namespace}/{s.name}" if kind == "ServiceAccount" else s.name)
            for s in obj.subjects if s.kind == kind)
    return [obj.name, f"{obj.role_ref.kind}/{obj.role_ref.name}", age, names("User"),
            names("Group"), names("ServiceAccount")]


_BINDING_COLUMNS = [_NAME, ("Role", "string", "", 0), _AGE, ("Users", "string", "", 1),
                    ("Groups", "string", "", 1), ("ServiceAccounts", "string", "", 1)]

# plural -> (columns, cells(obj, age))
_PRINTERS: dict[str, tuple[list[Column], Callable[[Any, str], list[Any]]]] = {
    "namespaces": ([_NAME, ("Status", "string", "", 0), _AGE],
                   lambda obj, age: [obj.name, "Active", age]),
    "secrets": ([_NAME, ("Type", "string", "", 0), ("Data", "string", "", 0), _AGE],
                lambda obj, age: [obj.name, obj.type, len(obj.data), age]),
    "serviceaccounts": ([_NAME, ("Secrets", "string", "", 0), _AGE],
                        lambda obj, age: [obj.name, 0, age]),
    "roles": ([_NAME, _CREATED], lambda obj, age: [obj.name, rfc3339(obj.created_at)]),
    "clusterroles": ([_NAME, _CREATED], lambda obj, age: [obj.name, rfc3339(obj.created_at)]),
    "rolebindings": (_BINDING_COLUMNS, _binding_cells),
    "clusterrolebindings": (_BINDING_COLUMNS, _binding_cells),
}


def _pod_cells(obj: Any, age: str) -> list[Any]:
    status = obj.body.get("status", {})
    containers = status.get("containerStatuses") or []
    ready = sum(1 for c in containers if c.get("ready"))
    shown = status.get("phase", "")
    for container in containers:
        waiting = container.get("state", {}).get("waiting")
        if waiting:
            shown = waiting.get("reason", shown)
    if shown == "Succeeded":
        shown = "Completed"
    elif shown == "Failed":
        shown = "Error"
    return [obj.name, f"{ready}/{len(containers)}", shown, 0, age]


def _workflow_cells(obj: Any, age: str) -> list[Any]:
    status = obj.body.get("status", {})
    return [obj.name, status.get("phase", ""), age, status.get("message", "")]


_PRINTERS.update({
    "configmaps": ([_NAME, ("Data", "string", "", 0), _AGE],
                   lambda obj, age: [obj.name, len(obj.data), age]),
    "pods": ([_NAME, ("Ready", "string", "", 0), ("Status", "string", "", 0),
              ("Restarts", "string", "", 0), _AGE], _pod_cells),
    # The Workflow CRD's additionalPrinterColumns.
    "workflows": ([_NAME, ("Status", "string", "", 0), _AGE, ("Message", "string", "", 1)],
                  _workflow_cells),
})
_DEFAULT: tuple[list[Column], Callable[[Any, str], list[Any]]] = (
    [_NAME, _AGE], lambda obj, age: [obj.name, age])


def table(plural: str, objects: list[Model], manifests: list[dict[str, Any]], now: float,
          resource_version: str) -> dict[str, Any]:
    columns, cells = _PRINTERS.get(plural, _DEFAULT)
    rows = []
    for obj, manifest in zip(objects, manifests, strict=True):
        age = human_duration(now - obj.created_at) if obj.created_at else "<unknown>"
        rows.append({
            "cells": cells(obj, age),
            "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                       "metadata": manifest["metadata"]},
        })
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [
            {"name": name, "type": kind, "format": fmt,
             "description": _DESCRIPTIONS.get(name, name), "priority": priority}
            for name, kind, fmt, priority in columns],
        "rows": rows,
    }

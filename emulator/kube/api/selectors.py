"""``labelSelector`` (equality and existence forms) and ``fieldSelector`` (name, namespace)."""

from __future__ import annotations

from typing import Any

from emulator.kube.api.status import bad_request

# (key, operator, value); operator is one of "=", "!=", "exists", "!exists".
Requirement = tuple[str, str, str]


def parse_label_selector(text: str) -> list[Requirement]:
    requirements: list[Requirement] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if " in " in part or " notin " in part or "(" in part:
            raise bad_request(f"unable to parse requirement: set-based selector {part!r} is not "
                              "supported by the emulator")
        if "!=" in part:
            key, _, value = part.partition("!=")
            requirements.append((key.strip(), "!=", value.strip()))
        elif "==" in part or "=" in part:
            key, _, value = part.partition("==") if "==" in part else part.partition("=")
            requirements.append((key.strip(), "=", value.strip()))
        elif part.startswith("!"):
            requirements.append((part[1:].strip(), "!exists", ""))
        else:
            requirements.append((part, "exists", ""))
    return requirements


def parse_field_selector(text: str) -> list[Requirement]:
    requirements: list[Requirement] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        negate = "!=" in part
        key, _, value = part.partition("!=" if negate else ("==" if "==" in part else "="))
        key = key.strip()
        if key not in ("metadata.name", "metadata.namespace"):
            raise bad_request(f'"{key}" is not a known field selector: only "metadata.name", '
                              '"metadata.namespace"')
        requirements.append((key, "!=" if negate else "=", value.strip()))
    return requirements


def _holds(values: dict[str, str], requirement: Requirement) -> bool:
    key, operator, value = requirement
    if operator == "exists":
        return key in values
    if operator == "!exists":
        return key not in values
    if operator == "=":
        return values.get(key) == value
    return values.get(key) != value


def matches(obj: Any, labels: list[Requirement], fields: list[Requirement]) -> bool:
    field_values = {"metadata.name": obj.name,
                    "metadata.namespace": getattr(obj, "namespace", "")}
    return all(_holds(obj.labels, r) for r in labels) and \
        all(_holds(field_values, r) for r in fields)

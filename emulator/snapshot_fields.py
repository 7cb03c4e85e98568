"""Typed readers for the values of an imported snapshot (``PUT /_emulator/state``).

Each store restores its own section; these are the checks they share, so a snapshot with a
wrong type anywhere is refused as malformed (``TypeError``) before anything changes.
"""

from __future__ import annotations

from typing import Any


def text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected a number, got {value!r}")
    return float(value)


def count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f"expected a count, got {value!r}")
    return value


def flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {value!r}")
    return value

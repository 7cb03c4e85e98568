"""The emulator's authorization decisions as the web UI shows them.

This is the emulator's debugging view (the Kubernetes authorizer's SubjectAccessReview log), not
part of Kubeflow Pipelines: it answers "who was refused what, and why" while a person reproduces
an isolation problem in the browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emulator.core import Emulator

NOTE = ("Emulator debugging view, not part of Kubeflow Pipelines: the authorization decisions "
        "(SubjectAccessReviews) of the emulated cluster, newest first.")
DEFAULT_LIMIT = 200
MAX_LIMIT = 1000


class BadQuery(ValueError):
    """A query parameter the view cannot use; the message names it."""


@dataclass(frozen=True)
class DecisionQuery:
    since: int = 0  # only decisions with a larger sequence number
    refused_only: bool = False
    limit: int = DEFAULT_LIMIT

    @classmethod
    def parse(cls, params: dict[str, str]) -> DecisionQuery:
        return cls(since=_integer(params, "since", 0, 0, None),
                   refused_only=_boolean(params, "refused"),
                   limit=_integer(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT))


def _integer(params: dict[str, str], name: str, default: int, low: int,
             high: int | None) -> int:
    text = params.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadQuery(f"{name} must be an integer, got {text!r}") from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise BadQuery(f"{name} must be {bound}, got {value}")
    return value


def _boolean(params: dict[str, str], name: str) -> bool:
    text = params.get(name, "false").lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0", ""):
        return False
    raise BadQuery(f"{name} must be true or false, got {text!r}")


def decisions_view(emulator: Emulator, query: DecisionQuery) -> dict[str, Any]:
    """The matching decisions, newest first, with the sequence number to poll from next."""
    with emulator.kfp.state.lock:
        found = emulator.decisions(query.since)
    latest = max((d.seq for d in found), default=query.since)
    picked = [d for d in found if not (query.refused_only and d.allowed)]
    picked.reverse()
    return {"note": NOTE, "latest": latest,
            "decisions": [d.as_dict() for d in picked[:query.limit]]}

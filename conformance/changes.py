"""What a request did to an object: the no-side-effect checks of every refusal, in one place.

Two views of an object, as its owner read them before and after a request, are compared field by
field, except for what changes on its own on a real deployment (a run progresses, a schedule
fires).  Of those moving fields, what only a request can do still counts: a run that was not
being canceled is canceled (terminate), a finished run starts again (retry), a recurring run's
status flips (enable, disable).
"""

from __future__ import annotations

from typing import Any

# What changes on its own on a real deployment.
VOLATILE_FIELDS = frozenset({"state", "state_history", "finished_at", "run_details", "status",
                             "updated_at", "next_fire_time", "error"})
TERMINAL_STATES = frozenset({"SUCCEEDED", "SKIPPED", "FAILED", "CANCELED"})
CANCEL_STATES = frozenset({"CANCELING", "CANCELED"})


def stable(view: Any) -> Any:
    """An object's view without the fields that change on their own."""
    if not isinstance(view, dict):
        return view
    return {key: value for key, value in view.items() if key not in VOLATILE_FIELDS}


def run_change(before: dict[str, Any], now: dict[str, Any]) -> str | None:
    """What a request did to a run (None: nothing).  Of the moving fields the state may only
    progress: not canceled when it was not being canceled, a finished run stays finished."""
    if stable(now) != stable(before):
        return f"{stable(before)} -> {stable(now)}"
    was, state = before.get("state"), now.get("state")
    seen = len(before.get("state_history") or [])
    new_states = [str(entry.get("state")) for entry in (now.get("state_history") or [])[seen:]
                  if isinstance(entry, dict)]
    if was not in CANCEL_STATES and (state in CANCEL_STATES or CANCEL_STATES & set(new_states)):
        return f"it was canceled: state {was} -> {state}, new history {new_states}"
    if was in TERMINAL_STATES and (state != was or new_states):
        return f"the finished run started again: state {was} -> {state}, new history {new_states}"
    return None


def recurring_change(before: dict[str, Any], now: dict[str, Any]) -> str | None:
    """What a request did to a recurring run (None: nothing); ``status`` counts here."""
    if stable(now) != stable(before) or now.get("status") != before.get("status"):
        return f"{before} -> {now}"
    return None


def change(kind: str, before: Any, now: Any) -> str | None:
    """What a request did to an object of ``kind`` (a world kind), None when nothing."""
    if kind == "run" and isinstance(before, dict) and isinstance(now, dict):
        return run_change(before, now)
    if kind == "recurringrun" and isinstance(before, dict) and isinstance(now, dict):
        return recurring_change(before, now)
    return None if stable(now) == stable(before) else f"{stable(before)} -> {stable(now)}"

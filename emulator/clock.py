"""The emulator's clock and the timers that run on it.

Run lifecycles and recurring-run triggers are driven by timers on this clock rather than by
background threads, so a test that advances the clock sees every state change that was due,
in order, deterministically.  In ``follow_wall_clock`` mode (the CLI) time moves with the wall
clock and due timers fire on the next request.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache

Timer = Callable[[float], None]


@dataclass(order=True)
class _Scheduled:
    due: float
    seq: int
    action: Timer = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


class Clock:
    """Seconds since the epoch, either frozen (advanced by tests) or following the wall clock."""

    def __init__(self, start: float | None = None, *, follow_wall_clock: bool = False) -> None:
        self._follow = follow_wall_clock
        base = time.time() if start is None else start
        self._offset = base - time.time() if follow_wall_clock else 0.0
        self._frozen = base
        self._queue: list[_Scheduled] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return time.time() + self._offset if self._follow else self._frozen

    def call_at(self, due: float, action: Timer) -> _Scheduled:
        entry = _Scheduled(due, next(self._seq), action)
        heapq.heappush(self._queue, entry)
        return entry

    @staticmethod
    def cancel(entry: _Scheduled) -> None:
        entry.cancelled = True

    def fire_due(self) -> int:
        """Run every timer due by now, earliest first; timers may schedule more timers.

        Until none is due: a timer that fires late (the wall clock moved on while nobody
        asked) schedules its successor at "now" at the latest, which must run in the same call,
        so a run that is due to have finished has finished for whoever looks first."""
        fired = 0
        while True:
            count = self._run_until(self.now())
            if not count:
                return fired
            fired += count

    def advance(self, seconds: float) -> int:
        """Move time forward, firing each due timer at its own due time. Returns timers fired."""
        if seconds < 0:
            raise ValueError("the emulator clock cannot go backwards")
        target = self.now() + seconds
        fired = self._run_until(target)
        if self._follow:
            self._offset += seconds
        else:
            self._frozen = target
        return fired

    def _run_until(self, target: float) -> int:
        fired = 0
        while self._queue and self._queue[0].due <= target:
            entry = heapq.heappop(self._queue)
            if entry.cancelled:
                continue
            if not self._follow:
                self._frozen = max(self._frozen, entry.due)
            entry.action(entry.due)
            fired += 1
        return fired

    def pending_timers(self) -> int:
        return sum(1 for entry in self._queue if not entry.cancelled)

    def clear(self) -> None:
        self._queue.clear()


def rfc3339(seconds: float) -> str:
    """KFP stores whole seconds and emits RFC 3339 UTC timestamps."""
    return _rfc3339(int(seconds))


@lru_cache(maxsize=1 << 16)
def _rfc3339(seconds: int) -> str:
    # Cached: every listed object renders several timestamps, and strftime dominated lists.
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(value: str) -> float:
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no time zone")
    return parsed.timestamp()


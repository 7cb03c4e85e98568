"""Run lifecycles and recurring-run triggers on the emulator clock.

A run goes PENDING -> RUNNING -> its outcome (SUCCEEDED unless a test chose FAILED); terminate
moves an active run to CANCELING and then CANCELED.  A recurring run fires on its cron or periodic
trigger, catching up missed slots unless ``no_catchup``, and never exceeds ``max_concurrency``
active runs.  All of it is timers on :class:`~emulator.clock.Clock`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from emulator.kfp.models import (
    TERMINAL_STATES,
    RecurringRun,
    Run,
    RuntimeState,
    StateChange,
)
from emulator.kfp.state import KfpState

CANCEL_SECONDS = 1.0
# Bound on runs one trigger evaluation may create when catching up a long gap.
MAX_CATCHUP_RUNS = 1000


DESCRIPTORS = {
    "@yearly": "0 0 0 1 1 *", "@annually": "0 0 0 1 1 *", "@monthly": "0 0 0 1 * *",
    "@weekly": "0 0 0 * * 0", "@daily": "0 0 0 * * *", "@midnight": "0 0 0 * * *",
    "@hourly": "0 0 * * * *",
}
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
                 "h": 3600.0}


def every_seconds(expression: str) -> int | None:
    """``@every <Go duration>``: a constant delay, rounded down to whole seconds (min. 1)."""
    text = expression.strip()
    if not text.startswith("@every "):
        return None
    duration = text[len("@every "):].strip()
    if not duration or _DURATION.sub("", duration):
        raise ValueError(f"invalid duration {duration!r}")
    seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION.findall(duration))
    return max(int(seconds), 1)


def cron_fields(expression: str) -> tuple[str, bool]:
    """KFP parses cron with robfig/cron v1 ``Parse``: seconds first, day-of-week optional.

    Five fields therefore mean ``sec min hour dom month`` (every day of the week), not the
    classic crontab layout: ``*/30 * * * *`` fires every 30 seconds.  Descriptors such as
    ``@hourly`` are accepted too.
    """
    text = DESCRIPTORS.get(expression.strip(), expression)
    parts = text.split()
    if len(parts) == 5:
        parts.append("*")
    return " ".join(parts), True


def croniter(*args: Any, **kwargs: Any) -> Any:
    """``croniter.croniter``, imported on first use: it adds ~35 ms to the emulator's start."""
    from croniter import croniter as imported

    return imported(*args, **kwargs)


def valid_cron(expression: str) -> bool:
    try:
        if every_seconds(expression) is not None:
            return True
    except ValueError:
        return False
    text, with_seconds = cron_fields(expression)
    if len(text.split()) not in (5, 6):
        return False
    try:
        croniter(text, 0, second_at_beginning=with_seconds)
    except (ValueError, KeyError, TypeError):
        return False
    return True


class Lifecycle:
    def __init__(self, state: KfpState,
                 create_scheduled_run: Callable[[RecurringRun, float, int], Run | None]) -> None:
        self.state = state
        self._create_scheduled_run = create_scheduled_run

    # -- runs ----------------------------------------------------------------------------------

    def _set(self, run: Run, new_state: RuntimeState, at: float) -> None:
        run.state = new_state
        run.state_history.append(StateChange(int(at), new_state))
        if new_state in TERMINAL_STATES:
            run.finished_at = int(at)
        self.state.executor.run_moved(run, new_state, at)

    def _alive(self, run: Run) -> bool:
        return self.state.runs.get(run.id) is run

    def start(self, run: Run) -> None:
        """Begin (or, after a retry, restart) a run's progression from PENDING."""
        self._set(run, RuntimeState.PENDING, self.state.now())
        self.resume(run)

    def resume(self, run: Run) -> None:
        """Schedule the next transition of an active run from its current state."""
        config = self.state.config
        # None: the run's chosen outcome, read when the timer fires.
        steps: dict[RuntimeState, tuple[float, RuntimeState | None]] = {
            RuntimeState.PENDING: (config.run_pending_seconds, RuntimeState.RUNNING),
            RuntimeState.RUNNING: (config.run_running_seconds, None),
            RuntimeState.CANCELING: (CANCEL_SECONDS, RuntimeState.CANCELED),
        }
        if run.state not in steps:
            return
        delay, next_state = steps[run.state]
        since = run.state_history[-1].at if run.state_history else self.state.now()
        expected, generation = run.state, len(run.state_history)

        def advance(at: float) -> None:
            if not self._alive(run) or run.state != expected or \
                    len(run.state_history) != generation:
                return  # superseded by terminate, retry or delete
            target = self.state.executor.next_state(
                run, run.outcome if next_state is None else next_state)
            if target is None:  # held (a pod cannot start): ask again a step later
                self.state.clock.call_at(at + max(delay, 1.0), advance)
                return
            self._set(run, target, at)
            if target == RuntimeState.FAILED and not run.error_message:
                run.error_message = "the emulated workflow failed"
            if target in TERMINAL_STATES:
                self._release_slot(run)
            else:
                self.resume(run)

        self.state.clock.call_at(max(since + delay, self.state.now()), advance)

    def terminate(self, run: Run) -> None:
        self._set(run, RuntimeState.CANCELING, self.state.now())
        self.resume(run)

    def retry(self, run: Run) -> None:
        run.finished_at = 0
        run.error_message = ""
        self.start(run)

    def move(self, run: Run, new_state: RuntimeState) -> None:
        """An externally reported (persistence agent) move to an active state."""
        self._set(run, new_state, self.state.now())
        self.resume(run)

    def finish(self, run: Run, final_state: RuntimeState) -> None:
        """An externally reported end of a run."""
        self._set(run, final_state, self.state.now())
        self._release_slot(run)

    def _release_slot(self, run: Run) -> None:
        """A finished scheduled run frees a concurrency slot: re-check its trigger."""
        if run.recurring_run_id:
            recurring = self.state.recurring_runs.get(run.recurring_run_id)
            if recurring is not None:
                self.arm(recurring)

    # -- recurring runs ------------------------------------------------------------------------

    def next_fire_after(self, recurring: RecurringRun, last: float) -> float | None:
        """The ScheduledWorkflow controller's next slot after the last triggered time.

        Cron: the first match strictly after max(last, start_time). Periodic: the start time if
        it is still ahead, else last + interval (``periodic_schedule.go``).
        """
        trigger = recurring.trigger
        delay = every_seconds(trigger.cron) if trigger.is_cron else None
        if delay is not None:
            candidate = max(last, trigger.start_time) + delay
        elif trigger.is_cron:
            text, with_seconds = cron_fields(trigger.cron)
            base = datetime.fromtimestamp(int(max(last, trigger.start_time)), tz=timezone.utc)
            candidate = float(croniter(text, base, second_at_beginning=with_seconds)
                              .get_next(float))
        elif trigger.start_time and trigger.start_time > last:
            candidate = trigger.start_time
        else:
            candidate = last + max(int(trigger.interval_seconds), 1)
        if trigger.end_time and candidate > trigger.end_time:
            return None
        return candidate

    def arm(self, recurring: RecurringRun) -> None:
        """Schedule the next evaluation of a recurring run's trigger."""
        if not recurring.enabled:
            return
        due = self.next_fire_after(recurring, recurring.last_fired_at)
        if due is None:
            return
        token = (recurring.id, recurring.last_fired_at, recurring.enabled)

        def fire(at: float) -> None:
            current = self.state.recurring_runs.get(recurring.id)
            if current is not recurring or not recurring.enabled or \
                    (recurring.id, recurring.last_fired_at, recurring.enabled) != token:
                return
            # Evaluate at the clock's now: after a stall every missed slot is due together.
            self.fire(recurring, max(at, self.state.now()))

        self.state.clock.call_at(max(due, self.state.now()), fire)

    def fire(self, recurring: RecurringRun, now: float) -> None:
        """Create the runs due by ``now``: every missed slot, or only the latest with no_catchup."""
        slots: list[float] = []
        cursor = recurring.last_fired_at
        while len(slots) < MAX_CATCHUP_RUNS:
            due = self.next_fire_after(recurring, cursor)
            if due is None or due > now:
                break
            slots.append(due)
            cursor = due
        if not slots:
            self.arm(recurring)
            return
        if recurring.no_catchup and len(slots) > 1:
            # Skip the backlog: cron runs its latest slot, periodic runs now.
            slots = [slots[-1] if recurring.trigger.is_cron else now]
            cursor = slots[0]
        for slot in slots:
            active = sum(1 for r in self.state.runs.in_group(recurring.experiment_id)
                         if r.recurring_run_id == recurring.id and r.state not in TERMINAL_STATES)
            if active >= max(recurring.max_concurrency, 1):
                # Wait for a slot; the trigger is re-armed when a run finishes.
                return
            recurring.last_fired_at = slot
            self._create_scheduled_run(recurring, slot, int(slot))
        recurring.last_fired_at = cursor
        self.arm(recurring)

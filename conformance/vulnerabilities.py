"""Which catalogued isolation bugs a run found, from the scenarios tagged with their ids.

A scenario tagged ``@ISO-xxx`` fails when the bug is present and passes on the secure
behaviour, so a run answers "does this deployment have ISO-xxx?" for every bug whose scenarios
it ran: *vulnerable* (one of them failed, or -- for a documented limitation -- it is present),
*not vulnerable* (every one passed, or the limitation is lifted), *inconclusive* (none ran to a
verdict: not supported, skipped or a harness error).  Harness errors never count as a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from conformance.catalog import bugs_of
from conformance.outcomes import Outcome
from conformance.results import ScenarioResult
from emulator.bugs import BUGS


class Verdict(str, Enum):
    VULNERABLE = "vulnerable"
    NOT_VULNERABLE = "not vulnerable"
    INCONCLUSIVE = "inconclusive"


_PRESENT = frozenset({Outcome.FAIL, Outcome.LIMITATION_PRESENT})
_ABSENT = frozenset({Outcome.PASS, Outcome.LIMITATION_LIFTED})


@dataclass(frozen=True)
class BugFinding:
    """What a run's scenarios say about one bug."""

    bug_id: str
    verdict: Verdict
    evidence: tuple[ScenarioResult, ...]  # the scenarios that decided (all tagged ones if none)
    scenarios: tuple[ScenarioResult, ...]  # every scenario of the run tagged with the bug
    # Other bugs the deciding failures also detect: the run cannot tell them apart.
    shared_with: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return BUGS[self.bug_id].title


def verdict_of(outcomes: set[Outcome]) -> Verdict:
    """Any failure (or a present limitation) decides; an error or a skip leaves the question
    open unless a failure was seen; only passes (or lifted limitations) clear the bug."""
    if outcomes & _PRESENT:
        return Verdict.VULNERABLE
    if outcomes and outcomes <= _ABSENT:
        return Verdict.NOT_VULNERABLE
    return Verdict.INCONCLUSIVE


def findings(scenarios: list[ScenarioResult]) -> list[BugFinding]:
    """One finding per bug that at least one of ``scenarios`` is tagged with, in id order.

    A failing scenario tagged with several bugs (the oracle of one attack that two bugs both
    open) does not convict a bug whose own scenarios -- tagged with it alone -- all passed: the
    other bug explains that failure.  Where it is the only evidence, the finding names the
    bugs it is shared with."""
    tagged: dict[str, list[ScenarioResult]] = {}
    for scenario in scenarios:
        for bug_id in bugs_of(scenario.tags):
            tagged.setdefault(bug_id, []).append(scenario)
    found = []
    for bug_id in sorted(tagged):
        members = tagged[bug_id]
        own = [s for s in members if bugs_of(s.tags) == [bug_id]]
        cleared = bool(own) and {s.outcome for s in own} <= _ABSENT
        deciding = [s for s in members if s.outcome not in _PRESENT or s in own or not cleared]
        verdict = verdict_of({s.outcome for s in deciding})
        if verdict is Verdict.VULNERABLE:
            evidence = tuple(s for s in deciding if s.outcome in _PRESENT)
        elif verdict is Verdict.INCONCLUSIVE:
            evidence = tuple(s for s in deciding if s.outcome not in _ABSENT)
        else:
            evidence = tuple(deciding)
        shared = () if any(bugs_of(s.tags) == [bug_id] for s in evidence) or \
            verdict is not Verdict.VULNERABLE else \
            tuple(sorted({b for s in evidence for b in bugs_of(s.tags)} - {bug_id}))
        found.append(BugFinding(bug_id, verdict, evidence, tuple(members), shared))
    return found

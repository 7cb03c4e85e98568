"""``kfp-isolation reproduce ISO-xxx``: does this target have that catalogued bug?

Runs only the scenarios tagged ``@ISO-xxx`` against any target and prints *vulnerable* (one of
them failed: the evidence is its failing step and the HTTP exchanges behind it),
*not vulnerable* (all of them passed) or *inconclusive* (none ran to a verdict on this target).
``--bug-on`` switches the bug on in the in-process emulator, to see what the bug looks like.
The reports (and a repro bundle per failing scenario) go to the report folder.

Exit status: 0 not vulnerable, 1 vulnerable, 2 inconclusive or unusable settings.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

import pytest

from conformance.certify import (
    ConfigError,
    Progress,
    Settings,
    add_bug_arguments,
    features_dir,
    load_settings,
)
from conformance.outcomes import Outcome
from conformance.report.redaction import scrub
from conformance.results import ScenarioResult
from conformance.targets import TARGET_KINDS
from conformance.vulnerabilities import BugFinding, Verdict, findings
from emulator.bugs import BUGS, normalize
from emulator.modes import Mode

EXIT_NOT_VULNERABLE, EXIT_VULNERABLE, EXIT_INCONCLUSIVE = 0, 1, 2
DEFAULT_REPORT_DIR = "kfp-isolation-reproduce"


def evidence_lines(scenario: ScenarioResult) -> list[str]:
    """A failure's failing step, its message and the last exchanges behind it; a present
    limitation's checks, each of which held (all redacted)."""
    lines = [f"  {scenario.outcome.value}: {scenario.feature}: {scrub(scenario.name)}"]
    if scenario.outcome is Outcome.LIMITATION_PRESENT:
        lines += [f"    held: {s.keyword} {scrub(s.text)}" for s in scenario.steps
                  if s.keyword == "Then" or (s.keyword == "And" and s.status == "passed")]
        return lines
    failed = next((s for s in scenario.steps if s.status == "failed"), None)
    if failed is not None:
        lines.append(f"    step: {failed.keyword} {scrub(failed.text)}")
    for text in scrub(scenario.message).strip().splitlines()[:6]:
        lines.append(f"    | {text}")
    shown: list[str] = []
    for exchange in scenario.exchanges:
        line = (f"    {scrub(exchange.actor)} {exchange.method} {scrub(exchange.url)} "
                f"-> {exchange.status}")
        if not shown or shown[-1] != line:
            shown.append(line)
    return lines + shown[-3:]


def describe(finding: BugFinding | None, bug_id: str) -> tuple[str, int]:
    """The verdict paragraph and the exit status."""
    bug = BUGS[bug_id]
    head = f"{bug_id} — {bug.title}"
    if finding is None:
        return (f"{head}\ninconclusive: no scenario detecting {bug_id} ran "
                f"(`kfp-isolation bugs {bug_id}` lists them)", EXIT_INCONCLUSIVE)
    failed = sum(1 for s in finding.scenarios
                 if s.outcome in (Outcome.FAIL, Outcome.LIMITATION_PRESENT))
    shared = (f"; those failures also detect {', '.join(finding.shared_with)}, which this run "
              "cannot tell apart" if finding.shared_with else "")
    lines = [head, f"{finding.verdict.value.upper()} ({failed} of {len(finding.scenarios)} "
                   f"scenario(s) detecting it failed{shared})"]
    if finding.verdict is Verdict.VULNERABLE:
        for scenario in finding.evidence:
            lines += evidence_lines(scenario)
        lines.append(f"  upstream fix: {bug.fixed}; {', '.join(bug.links)}")
        return "\n".join(lines), EXIT_VULNERABLE
    if finding.verdict is Verdict.INCONCLUSIVE:
        for scenario in finding.evidence:
            first = scrub(scenario.message).strip().splitlines()
            lines.append(f"  {scenario.outcome.value}: {scrub(scenario.name)}"
                         + (f" — {first[0][:160]}" if first else ""))
        return "\n".join(lines), EXIT_INCONCLUSIVE
    for scenario in finding.scenarios:
        lines.append(f"  {scenario.outcome.value}: {scrub(scenario.name)}")
    return "\n".join(lines), EXIT_NOT_VULNERABLE


def reproduce(settings: Settings, bug_id: str, out: TextIO = sys.stdout) -> int:
    progress = Progress(out, label="reproduce")
    out.write(f"reproducing {bug_id} on {settings.target}"
              f"{' ' + settings.target_file if settings.target_file else ''}"
              f"{' with the bug switched on' if bug_id in settings.bugs else ''}\n")
    status = pytest.main([str(features_dir()), "-p", "no:terminal", "-p", "no:warnings",
                          *settings.pytest_args()], plugins=[progress])
    run = progress.result
    if run is None or run.aborted or not run.scenarios:
        why = run.aborted if run is not None and run.aborted else f"pytest status {int(status)}"
        out.write(f"kfp-isolation reproduce: inconclusive, no scenario ran: {scrub(why)}\n")
        return EXIT_INCONCLUSIVE
    found = {f.bug_id: f for f in findings(run.scenarios)}
    text, code = describe(found.get(bug_id), bug_id)
    errors = [s for s in run.scenarios if s.outcome is Outcome.ERROR]
    out.write("\n" + text + "\n")
    if errors:
        out.write(f"({len(errors)} scenario(s) ended in a harness error, not counted)\n")
    bundles = Path(settings.report_dir) / "bundles"
    out.write(f"reports: {Path(settings.report_dir).resolve()}/"
              + (f"  bundles: {bundles.resolve()}/" if bundles.is_dir() else "") + "\n")
    return code


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("reproduce", help="run the scenarios that detect one catalogued "
                                              "bug against a target: vulnerable or not")
    parser.add_argument("bug", metavar="ISO-xxx")
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="certify's YAML settings (target, targetFile, mode)")
    parser.add_argument("--target", choices=TARGET_KINDS, default=None,
                        help="inprocess (default), url, cluster")
    parser.add_argument("--target-file", default=None, metavar="FILE")
    parser.add_argument("--mode", choices=[m.value for m in Mode], default=None,
                        help="the in-process emulator's mode (default full-inside)")
    parser.add_argument("--report-dir", default=None, metavar="DIR",
                        help=f"where the reports and bundles go (default ./{DEFAULT_REPORT_DIR}/)")
    parser.add_argument("--bug-on", action="store_true",
                        help="in-process emulator only: switch the bug on first")
    add_bug_arguments(parser)
    parser.set_defaults(func=cmd_reproduce)


def cmd_reproduce(args: argparse.Namespace) -> int:
    bug_id = normalize(args.bug)
    if bug_id not in BUGS:
        print(f"kfp-isolation reproduce: unknown bug {args.bug!r} (`kfp-isolation bugs` lists "
              "them)", file=sys.stderr)
        return EXIT_INCONCLUSIVE
    switched = tuple(args.bugs or ()) + ((bug_id,) if args.bug_on else ())
    try:
        settings = load_settings(
            args.config, target=args.target, target_file=args.target_file, mode=args.mode,
            report_dir=args.report_dir or DEFAULT_REPORT_DIR, profiles=(), features=(),
            bugs=switched or None, emulate_kfp=args.emulate_kfp, detects=(bug_id,))
    except ConfigError as exc:
        print(f"kfp-isolation reproduce: {exc}", file=sys.stderr)
        return EXIT_INCONCLUSIVE
    return reproduce(settings, bug_id)

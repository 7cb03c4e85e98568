"""``kfp-isolation replay BUNDLE``: run a repro bundle's scenario again, here or elsewhere.

A repro bundle (one per failing scenario, in <report dir>/bundles/) holds the scenario as
Gherkin, reduced to its failing example row.  Replay runs it through pytest with the suite's
plugin and step vocabulary against the in-process emulator (default; with the bugs the bundle
suggests switched on), a running emulator (url) or a cluster: a failure seen on one deployment
can be checked on another.  The scenario provisions fresh tenants and objects as it did the
first time; the bundle's snapshot is evidence only.

Verdicts and exit status: 0 "reproduced" (the same step failed, with the same last HTTP
status), 1 "not reproduced" (the scenario passed) or "different failure" (another step failed,
or the status differs), 2 "inconclusive" (the scenario errored, was not supported or did not
run) or unusable arguments.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

import pytest
import requests

from conformance.bundles import Bundle, BundleError, read_bundle
from conformance.outcomes import Outcome
from conformance.report.redaction import scrub
from conformance.results import RunResult, ScenarioResult
from conformance.target import Target, TargetError
from conformance.targets import TARGET_KINDS
from emulator import bugs
from emulator.modes import Mode

EXIT_REPRODUCED, EXIT_NOT_REPRODUCED, EXIT_INCONCLUSIVE = 0, 1, 2
REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
DIFFERENT = "different failure"
INCONCLUSIVE = "inconclusive"
EXIT_CODES = {REPRODUCED: EXIT_REPRODUCED, NOT_REPRODUCED: EXIT_NOT_REPRODUCED,
              DIFFERENT: EXIT_NOT_REPRODUCED, INCONCLUSIVE: EXIT_INCONCLUSIVE}
# The emulator settings a replay may set (conformance.pytest_plugin.EMULATOR_SETTINGS).
_SETTINGS = ("artifact_credentials", "require_namespace_for_pipelines", "shared_read",
             "default_runner_service_account")


class UsageError(ValueError):
    """Arguments replay cannot honour (exit 2)."""


@dataclass
class Plan:
    """How the replay runs: where, in which mode, with which switches, and what it says."""

    target: str
    target_file: str
    mode: str  # the in-process emulator's ("" elsewhere: the target file or detection says)
    bugs: tuple[str, ...]
    unguard: tuple[str, ...]
    settings: tuple[str, ...]  # NAME=VALUE emulator settings (in-process)
    report_dir: Path
    notes: list[str] = field(default_factory=list)

    def pytest_args(self) -> list[str]:
        args = ["--kfp-target", self.target, "--kfp-report-dir", str(self.report_dir)]
        if self.target_file:
            args += ["--kfp-target-file", self.target_file]
        if self.mode:
            args += ["--kfp-mode", self.mode]
        for bug in self.bugs:
            args += ["--kfp-bug", bug]
        for operation in self.unguard:
            args += ["--kfp-unguard", operation]
        for setting in self.settings:
            args += ["--kfp-emulator-setting", setting]
        return args


def default_report_dir(bundle: Bundle) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return bundle.path.parent / f"{bundle.path.name}.replay-{stamp}"


def _switchable(suggested: list[str], notes: list[str]) -> list[str]:
    kept = []
    for bug_id in suggested:
        bug = bugs.BUGS.get(bug_id)
        if bug is None:
            notes.append(f"{bug_id} is not in this tool's catalog: not switched on")
        elif not bug.switchable:
            what = "a limitation the emulator shows by default" \
                if bug.expressible == "limitation" else "not expressible by the emulator"
            notes.append(f"{bug_id} is {what}: not switched on")
        else:
            kept.append(bug_id)
    return kept


def emulator_bugs(target_file: str) -> list[str] | None:
    """The bugs a running emulator has switched on (its ``GET /_emulator``); None for a
    target that is no emulator."""
    target = Target.load(Path(target_file))
    if not target.emulator_controls:
        return None
    answer = requests.get(target.emulator_controls, timeout=30)
    answer.raise_for_status()
    return sorted(answer.json()["config"].get("bugs") or [])


def make_plan(bundle: Bundle, args: argparse.Namespace) -> Plan:
    """What to run, from the bundle and the arguments (UsageError when they conflict)."""
    notes: list[str] = []
    target = args.target
    if target != "inprocess" and not args.target_file:
        raise UsageError(f"a {target} target needs --target-file")
    if target == "inprocess" and args.target_file:
        raise UsageError("--target-file names a url or cluster target; add --target url or "
                         "--target cluster")
    try:
        given = sorted(bugs.check(tuple(args.bugs or ())))
    except ValueError as exc:
        raise UsageError(f"--bug: {exc}") from None
    suggested = [] if args.no_suggested_bugs else bundle.suggested_bugs
    recorded = bundle.configuration.get("unguarded_operations") or []
    if target != "inprocess":
        if given or args.unguard:
            raise UsageError(f"--bug and --unguard switch the in-process emulator only; a {target} "
                             "target runs as it was started or deployed (start an emulator with "
                             "`kfp-isolation serve --bug ...`)")
        if args.mode:
            raise UsageError(f"--mode sets up the in-process emulator; a {target} target's "
                             "mode comes from its target file or is detected")
        _compare_bugs(target, args.target_file, suggested, notes)
        return Plan(target, str(args.target_file), "", (), (), (),
                    args.report_dir or default_report_dir(bundle), notes)
    switched = sorted(set(_switchable(suggested, notes)) | set(given))
    if suggested and args.no_suggested_bugs:
        notes.append("the bundle's suggested bugs are left off (--no-suggested-bugs)")
    if recorded and not args.unguard:
        notes.append("the bundle's run had unguarded operations ("
                      + ", ".join(map(str, recorded)) + "); give --unguard to replay them")
    mode = args.mode or bundle.mode
    if mode not in {m.value for m in Mode}:
        notes.append(f"the bundle names no emulator mode ({mode!r}): full-inside")
        mode = Mode.FULL_INSIDE.value
    settings = []
    for name, value in sorted((bundle.configuration.get("emulator_settings") or {}).items()):
        if name in _SETTINGS:
            settings.append(f"{name}={str(value).lower() if isinstance(value, bool) else value}")
        else:
            notes.append(f"the emulator setting {name}={value} cannot be replayed")
    return Plan("inprocess", "", mode, tuple(switched), tuple(args.unguard or ()),
                tuple(settings), args.report_dir or default_report_dir(bundle), notes)


def _compare_bugs(target: str, target_file: str, suggested: list[str],
                  notes: list[str]) -> None:
    """Say what a url or cluster target's switches are against what the bundle suggests."""
    try:
        running = emulator_bugs(target_file)
    except (TargetError, requests.RequestException, KeyError, TypeError, ValueError) as exc:
        notes.append(f"cannot read the target's bug switches: {exc}")
        return
    if running is None:
        if suggested:
            notes.append(f"a {target} target's bugs cannot be switched: the bundle suggests "
                         f"{', '.join(suggested)}; the replay checks the deployment as it is")
        return
    missing = sorted(set(suggested) - set(running))
    extra = sorted(set(running) - set(suggested))
    notes.append(f"the emulator at the target runs with bugs {', '.join(running) or 'none'}; "
                 f"replay cannot switch them (the bundle suggests "
                 f"{', '.join(suggested) or 'none'})")
    if missing:
        notes.append(f"it lacks {', '.join(missing)}: start it with `kfp-isolation serve "
                     + " ".join(f"--bug {b}" for b in missing) + "` to replay them")
    if extra:
        notes.append(f"it has {', '.join(extra)} on, which the bundle did not suggest")


@dataclass
class _Capture:
    """The replay run's result (a pytest plugin)."""

    result: RunResult | None = None
    bundles: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.errors.append(f"collection: {report.longrepr}")

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from conformance import pytest_plugin

        try:
            self.result = pytest_plugin.run_result(session.config)
        except KeyError:  # the plugin is not loaded
            self.errors.append("the kfp-isolation pytest plugin is not installed")
            return
        self.bundles = pytest_plugin.bundles_written(session.config)


def run_bundle(bundle: Bundle, plan: Plan) -> _Capture:
    """Run the bundle's scenario with the suite's steps, as its own pytest session."""
    capture = _Capture()
    with tempfile.TemporaryDirectory(prefix="kfp-iso-replay-") as folder:
        where = Path(folder)
        # Under its original file name: the reports and the new bundle name it, not
        # "scenario.feature".
        feature = where / (Path(bundle.source_file).stem + ".feature")
        shutil.copyfile(bundle.feature, feature)
        module = where / f"test_replay_{uuid.uuid4().hex[:8]}.py"
        module.write_text("from pytest_bdd import scenarios\n\nimport steps\n\n"
                          "globals().update(steps.definitions())\n\n"
                          f"scenarios({str(feature)!r})\n")
        ini = where / "pytest.ini"
        ini.write_text("[pytest]\naddopts = -p no:cacheprovider\n")
        status = pytest.main([str(module), "-c", str(ini), "--rootdir", str(where),
                              "-p", "no:terminal", "-p", "no:warnings", *plan.pytest_args()],
                             plugins=[capture])
        if int(status) not in (0, 1) and not capture.errors and (
                capture.result is None or not capture.result.scenarios):
            capture.errors.append(f"pytest exit status {int(status)}")
    return capture


def _first(text: str, limit: int = 300) -> str:
    """The first line of a message, scrubbed and cut for the terminal."""
    line = (scrub(text).splitlines() or [""])[0]
    return line if len(line) <= limit else line[:limit] + "…"


def _failed_step(scenario: ScenarioResult) -> tuple[int, str, str] | None:
    for index, step in enumerate(scenario.steps):
        if step.status == "failed":
            return index, f"{step.keyword} {step.text}", step.error
    return None


def judge(bundle: Bundle, scenario: ScenarioResult | None) -> tuple[str, str]:
    """The verdict, and why."""
    if scenario is None:
        return INCONCLUSIVE, "the scenario did not run"
    if scenario.outcome is Outcome.PASS:
        return NOT_REPRODUCED, "every step held"
    if scenario.outcome is not Outcome.FAIL:
        return INCONCLUSIVE, (f"the scenario ended {scenario.outcome.value}: "
                              f"{_first(scenario.message)}")
    failed = _failed_step(scenario)
    status = scenario.exchanges[-1].status if scenario.exchanges else None
    expected = bundle.failing_step
    if failed is None or expected is None:
        return DIFFERENT, "no failing step to compare"
    index, text, error = failed
    first = _first(error)
    if index != expected.index or text != f"{expected.keyword} {expected.text}":
        return DIFFERENT, (f"step {index + 1} failed ({text!r}: {first}), not step "
                           f"{expected.index + 1} ({expected.keyword} {expected.text!r})")
    if bundle.last_status is not None and status != bundle.last_status:
        return DIFFERENT, (f"step {index + 1} failed again, but the last answer was "
                           f"{status}, not {bundle.last_status}: {first}")
    return REPRODUCED, f"step {index + 1} ({text!r}) failed again, last answer {status}: {first}"


def replay(bundle: Bundle, plan: Plan, out: TextIO = sys.stdout) -> int:
    data = bundle.data
    scenario = data["scenario"]
    row = f" row {scenario['row']}" if scenario.get("row") else ""
    out.write(f"kfp-isolation replay: {scenario.get('name')} ({scenario.get('file')}:"
              f"{scenario.get('line')}{row})\n  bundle: {bundle.path}\n")
    step = bundle.failing_step
    original = data["target"]
    out.write(f"  originally: {original.get('kind')} {original.get('mode')} KFP "
              f"{original.get('kfp_version') or '?'}"
              + (f"; step {step.index + 1} failed ({step.keyword} {step.text!r}), last answer "
                 f"{bundle.last_status}" if step else "") + "\n")
    out.write(f"  replay on: {plan.target}"
              + (f" {plan.target_file}" if plan.target_file else f" {plan.mode}")
              + (f"; bugs {', '.join(plan.bugs)}" if plan.bugs else "")
              + (f"; unguarded {', '.join(plan.unguard)}" if plan.unguard else "")
              + (f"; settings {', '.join(plan.settings)}" if plan.settings else "") + "\n")
    for note in plan.notes:
        out.write(f"  note: {note}\n")
    capture = run_bundle(bundle, plan)
    for error in capture.errors:
        out.write(f"  error: {scrub(error)[:2000]}\n")
    run = capture.result
    if run is not None and run.aborted:
        out.write(f"  error: aborted: {scrub(run.aborted)}\n")
    scenarios = run.scenarios if run is not None else []
    if len(scenarios) > 1:
        verdict, why = INCONCLUSIVE, f"the bundle's feature ran {len(scenarios)} scenarios, not 1"
    else:
        verdict, why = judge(bundle, scenarios[0] if scenarios else None)
    out.write(f"  {why}\n")
    out.write(f"  reports: {plan.report_dir.resolve()}/\n")
    for written in capture.bundles:
        out.write(f"  new bundle: {written.resolve()}/\n")
    out.write(f"verdict: {verdict}\n")
    return EXIT_CODES[verdict]


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "replay", help="re-run a repro bundle's failing scenario against the emulator or "
                       "another target",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
        epilog=__doc__.split("\n\n")[2] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bundle", type=Path, metavar="BUNDLE",
                        help="a bundle folder (<report dir>/bundles/<name>/) or its bundle.yaml")
    parser.add_argument("--target", choices=TARGET_KINDS, default="inprocess",
                        help="inprocess (default: a fresh embedded emulator), url (a running "
                             "emulator) or cluster")
    parser.add_argument("--target-file", default=None, metavar="FILE",
                        help="the target file of a url or cluster target")
    parser.add_argument("--mode", choices=[m.value for m in Mode], default=None,
                        help="the in-process emulator's mode (default: the bundle's)")
    parser.add_argument("--bug", dest="bugs", action="append", default=None,
                        metavar="ISO-xxx", help="in-process only: also switch this bug on "
                                                "(repeatable)")
    parser.add_argument("--no-suggested-bugs", action="store_true",
                        help="in-process only: leave the bundle's suggested bugs off")
    parser.add_argument("--unguard", action="append", default=None, metavar="OPERATION",
                        help="in-process only: this operation skips authorization (the fault "
                             "of the sensitivity check; the bundle's configuration names the "
                             "ones its run had); repeatable")
    parser.add_argument("--report-dir", type=Path, default=None, metavar="DIR",
                        help="the replay's reports and new bundle (default: "
                             "<BUNDLE>.replay-<UTC time> beside the bundle)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        bundle = read_bundle(args.bundle)
        plan = make_plan(bundle, args)
    except (BundleError, UsageError) as exc:
        print(f"kfp-isolation replay: {exc}", file=sys.stderr)
        return EXIT_INCONCLUSIVE
    return replay(bundle, plan)

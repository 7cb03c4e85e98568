"""The proof that the suite detects every historical bug the emulator can switch on.

For each switchable bug of :mod:`emulator.bugs`, run the whole suite against an in-process
emulator with that bug switched on (``--kfp-bug``) and require:

* *detected*: at least one scenario tagged with the bug ends ``fail``;
* *every tag holds*: every scenario tagged with the bug fails in at least one of its rows
  (unless this setup cannot run it: ``not supported``), so no tag marks a scenario the bug
  leaves passing;
* *precise*: every scenario that fails or errors is tagged with the bug (one that is not is
  *LEAKED*: the switch changed behaviour some other guarantee covers, or broke the harness).

One run with no bug switched on requires every tagged scenario to pass (or to be ``not
supported`` on this setup, or to report its limitation), so a tag never marks a scenario that
fails anyway.  Each KFP release profile (``--kfp-emulate-kfp``) is run as well: its failures
must all be tagged with bugs of that release, and a release with switchable bugs must fail.

    python -m conformance.bug_detection               # every bug and release, 2 runs at a time
    python -m conformance.bug_detection ISO-005 --jobs 1
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from conformance.bug_list import tagged_locations
from emulator import bugs

FEATURES = Path(__file__).resolve().parent.parent / "features"
# Outcomes a tagged scenario may end with when no bug is switched on.
CLEAN = frozenset({"pass", "not supported", "limitation present", "limitation lifted"})


@dataclass(frozen=True)
class Run:
    """One suite run: what it switched on and the scenarios that did not pass."""

    name: str  # a bug id, "KFP <version>" or "secure"
    flags: tuple[str, ...]
    failing: list[dict[str, Any]] = field(default_factory=list)  # report failure entries
    unsupported: set[tuple[str, int]] = field(default_factory=set)  # (file, line) not run here
    outcomes: dict[str, str] = field(default_factory=dict)  # tagged scenario id -> outcome
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    tail: str = ""  # the run's last lines when it produced no report


def run_suite(name: str, flags: tuple[str, ...], features: Path = FEATURES) -> Run:
    """Run the whole suite with ``flags``; read failures and tagged outcomes from its report."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kfp-iso-bugs-") as folder:
        command = [sys.executable, "-m", "pytest", str(features), "-q", "-p", "no:cacheprovider",
                   "--kfp-target", "inprocess", "--kfp-report-dir", folder, *flags]
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        report = Path(folder) / "report.yaml"
        document = yaml.safe_load(report.read_text()) if report.exists() else None
    if document is None:
        output = done.stdout + done.stderr
        return Run(name, flags, seconds=time.monotonic() - started,
                   tail="\n".join(output.splitlines()[-20:]))
    outcomes = {evidence["id"]: evidence["outcome"]
                for finding in document.get("bugs", []) for evidence in finding["evidence"]}
    unsupported = {(entry["file"], int(entry["line"])) for entry in document.get("skipped", [])}
    return Run(name, flags, failing=list(document.get("failures", [])), outcomes=outcomes,
               unsupported=unsupported,
               counts=dict(document["summary"]["counts"]),
               seconds=time.monotonic() - started)


@dataclass(frozen=True)
class Proof:
    """A run judged against the bugs it should reveal."""

    run: Run
    expected: frozenset[str]  # bugs whose tagged scenarios may fail in this run
    # The tagged scenarios that must each fail (a single bug's run), as (file, line).
    required: frozenset[tuple[str, int]] = frozenset()

    @property
    def detected(self) -> list[dict[str, Any]]:
        return [f for f in self.run.failing
                if f["outcome"] == "fail" and self.expected & set(f.get("bugs", ()))]

    @property
    def leaked(self) -> list[dict[str, Any]]:
        return [f for f in self.run.failing if not self.expected & set(f.get("bugs", ()))]

    @property
    def unproven(self) -> list[tuple[str, int]]:
        """Tagged scenarios this setup ran that did not fail in any row."""
        failed = {(f["file"], int(f["line"])) for f in self.detected}
        return sorted(self.required - failed - self.run.unsupported)

    @property
    def ok(self) -> bool:
        if not self.run.counts:
            return False
        if not self.expected:  # nothing switched on: nothing may fail
            return not self.run.failing
        return bool(self.detected) and not self.leaked and not self.unproven

    def line(self) -> str:
        if not self.run.counts:
            return f"{'NO REPORT':12} {self.run.name}"
        if self.ok:
            mark = "detected" if self.expected else "clean"
        else:
            mark = "LEAKED" if self.leaked else "MISSED"
        return (f"{mark:12} {self.run.name:22} {len(self.detected):3} tagged fail, "
                f"{len(self.leaked)} untagged fail/error, {len(self.unproven)} tagged "
                f"scenario(s) passing, {self.run.seconds:5.1f} s")


def secure_problems(run: Run) -> list[str]:
    """Tagged scenarios that do not pass with every bug off (the tag would then prove nothing)."""
    problems = [f"{scenario}: {outcome}" for scenario, outcome in run.outcomes.items()
                if outcome not in CLEAN]
    problems += [f"{f['id']}: {f['outcome']} (untagged)" for f in run.failing
                 if not f.get("bugs")]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.bug_detection",
                                     description="prove the suite detects every switchable bug")
    parser.add_argument("bugs", nargs="*", help="bug ids (default: every switchable bug, every "
                                                "KFP release profile and the secure run)")
    parser.add_argument("--jobs", type=int, default=2, help="suite runs at a time (default 2)")
    args = parser.parse_args(argv)
    chosen = [bugs.normalize(b) for b in args.bugs] or list(bugs.SWITCHABLE)
    unknown = [b for b in chosen if b not in bugs.SWITCHABLE]
    if unknown:
        parser.error(f"not switchable: {', '.join(unknown)} (`kfp-isolation bugs` lists them)")
    locations = tagged_locations()
    jobs: list[tuple[str, tuple[str, ...], frozenset[str], frozenset[tuple[str, int]]]] = [
        (bug_id, ("--kfp-bug", bug_id), frozenset({bug_id}),
         frozenset(locations.get(bug_id, ()))) for bug_id in chosen]
    if not args.bugs:
        jobs.append(("secure", (), frozenset(), frozenset()))
        jobs += [(f"KFP {v.version}", ("--kfp-emulate-kfp", v.version), v.switched,
                  frozenset()) for v in bugs.KFP_VERSIONS.values()]
    started = time.monotonic()
    proofs: list[Proof] = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {pool.submit(run_suite, name, flags): (expected, required)
                   for name, flags, expected, required in jobs}
        for done in as_completed(futures):
            proof = Proof(done.result(), *futures[done])
            proofs.append(proof)
            print(f"[{len(proofs):>2}/{len(jobs)}] {proof.line()}", flush=True)
    failed = [p for p in proofs if not p.ok]
    for proof in failed:
        print(f"\n--- {proof.run.name} ({' '.join(proof.run.flags) or 'no bug'}) ---")
        for entry in proof.leaked:
            print(f"  untagged {entry['outcome']}: {entry['id']} {entry.get('bugs') or ''}")
        for file, line in proof.unproven:
            print(f"  tagged but passing: {file}:{line}")
        if proof.run.tail:
            print(proof.run.tail)
    secure = next((p.run for p in proofs if p.run.name == "secure"), None)
    problems = secure_problems(secure) if secure is not None else []
    for problem in problems:
        print(f"  with every bug off: {problem}")
    print(f"\nbug detection: {len(proofs) - len(failed)}/{len(proofs)} runs as expected "
          f"({len(chosen)} bugs) in {time.monotonic() - started:.0f} s")
    return 1 if failed or problems else 0


if __name__ == "__main__":
    sys.exit(main())

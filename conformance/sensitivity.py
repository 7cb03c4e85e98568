"""The suite's sensitivity check: would it notice if one operation stopped checking authorization?

For every operation of the matrix (both API versions), run the whole suite against an in-process
emulator whose authorization is switched off for that operation alone
(``EmulatorConfig.unguarded_operations``) and require at least one scenario to end ``fail``.
An operation whose run ends with no failure (or only in harness errors) makes the check fail.
Runs stop at their first failing scenario (``--kfp-stop-at-first-fail``; harness errors do not
stop them): one is the proof needed.

    python -m conformance.sensitivity              # every operation, 2 at a time
    python -m conformance.sensitivity RunService_GetRun --jobs 1
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import yaml

from conformance.matrix import PROBES, scenario_id

FEATURES = Path(__file__).resolve().parent.parent / "features"


@dataclass(frozen=True)
class Verdict:
    operation: str
    failures: int
    errors: int
    seconds: float
    tail: str  # the last lines of the run, to show what happened when it was not detected

    @property
    def detected(self) -> bool:
        return self.failures > 0


def check(operation: str, mode: str, features: Path = FEATURES) -> Verdict:
    """Run the suite once with ``operation`` unguarded; count outcomes from its report."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kfp-iso-sensitivity-") as folder:
        command = [sys.executable, "-m", "pytest", str(features), "-q",
                   "--kfp-stop-at-first-fail", "--kfp-target", "inprocess", "--kfp-mode", mode,
                   "--kfp-unguard", operation, "--kfp-report-dir", folder]
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        report = Path(folder) / "report.yaml"
        document = yaml.safe_load(report.read_text()) if report.exists() else None
    counts = ((document or {}).get("summary") or {}).get("counts") or {}
    output = done.stdout + done.stderr
    return Verdict(operation, int(counts.get("fail", 0)), int(counts.get("error", 0)),
                   time.monotonic() - started, "\n".join(output.splitlines()[-15:]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.sensitivity",
                                     description="prove the suite fails when any one operation "
                                                 "stops checking authorization")
    parser.add_argument("operations", nargs="*",
                        help="operations of the matrix (default: all of them)")
    parser.add_argument("--jobs", type=int, default=2, help="suite runs at a time (default 2)")
    parser.add_argument("--mode", default="full-inside",
                        help="mode of the in-process emulator (default full-inside)")
    args = parser.parse_args(argv)
    names = args.operations or [scenario_id(p) for p in PROBES]
    started = time.monotonic()
    verdicts = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(check, name, args.mode) for name in names]
        for done in as_completed(futures):
            verdict = done.result()
            verdicts.append(verdict)
            mark = "detected" if verdict.detected else "MISSED"
            print(f"[{len(verdicts):>3}/{len(names)}] {mark:9} {verdict.operation:50} "
                  f"{verdict.failures} fail, {verdict.errors} error, {verdict.seconds:5.1f} s",
                  flush=True)
    missed = [v for v in verdicts if not v.detected]
    for verdict in missed:
        print(f"\n--- {verdict.operation}: no failing scenario ---\n{verdict.tail}")
    print(f"\nsensitivity: {len(verdicts) - len(missed)}/{len(verdicts)} operations detected "
          f"in {time.monotonic() - started:.0f} s")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Conformance-suite speed: the whole suite against the in-process emulator, end to end.

Runs ``kfp-isolation certify`` (the installed command: emulator start, provisioning through the
Kubernetes API, every scenario, the four reports) a few times in a fresh process and prints the
wall time of each run, the best and the median, their ratio to the 30-second target, and the
scenario count and time per scenario from the run's own report.  Also the pytest-side time
alone (the report's ``duration_seconds``), so start-up cost is visible.

This is a report, not a test: it always exits 0. Usage::

    python benchmarks/bench_suite.py [--runs 3] [--mode full-inside]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

TARGET_SECONDS = 30.0


def one_run(mode: str) -> tuple[float, dict[str, object]]:
    with tempfile.TemporaryDirectory(prefix="kfp-iso-bench-") as folder:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "conformance.cli", "certify", "--mode", mode,
             "--report-dir", folder], capture_output=True, text=True, check=False)
        elapsed = time.monotonic() - started
        report = Path(folder) / "report.yaml"
        document = yaml.safe_load(report.read_text()) if report.exists() else {}
    if done.returncode != 0:
        print(f"  certify exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed, document or {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mode", default="full-inside")
    args = parser.parse_args()
    times, inner, count = [], [], 0
    for index in range(args.runs):
        elapsed, document = one_run(args.mode)
        counts = (document.get("summary") or {}).get("counts") or {}
        count = sum(int(v) for v in counts.values()) if isinstance(counts, dict) else 0
        duration = float(document.get("duration_seconds") or 0.0)
        times.append(elapsed)
        inner.append(duration)
        print(f"run {index + 1}: {elapsed:6.2f} s wall, {duration:6.2f} s in pytest, "
              f"{count} scenarios, {(document.get('summary') or {}).get('verdict', '?')}")
    best, median = min(times), statistics.median(times)
    print(f"\nwhole suite, in-process emulator ({args.mode}), {count} scenarios:")
    print(f"  best   {best:6.2f} s  = {best / TARGET_SECONDS:.2f}x the {TARGET_SECONDS:.0f} s "
          f"target ({'OK' if best < TARGET_SECONDS else 'OVER'})")
    print(f"  median {median:6.2f} s  = {median / TARGET_SECONDS:.2f}x the target "
          f"({'OK' if median < TARGET_SECONDS else 'OVER'})")
    if count:
        print(f"  per scenario (pytest side, median): "
              f"{statistics.median(inner) / count * 1000:.1f} ms")
    print(f"  start-up and reports (wall - pytest side, median): "
          f"{statistics.median(t - i for t, i in zip(times, inner, strict=True)):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

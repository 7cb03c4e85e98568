"""How the recipe runs binaries: a small protocol, so tests record the commands instead."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Protocol


class Runner(Protocol):
    def run(self, argv: list[str], input: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run to completion, capturing stdout and stderr as text; never raises on failure."""

    def start_background(self, argv: list[str], log_path: Path) -> int:
        """Start a long-lived process (a port-forward) writing to ``log_path``; its pid."""

    def alive(self, pid: int) -> bool:
        """Whether ``pid`` is still a process this recipe started."""

    def stop(self, pid: int) -> None:
        """End a process :meth:`start_background` started."""


class SubprocessRunner:
    """The real thing: ``subprocess`` and signals."""

    def run(self, argv: list[str], input: str | None = None) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(argv, input=input, capture_output=True, text=True, check=False)
        except OSError as exc:
            return subprocess.CompletedProcess(argv, 127, "", str(exc))

    def start_background(self, argv: list[str], log_path: Path) -> int:
        with open(log_path, "ab") as log:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        return process.pid

    def alive(self, pid: int) -> bool:
        """Alive and still a ``kubectl port-forward`` (a pid file outlives its process, and
        the pid may have gone to another program since)."""
        proc = Path(f"/proc/{pid}")
        if not Path("/proc/self").exists():  # no procfs (macOS): trust the pid
            try:
                os.kill(pid, 0)
            except OSError:
                return False
            return True
        for _ in range(20):
            try:
                cmdline = (proc / "cmdline").read_bytes()
                state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                return False
            if state == "Z":  # ended, not yet reaped
                return False
            if cmdline:
                return b"port-forward" in cmdline
            time.sleep(0.05)  # empty while a new process is still being exec'd
        return False

    def stop(self, pid: int, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds; reaped when it is our own child."""
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if _gone(pid):
                return
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _gone(pid)


def _gone(pid: int) -> bool:
    """Reap ``pid`` if it is a child of ours that ended; True once it no longer runs."""
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # not our child (another `cluster` command started it)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False
    return reaped == pid

"""``kfp-isolation cluster``: configuration errors and missing binaries end with a message and
exit 2, never a traceback; the real runner starts, recognises and stops a background process."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pytest

from conformance.cluster import cli
from conformance.cluster.runner import SubprocessRunner


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="kfp-isolation")
    cli.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["cluster", *argv])
    return int(args.func(args))


@pytest.fixture
def empty_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.chdir(tmp_path)
    return bin_dir


@pytest.mark.parametrize("command", [["up"], ["down"], ["status"]])
def test_missing_binaries_exit_2_naming_them(command: list[str], empty_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(*command, "--state-dir", str(empty_path.parent / "state")) == 2
    captured = capsys.readouterr()
    assert "kind (get it from https://kind.sigs.k8s.io" in captured.err
    assert "kubectl (get it from" in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert not (empty_path.parent / "state").exists()


def test_up_names_a_missing_container_engine(empty_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    for tool in ("kind", "kubectl", "git"):
        script = empty_path / tool
        script.write_text("#!/bin/sh\nexit 0\n")
        script.chmod(0o755)
    assert run_cli("up") == 2
    err = capsys.readouterr().err
    assert "container engine" in err and "docker" in err and "kubectl (" not in err


@pytest.mark.parametrize("argv, message", [
    (["up", "--manifests", "/nonexistent/checkout"], "no such directory"),
    (["up", "--gateway-port", "70000"], "not a TCP port"),
    (["up", "--timeout", "-1"], "must be positive"),
    (["down", "--name", "a/b"], "--name"),
])
def test_configuration_errors_exit_2(argv: list[str], message: str, empty_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(*argv) == 2
    assert message in capsys.readouterr().err


def test_manifests_and_kustomize_exclude_each_other(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        run_cli("up", "--manifests", "/a", "--kustomize", "/b")
    assert raised.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_the_real_runner(tmp_path: Path) -> None:
    runner = SubprocessRunner()
    done = runner.run([sys.executable, "-c", "import sys; print(sys.stdin.read().upper())"],
                      input="built yaml")
    assert (done.returncode, done.stdout.strip()) == (0, "BUILT YAML")
    missing = runner.run([str(tmp_path / "no-such-binary")])
    assert missing.returncode == 127 and "no-such-binary" in missing.stderr

    log = tmp_path / "forward.log"
    pid = runner.start_background(
        [sys.executable, "-c", "import sys, time; print('forwarding', flush=True); "
         "time.sleep(60)", "port-forward"], log)
    assert runner.alive(pid)
    deadline = time.monotonic() + 20
    while "forwarding" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "forwarding" in log.read_text()
    runner.stop(pid)
    assert not runner.alive(pid)
    # a live process that is no port-forward is not ours to stop
    other = runner.start_background([sys.executable, "-c", "import time; time.sleep(60)"], log)
    try:
        assert not runner.alive(other)
    finally:
        runner.stop(other)


def test_a_step_that_fails_exits_1_with_its_error(empty_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (empty_path / "kind").write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\n"
                                     "exit 1\n")
    (empty_path / "kubectl").write_text("#!/bin/sh\nexit 0\n")
    for tool in ("kind", "kubectl"):
        (empty_path / tool).chmod(0o755)
    assert run_cli("down") == 1
    err = capsys.readouterr().err
    assert "kind get clusters failed (exit 1): Cannot connect to the Docker daemon" in err
    assert "Traceback" not in err

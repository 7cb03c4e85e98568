"""``kfp-isolation serve`` refuses a bad setup with a clear message and exit code 2, never a
traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cli import SetupError, load_setup, main

PORTS = ["--port", "0", "--gateway-port", "0", "--kube-port", "0"]


def write_setup(tmp_path: Path, contributors: str) -> Path:
    setup = tmp_path / "setup.yaml"
    setup.write_text("profiles:\n  - name: team-a\n    owner: ann@example.com\n"
                     f"    contributors: {contributors}\n")
    return setup


def test_a_contributor_with_an_email_is_accepted(tmp_path: Path) -> None:
    setup = load_setup(write_setup(tmp_path, "[{email: ben@example.com}]"))
    assert setup.profiles[0].contributors == (("ben@example.com", "edit"),)


@pytest.mark.parametrize("contributors", [
    "[{role: view}]",  # no email
    "[ben@example.com]",  # not a mapping
    "[[ben@example.com, view]]",
    "[{email: 5}]",
    "[{email: ben@example.com, role: [view]}]",
])
def test_bad_contributor_entries_are_setup_errors(tmp_path: Path, contributors: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    setup = write_setup(tmp_path, contributors)
    with pytest.raises(SetupError, match=r"team-a.*contributor"):
        load_setup(setup)
    assert main(["serve", "--setup", str(setup), *PORTS]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kfp-isolation: ") and "contributor" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("mode", ["full-inside", "full-outside"])
def test_single_user_contradicts_a_full_mode(mode: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--single-user", "--mode", mode, *PORTS]) == 2
    err = capsys.readouterr().err
    assert "contradicts" in err and mode in err
    assert "Traceback" not in err

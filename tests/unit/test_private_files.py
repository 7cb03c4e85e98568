"""Credential files are owner-only, also when they existed with a wider mode."""

from __future__ import annotations

import stat
from pathlib import Path

from conformance.target import LoginUser, Target
from emulator.kube.kubeconfig import write_kubeconfig
from emulator.private_files import write_private


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_is_owner_only(tmp_path: Path) -> None:
    path = write_private(tmp_path / "new" / "secret", "s3cret")
    assert path.read_text() == "s3cret" and mode_of(path) == 0o600


def test_an_existing_world_readable_file_is_narrowed_and_replaced(tmp_path: Path) -> None:
    path = tmp_path / "old"
    path.write_text("a much longer previous content\n")
    path.chmod(0o644)
    write_private(path, b"new")
    assert path.read_bytes() == b"new" and mode_of(path) == 0o600


def test_a_target_file_with_passwords_and_a_kubeconfig_rewritten_over_open_files(
        tmp_path: Path) -> None:
    target_file, kubeconfig = tmp_path / "target.yaml", tmp_path / "kubeconfig"
    for path in (target_file, kubeconfig):
        path.write_text("")
        path.chmod(0o644)
    Target("t", None, kfp_gateway="http://gw/pipeline",
           users=(LoginUser("a@example.com", "s3cret"),)).dump(target_file)
    write_kubeconfig(kubeconfig, "https://127.0.0.1:6443", "token")
    assert "s3cret" in target_file.read_text() and mode_of(target_file) == 0o600
    assert "token" in kubeconfig.read_text() and mode_of(kubeconfig) == 0o600


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = write_private(tmp_path / "kept", "old")
    try:
        write_private(path, object())  # type: ignore[arg-type]
    except TypeError:
        pass
    else:
        raise AssertionError("an object is no data")
    assert path.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["kept"]

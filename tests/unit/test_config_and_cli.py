"""Configuration from the real server's env vars, and the ``kfp-isolation serve`` command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from conformance.cli import SetupError, load_setup, main
from emulator.config import EmulatorConfig
from emulator.serving import free_port


def test_env_vars_use_the_real_server_names_and_empty_counts_as_set() -> None:
    config = EmulatorConfig.from_env({
        "MULTIUSER": "false", "KUBEFLOW_USERID_HEADER": "x-user", "KUBEFLOW_USERID_PREFIX": "",
        "MULTIUSER_SHARED_READ": "true", "POD_NAMESPACE": "kfp",
    })
    assert not config.multiuser
    assert config.userid_header == "x-user"
    assert config.userid_prefix == ""
    assert config.shared_read
    assert config.pod_namespace == "kfp"


def test_setup_file_declares_profiles_contributors_and_users(tmp_path: Path) -> None:
    setup = tmp_path / "setup.yaml"
    setup.write_text(
        "config: {require_namespace_for_pipelines: true}\n"
        "profiles:\n"
        "  - name: team-a\n    owner: ann@example.com\n"
        "    contributors: [{email: ben@example.com, role: view}]\n"
        "users: [ops@example.com]\n")
    setup_data = load_setup(setup)
    assert setup_data.config == {"require_namespace_for_pipelines": True}
    assert setup_data.profiles[0].name == "team-a" and setup_data.profiles[0].contributors == (
        ("ben@example.com", "view"),)
    assert setup_data.users == {"ops@example.com": "12341234"}


@pytest.mark.parametrize("text", ["- a list\n", "profiles: [{name: x}]\n", "config: 3\n",
                                  "{unclosed\n"])
def test_bad_setup_files_are_clear_errors(tmp_path: Path, text: str) -> None:
    setup = tmp_path / "bad.yaml"
    setup.write_text(text)
    with pytest.raises(SetupError):
        load_setup(setup)


def test_unknown_config_keys_fail_with_exit_code_2(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    setup = tmp_path / "s.yaml"
    setup.write_text("config: {multi_user: true}\n")
    assert main(["serve", "--setup", str(setup), "--port", "0", "--gateway-port", "0",
                 "--kube-port", "0"]) == 2
    assert "unknown config keys: multi_user" in capsys.readouterr().err


def test_serve_prints_url_users_and_working_tokens(tmp_path: Path) -> None:
    port = free_port()
    log_file = tmp_path / "emulator.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "conformance.cli", "serve", "--port", str(port), "--demo",
         "--gateway-port", "0", "--kube-port", "0",
         "--log-file", str(log_file)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(url + "/apis/v2beta1/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "serve did not come up"
            time.sleep(0.1)
        proc.terminate()
        output, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert url in output
    assert "profile alice: owner alice@example.com" in output
    tokens = re.findall(r"^\s+(ey[\w-]+\.[\w-]+\.[\w-]+)$", output, re.M)
    assert tokens, output
    assert log_file.exists()


def test_banner_tokens_authenticate_against_the_served_api() -> None:
    from emulator.core import Emulator
    from emulator.serving import EmulatorServer
    from emulator.testing import standard_profiles

    emulator = Emulator(profiles=standard_profiles())
    with EmulatorServer(emulator) as server:
        token = emulator.service_account_token("alice")
        ok = requests.get(server.url + "/apis/v2beta1/experiments?namespace=alice",
                          headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert ok.status_code == 200
        denied = requests.get(server.url + "/apis/v2beta1/experiments?namespace=bob",
                              headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert denied.status_code == 403

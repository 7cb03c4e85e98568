"""The target file format, the four modes, and ``serve --write-target``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

from conformance.target import REDACTED, LoginUser, Target, TargetError
from emulator.core import Emulator
from emulator.modes import MODE_HEADER, Listener, Mode
from emulator.serving import EmulatorServer, free_port
from emulator.testing import standard_profiles


def test_modes_split_into_deployment_and_way_in() -> None:
    assert [(m.deployment, m.access, m.multiuser, m.entry) for m in Mode] == [
        ("full", "inside", True, Listener.DIRECT),
        ("full", "outside", True, Listener.GATEWAY),
        ("standalone", "inside", False, Listener.DIRECT),
        ("standalone", "outside", False, Listener.GATEWAY),
    ]


@pytest.mark.parametrize("mode", list(Mode))
def test_healthz_of_both_versions_states_the_mode(mode: Mode) -> None:
    emulator = Emulator(profiles=standard_profiles(), mode=mode)
    assert emulator.config.multiuser is mode.multiuser
    with EmulatorServer(emulator) as server:
        for version in ("v1beta1", "v2beta1"):
            response = requests.get(f"{server.url}/apis/{version}/healthz", timeout=5)
            assert response.status_code == 200
            assert response.headers[MODE_HEADER] == mode.value
            assert response.json()["multi_user"] is mode.multiuser
        info = requests.get(server.url + "/_emulator", timeout=5).json()
        assert info["mode"] == mode.value


def test_each_listener_has_its_own_port(tmp_path: Path) -> None:
    with EmulatorServer(Emulator()) as server:
        assert len({server.url, server.gateway_url, server.kube_url}) == 3
        ok = requests.get(server.url + "/apis/v2beta1/healthz", timeout=5)
        assert ok.status_code == 200
        # The Kubernetes listener (TLS, its own certificate) does not serve the KFP API.
        other = requests.get(server.kube_url + "/apis/v2beta1/healthz", timeout=5,
                             verify=str(server.write_kube_ca(tmp_path / "ca.crt")),
                             headers={"Authorization": f"Bearer {server.emulator.admin_token()}"})
        assert other.status_code == 404
        assert other.json()["reason"] == "NotFound"


def test_target_round_trips_and_redacts_passwords(tmp_path: Path) -> None:
    target = Target(name="t", mode=Mode.FULL_OUTSIDE, kfp_direct="http://d:8888",
                    kfp_gateway="http://g:8080/pipeline", gateway="http://g:8080",
                    kubeconfig="/k", users=(LoginUser("a@x", "secret"),
                                            LoginUser("b@x", password_env="B_PASSWORD")),
                    emulator_controls="http://d:8888/_emulator")
    path = target.dump(tmp_path / "target.yaml")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    loaded = Target.load(path)
    assert loaded == target
    assert loaded.kfp_host == "http://g:8080/pipeline"
    assert "secret" not in yaml.safe_dump(target.redacted())
    assert target.redacted()["users"][0]["password"] == REDACTED


def test_password_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    user = LoginUser("b@x", password_env="KFP_ISO_TEST_PASSWORD")
    with pytest.raises(TargetError, match="KFP_ISO_TEST_PASSWORD is not set"):
        user.resolve_password()
    monkeypatch.setenv("KFP_ISO_TEST_PASSWORD", "pw")
    assert user.resolve_password() == "pw"


@pytest.mark.parametrize("data, message", [
    ([], "expected a mapping"),
    ({"apiVersion": "v9", "kind": "Target"}, "expected apiVersion"),
    ({"apiVersion": "kfp-isolation/v1", "kind": "Target", "mode": "sideways"}, "mode must be"),
    ({"apiVersion": "kfp-isolation/v1", "kind": "Target", "mode": "full-inside", "kfp": {}},
     "needs a 'direct' or 'gateway'"),
    ({"apiVersion": "kfp-isolation/v1", "kind": "Target", "mode": "full-inside",
      "kfp": {"gateway": "http://g"}}, "needs the kfp direct URL"),
    ({"apiVersion": "kfp-isolation/v1", "kind": "Target", "mode": "full-outside",
      "kfp": {"gateway": "http://g"}, "users": [{"password": "x"}]}, "needs an 'email'"),
])
def test_bad_target_files_are_clear_errors(data: object, message: str) -> None:
    with pytest.raises(TargetError, match=message):
        Target.from_dict(data)


def test_serve_writes_a_target_file_and_kubeconfig_that_connect(tmp_path: Path) -> None:
    ports = [free_port() for _ in range(3)]
    target_file = tmp_path / "emulator.yaml"
    proc = subprocess.Popen(
        [sys.executable, "-m", "conformance.cli", "serve", "--port", str(ports[0]),
         "--gateway-port", str(ports[1]), "--kube-port", str(ports[2]),
         "--mode", "full-outside", "--write-target", str(target_file),
         "--log-file", str(tmp_path / "log")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 20
        while not target_file.exists() or not _up(f"http://127.0.0.1:{ports[0]}"):
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "serve did not come up"
            time.sleep(0.1)
        target = Target.load(target_file)
        assert target.mode is Mode.FULL_OUTSIDE
        assert target.kfp_direct == f"http://127.0.0.1:{ports[0]}"
        assert target.kfp_host == f"http://127.0.0.1:{ports[1]}/pipeline"
        assert {u.email for u in target.users} >= {"alice@example.com", "bob@example.com"}
        kubeconfig = yaml.safe_load(Path(target.kubeconfig).read_text())
        assert kubeconfig["clusters"][0]["cluster"]["server"] == f"https://127.0.0.1:{ports[2]}"
        info = requests.get(target.emulator_controls, timeout=5).json()
        assert info["mode"] == "full-outside"
        proc.terminate()
        output, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "MODE: FULL-OUTSIDE" in output


def _up(url: str) -> bool:
    try:
        return requests.get(url + "/apis/v2beta1/healthz", timeout=1).ok
    except requests.ConnectionError:
        return False


def test_serve_on_a_taken_port_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    from conformance.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", "0", "--gateway-port", str(port),
                     "--kube-port", "0"]) == 2
    assert "Address already in use" in capsys.readouterr().err


def test_a_server_accepts_connections_before_it_starts_serving() -> None:
    """``serve --write-target`` writes the file before the event loop runs: a client that reads
    it at once must be queued, not refused."""
    import socket

    from emulator.serving import EmulatorServer

    server = EmulatorServer()
    try:
        for port in server.ports.values():
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    finally:
        server.stop()  # never started: closes the sockets

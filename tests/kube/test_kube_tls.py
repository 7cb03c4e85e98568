"""The Kubernetes listener's certificate, made by ``openssl`` or, without it, ``cryptography``:
either way clients verify it against the kubeconfig's CA data and reach the API."""

from __future__ import annotations

import shutil
import ssl

import pytest
import requests

from emulator.core import Emulator
from emulator.kube.api import tls
from emulator.serving import EmulatorServer


@pytest.mark.parametrize("maker", ["openssl", "cryptography"])
def test_the_certificate_verifies_for_the_listener(maker: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    if maker == "openssl" and shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed (the cryptography case covers this)")
    if maker == "cryptography":
        monkeypatch.setattr(tls.shutil, "which", lambda name: None)
    with EmulatorServer(Emulator()) as server:
        cert_file = server.kube_cert.cert_file
        assert oct(server.kube_cert.key_file.stat().st_mode & 0o777) == "0o600"
        info = ssl._ssl._test_decode_cert(str(cert_file))  # type: ignore[attr-defined]
        assert ("IP Address", "127.0.0.1") in info["subjectAltName"]
        assert ("DNS", "localhost") in info["subjectAltName"]
        version = requests.get(server.kube_url + "/version", verify=str(cert_file), timeout=5)
        assert version.status_code == 200
        assert version.json()["major"] == "1"
    assert not cert_file.exists()  # removed with the server

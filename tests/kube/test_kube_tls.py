"""The Kubernetes listener's certificate, made by ``openssl`` or, without it, ``cryptography``:
either way clients verify it against the kubeconfig's CA data, and no key stays on disk."""

from __future__ import annotations

import shutil
import ssl
import tempfile
from pathlib import Path

import pytest
import requests

from emulator.core import Emulator
from emulator.kube.api import tls
from emulator.serving import EmulatorServer


@pytest.mark.parametrize("maker", ["openssl", "cryptography"])
def test_the_certificate_verifies_for_the_listener(maker: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    if maker == "openssl" and shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed (the cryptography case covers this)")
    if maker == "cryptography":
        monkeypatch.setattr(tls.shutil, "which", lambda name: None)
    scratch = Path(tempfile.gettempdir())
    before = set(scratch.glob("kfp-iso-kube-*"))
    with EmulatorServer(Emulator()) as server:
        assert set(scratch.glob("kfp-iso-kube-*")) == before  # the key was never left behind
        ca = server.write_kube_ca(tmp_path / "ca.crt")
        info = ssl._ssl._test_decode_cert(str(ca))  # type: ignore[attr-defined]
        assert ("IP Address", "127.0.0.1") in info["subjectAltName"]
        assert ("DNS", "localhost") in info["subjectAltName"]
        version = requests.get(server.kube_url + "/version", verify=str(ca), timeout=5)
        assert version.status_code == 200
        assert version.json()["major"] == "1"

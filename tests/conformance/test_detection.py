"""The deployment mode from the deployment's own answers (conformance.detection)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conformance.detection import detect, resolve
from conformance.target import Target, TargetError
from conformance.targets import describe_emulator
from emulator.core import Emulator
from emulator.modes import Mode
from emulator.serving import EmulatorServer


@pytest.fixture(params=list(Mode), ids=lambda m: m.value)
def served(request: pytest.FixtureRequest) -> Iterator[Target]:
    with EmulatorServer(Emulator(profiles=[], mode=request.param)) as server:
        yield describe_emulator(server, None)


def test_an_undeclared_mode_is_detected(served: Target) -> None:
    declared = served.mode
    assert declared is not None
    if declared.access == "inside":  # what an in-cluster target file names: the direct door
        target = dataclasses.replace(served, mode=None, kfp_gateway="")
    else:  # from outside only the gateway is reachable
        target = dataclasses.replace(served, mode=None, kfp_direct="")
    assert resolve(target).mode is declared


def test_a_declared_mode_the_deployment_contradicts_is_refused(served: Target) -> None:
    declared = served.mode
    assert declared is not None
    wrong = Mode(("standalone-" if declared.multiuser else "full-") + declared.access)
    assert resolve(served).mode is declared  # the positive control: the true mode is accepted
    with pytest.raises(TargetError, match="but the deployment is"):
        resolve(dataclasses.replace(served, mode=wrong))


class _HttpsRedirect(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(301)
        self.send_header("Location", "https://example.com" + self.path)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_redirect_to_https_is_no_login_proxy() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HttpsRedirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        target = Target(name="plain", mode=None,
                        kfp_gateway=f"http://127.0.0.1:{server.server_port}/pipeline")
        found = detect(target)
    finally:
        server.shutdown()
        server.server_close()
    assert found.multiuser is None and found.mode() is None
    with pytest.raises(TargetError, match="cannot detect its mode"):
        resolve(target)

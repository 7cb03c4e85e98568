"""Fixtures for the UI server tests: a full-outside emulator (requests through the gateway as a
signed-in user) and a standalone-outside one (the port-forward to ml-pipeline-ui), each reset
before every test, and a way to call the UI server's app directly, with no gateway in front."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest

from emulator.core import Emulator
from emulator.modes import Mode
from emulator.serving import EmulatorServer
from emulator.testing import standard_profiles
from emulator.ui.server import UiServerApp
from tests.gateway.conftest import Gateway, gw  # noqa: F401 (gw: the shared fixture)

BUCKET = "mlpipeline"


@pytest.fixture(scope="session")
def standalone_server() -> Iterator[EmulatorServer]:
    server = EmulatorServer(Emulator(profiles=standard_profiles(),
                                     mode=Mode.STANDALONE_OUTSIDE))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def standalone(standalone_server: EmulatorServer) -> EmulatorServer:
    standalone_server.emulator.reset()
    return standalone_server


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes = b""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def call_app(app: Any, path: str, query: dict[str, str] | str | None = None,
             headers: dict[str, str] | None = None, method: str = "GET",
             body: bytes = b"") -> Answer:
    """One request straight into an ASGI app (no network, no gateway); ``query`` as a dict
    or as the raw query string (to repeat a parameter)."""
    query_string = (query if isinstance(query, str) else urlencode(query or {})).encode()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": query_string, "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    answer = Answer(0, {})
    sent_body = False

    async def receive() -> dict[str, Any]:
        nonlocal sent_body
        if sent_body:
            return {"type": "http.disconnect"}
        sent_body = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            answer.body += message.get("body", b"")

    asyncio.run(app(scope, receive, send))
    return answer


def ui_app(emulator: Emulator) -> UiServerApp:
    """The UI server of the emulator's gateway (the same object requests go through)."""
    from emulator.http.app import build_app
    from emulator.ui.server import build_ui_server_app
    from emulator.webui.app import build_web_app

    return build_ui_server_app(emulator, build_app(emulator), build_web_app(emulator))

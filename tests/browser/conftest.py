"""Fixtures for the web UI tests: one full-Kubeflow emulator served on free ports (reset before
each test), one headless system Chromium driven through :class:`conformance.ui_driver.UiDriver`,
and API sessions signed in through the same gateway to seed data and to check what the UI did.

Screenshots: after every test that used the browser, the page it ended on is saved as
``<test name>.png`` in ``$KFP_ISOLATION_ARTIFACTS/browser`` when that variable is set, else in
``.tox/browser/screenshots`` under the project root.

The browser tests skip, with the reason, only when Chromium (``$KFP_ISOLATION_CHROMIUM`` or
``/usr/bin/chromium``) or the playwright package is missing.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from conformance.login import login_cookies
from conformance.ui_driver import UiDriver, available
from emulator.core import DEFAULT_PASSWORD, Emulator
from emulator.kfp.models import RuntimeState
from emulator.serving import EmulatorServer

V2 = "/apis/v2beta1"
ROOT = Path(__file__).resolve().parents[2]
DEMO_PIPELINE = ROOT / "emulator" / "webui" / "static" / "demo-pipeline.json"
FINAL = {RuntimeState.SUCCEEDED.value, RuntimeState.FAILED.value, RuntimeState.SKIPPED.value,
         RuntimeState.CANCELED.value}


def screenshot_dir() -> Path:
    artifacts = os.environ.get("KFP_ISOLATION_ARTIFACTS")
    return Path(artifacts) / "browser" if artifacts else ROOT / ".tox" / "browser" / "screenshots"


@dataclass
class WebEnv:
    """The served emulator, with API sessions per person (signed in through the gateway)."""

    server: EmulatorServer
    _sessions: dict[str, requests.Session] = field(default_factory=dict)

    @property
    def emulator(self) -> Emulator:
        return self.server.emulator

    @property
    def url(self) -> str:
        return self.server.gateway_url

    def api(self, email: str) -> requests.Session:
        if email not in self._sessions:
            session = requests.Session()
            session.headers["Cookie"] = login_cookies(f"{self.url}/pipeline", email,
                                                      DEFAULT_PASSWORD)
            self._sessions[email] = session
        return self._sessions[email]

    def call(self, email: str, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.api(email).request(method, f"{self.url}/pipeline{V2}{path}", timeout=30,
                                       **kwargs)

    def ok(self, email: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.call(email, method, path, **kwargs)
        assert response.status_code == 200, f"{method} {path}: {response.text}"
        body: dict[str, Any] = response.json()
        return body

    def create_experiment(self, email: str, name: str, namespace: str) -> dict[str, Any]:
        return self.ok(email, "POST", "/experiments",
                       json={"display_name": name, "namespace": namespace})

    def create_run(self, email: str, name: str, experiment_id: str) -> dict[str, Any]:
        spec = json.loads(DEMO_PIPELINE.read_text())
        return self.ok(email, "POST", "/runs", json={
            "display_name": name, "experiment_id": experiment_id, "pipeline_spec": spec})

    def names(self, email: str, what: str, namespace: str) -> list[str]:
        """Display names ``email`` lists in ``namespace`` (``what``: experiments or runs)."""
        body = self.ok(email, "GET", f"/{what}", params={"namespace": namespace,
                                                         "page_size": 200})
        return sorted(item["display_name"] for item in body.get(what) or [])

    def finish(self, email: str, run_id: str, step: float = 5.0, limit: int = 200) -> str:
        """Advance the emulator's clock until the run is over; its final state."""
        for _ in range(limit):
            state = str(self.ok(email, "GET", f"/runs/{run_id}")["state"])
            if state in FINAL:
                return state
            self.emulator.advance(step)
        raise AssertionError(f"run {run_id} did not finish in {step * limit} virtual seconds")


@pytest.fixture(scope="session")
def web_server(gateway_server: EmulatorServer) -> EmulatorServer:
    return gateway_server


@pytest.fixture
def web(web_server: EmulatorServer) -> WebEnv:
    web_server.emulator.reset()
    return WebEnv(web_server)


@pytest.fixture(scope="session")
def browser_driver(web_server: EmulatorServer) -> Iterator[UiDriver]:
    reason = available()
    if reason is not None:
        pytest.skip(f"browser tests need Chromium and playwright: {reason}")
    driver = UiDriver(web_server.gateway_url)
    yield driver
    driver.close()


@pytest.fixture
def ui(browser_driver: UiDriver, web: WebEnv,
       request: pytest.FixtureRequest) -> Iterator[UiDriver]:
    """The browser, for a test against the freshly reset emulator; the page the test ends on
    is saved as a screenshot."""
    yield browser_driver
    if browser_driver.has_page:
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        try:
            browser_driver.screenshot(screenshot_dir() / f"{name}.png")
        except Exception as exc:  # a failed picture must not hide the test's own outcome
            print(f"screenshot of {name} failed: {exc}")

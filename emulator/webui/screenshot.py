"""Capture the web UI for the README: ``python -m emulator.webui.screenshot docs/images/webui.png``.

Serves a demo emulator on free ports (alice and bob, each owning a namespace), adds a little data
through the API as each owner, lets bob be refused in alice's namespace once, then signs alice in
through the real login flow in headless Chromium and captures the page of her finished run
(tasks, artifacts from ML Metadata), with the decisions panel showing bob's refusal.  ``--home``
captures her namespace's page instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import requests

from conformance.login import login_cookies
from conformance.ui_driver import UiDriver, available
from emulator.core import DEFAULT_PASSWORD, Emulator
from emulator.modes import Mode
from emulator.serving import EmulatorServer
from emulator.testing import OWNER, STRANGER, standard_profiles
from emulator.webui.app import load_static

V2 = "/pipeline/apis/v2beta1"


class Seeder:
    """API calls as a signed-in person, through the gateway."""

    def __init__(self, gateway_url: str, email: str) -> None:
        self.url = gateway_url
        self.session = requests.Session()
        self.session.headers["Cookie"] = login_cookies(f"{gateway_url}/pipeline", email,
                                                       DEFAULT_PASSWORD)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.session.post(f"{self.url}{V2}{path}", json=body, timeout=30)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def get(self, path: str, **params: str) -> requests.Response:
        return self.session.get(f"{self.url}{V2}{path}", params=params, timeout=30)


def populate(server: EmulatorServer) -> None:
    spec = json.loads(load_static()["demo-pipeline.json"])
    alice, bob = Seeder(server.gateway_url, OWNER), Seeder(server.gateway_url, STRANGER)
    training = alice.post("/experiments", {"display_name": "nightly-training",
                                           "description": "the model we ship",
                                           "namespace": "alice"})
    alice.post("/experiments", {"display_name": "data-checks", "namespace": "alice"})
    bob.post("/experiments", {"display_name": "bob-private", "namespace": "bob"})
    alice.post("/runs", {"display_name": "baseline", "pipeline_spec": spec,
                                 "experiment_id": training["experiment_id"]})
    server.emulator.advance(120)  # the first run finishes; the second is still running
    alice.post("/runs", {"display_name": "more-rows", "pipeline_spec": spec,
                         "experiment_id": training["experiment_id"],
                         "runtime_config": {"parameters": {"rows": 1000}}})
    server.emulator.advance(2)
    alice.post("/recurringruns", {
        "display_name": "every-hour", "pipeline_spec": spec,
        "experiment_id": training["experiment_id"], "max_concurrency": "1", "mode": "ENABLE",
        "trigger": {"periodic_schedule": {"interval_second": "3600"}}})
    refused = bob.get("/runs", namespace="alice")  # recorded in the decisions panel
    if refused.status_code != 403:
        raise RuntimeError(f"expected bob to be refused in alice, got {refused.status_code}")


def capture(target: Path, run_page: bool = True) -> Path:
    server = EmulatorServer(Emulator(profiles=standard_profiles(), mode=Mode.FULL_OUTSIDE))
    server.start()
    try:
        populate(server)
        driver = UiDriver(server.gateway_url)
        try:
            driver.sign_in(OWNER, DEFAULT_PASSWORD)
            driver.choose_namespace("alice")
            if run_page:
                driver.open_run("baseline")
            return driver.screenshot(target)
        finally:
            driver.close()
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, help="where to write the PNG")
    parser.add_argument("--home", action="store_true",
                        help="capture the namespace's page instead of a run's")
    args = parser.parse_args(argv)
    reason = available()
    if reason is not None:
        print(f"cannot take the screenshot: {reason}", file=sys.stderr)
        return 2
    written = capture(args.path, run_page=not args.home)
    print(f"wrote {written} ({written.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

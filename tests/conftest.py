"""Make ``tests.support`` importable however pytest is launched (``pytest`` or ``python -m``), and
serve the emulator the gateway, UI server, ML Metadata and browser tests share (and one per
historical bug for the bug-switch tests)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from emulator.config import EmulatorConfig
from emulator.core import Emulator
from emulator.modes import Mode
from emulator.serving import EmulatorServer
from emulator.testing import standard_profiles

if TYPE_CHECKING:
    from tests.gateway.conftest import Gateway

_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

# Feature runs in-process (tests/conformance) need pytester, whichever test file runs alone.
pytest_plugins = ["pytester"]


@pytest.fixture(scope="session")
def gateway_server() -> Iterator[EmulatorServer]:
    """Full Kubeflow with the standard cast, reached from outside; shared by the gateway, UI
    server, ML Metadata and browser tests (each resets it first)."""
    with EmulatorServer(Emulator(profiles=standard_profiles(),
                                 mode=Mode.FULL_OUTSIDE)) as server:
        yield server



@pytest.fixture(scope="session")
def bug_servers() -> Iterator[dict[str, EmulatorServer]]:
    """One full-outside emulator per historical bug, started when a test first asks for it."""
    started: dict[str, EmulatorServer] = {}
    yield started
    for server in started.values():
        server.stop()


@pytest.fixture
def bugged(bug_servers: dict[str, EmulatorServer]) -> Callable[[str], Gateway]:
    """``bugged("ISO-023")``: the gateway of a reset emulator with that one bug switched on."""
    from tests.gateway.conftest import Gateway

    def make(bug: str) -> Gateway:
        if bug not in bug_servers:
            emulator = Emulator(EmulatorConfig(bugs=frozenset({bug})),
                                profiles=standard_profiles(), mode=Mode.FULL_OUTSIDE)
            bug_servers[bug] = EmulatorServer(emulator)
            bug_servers[bug].start()
        bug_servers[bug].emulator.reset()
        return Gateway(bug_servers[bug])
    return make

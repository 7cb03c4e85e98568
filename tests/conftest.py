"""Make ``tests.support`` importable however pytest is launched (``pytest`` or ``python -m``), and
serve the emulator the gateway, UI server, ML Metadata and browser tests share."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.core import Emulator
from emulator.modes import Mode
from emulator.serving import EmulatorServer
from emulator.testing import standard_profiles

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


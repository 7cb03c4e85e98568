"""pytest fixtures: one emulator server per session, reset before every test.

``kfp_env`` gives a :class:`~emulator.testing.KfpTestEnv` with the standard cast (owner,
contributor, viewer, stranger, anonymous) provisioned; ``kfp_home`` isolates ``HOME`` so the
SDK's ``~/.config/kfp/context.json`` never leaks between tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.core import Emulator
from emulator.serving import EmulatorServer
from emulator.testing import KfpTestEnv, standard_profiles


@pytest.fixture(scope="session")
def kfp_emulator_server() -> Iterator[EmulatorServer]:
    server = EmulatorServer(Emulator(profiles=standard_profiles())).start()
    yield server
    server.stop()


@pytest.fixture
def kfp_env(kfp_emulator_server: EmulatorServer) -> Iterator[KfpTestEnv]:
    kfp_emulator_server.emulator.reset()
    yield KfpTestEnv(kfp_emulator_server.emulator, kfp_emulator_server)


@pytest.fixture
def kfp_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home

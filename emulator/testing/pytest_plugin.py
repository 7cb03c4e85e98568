"""pytest fixtures: one emulator server per session, reset before every test.

``kfp_env`` gives a :class:`~emulator.testing.KfpTestEnv` with the standard cast (owner,
contributor, viewer, stranger, anonymous) provisioned; ``kfp_home`` isolates ``HOME`` so the
SDK's ``~/.config/kfp/context.json`` never leaks between tests.  ``kfp_emulator_container``
serves the emulator's image with testcontainers instead (emulator.testing.container).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.core import Emulator
from emulator.serving import EmulatorServer
from emulator.testing import KfpTestEnv, standard_profiles
from emulator.testing.container import kfp_emulator_container

__all__ = ["kfp_emulator_container"]  # the emulator's image instead (skips without Docker)


@pytest.fixture(scope="session")
def kfp_emulator_server() -> Iterator[EmulatorServer]:
    server = EmulatorServer(Emulator(profiles=standard_profiles())).start()
    yield server
    server.stop()


@pytest.fixture
def kfp_env(kfp_emulator_server: EmulatorServer) -> Iterator[KfpTestEnv]:
    kfp_emulator_server.emulator.reset()
    env = KfpTestEnv(kfp_emulator_server.emulator, kfp_emulator_server)
    yield env
    env.close()


# Both SDK majors resolve ~/.config/kfp/context.json once, at import time, into a class
# attribute; changing HOME afterwards does not move it.  (module, Client attribute)
_SDK_CONTEXT_PATHS = (("kfp.client.client", "_LOCAL_KFP_CONTEXT"),  # kfp 2.x
                      ("kfp._client", "LOCAL_KFP_CONTEXT"))  # kfp 1.8


@pytest.fixture
def kfp_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    context = str(home / ".config" / "kfp" / "context.json")
    for module_name, attribute in _SDK_CONTEXT_PATHS:
        client = getattr(sys.modules.get(module_name), "Client", None)
        if client is not None and hasattr(client, attribute):
            monkeypatch.setattr(client, attribute, context)
    return home

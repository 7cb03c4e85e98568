"""Served emulators, one per object-store credential mode (see tests.objectstore.s3_support)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.config import EmulatorConfig
from emulator.core import Emulator
from emulator.serving import EmulatorServer
from emulator.testing import standard_profiles
from tests.objectstore.s3_support import Store


def _serve(credentials: str, tmp: Path) -> Iterator[Store]:
    emulator = Emulator(EmulatorConfig(artifact_credentials=credentials),
                        profiles=standard_profiles())
    with EmulatorServer(emulator) as server:
        yield Store(emulator, server, tmp)


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    yield from _serve("shared", tmp_path_factory.mktemp("s3-shared"))


@pytest.fixture(scope="module")
def per_ns_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    yield from _serve("per-namespace", tmp_path_factory.mktemp("s3-per-ns"))


@pytest.fixture
def fresh_per_ns_store(tmp_path: Path) -> Iterator[Store]:
    """A store of the test's own (it deletes profiles or resets)."""
    yield from _serve("per-namespace", tmp_path)

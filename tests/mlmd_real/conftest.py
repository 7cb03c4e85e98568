"""The real ml-metadata package (tox env mlmd): its message classes and its own engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

metadata_store = pytest.importorskip(
    "ml_metadata.metadata_store.metadata_store",
    reason="needs ml-metadata==1.17.1 (tox env mlmd; it pins protobuf<5, apart from kfp)")

from ml_metadata import errors  # noqa: E402
from ml_metadata.proto import metadata_store_pb2  # noqa: E402

from emulator.core import Emulator  # noqa: E402
from emulator.serving import EmulatorServer  # noqa: E402


@pytest.fixture
def real_store(tmp_path: Path) -> Any:
    """ml-metadata's engine in-process over SQLite: the reference for the emulator."""
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(tmp_path / "mlmd.sqlite")
    config.sqlite.connection_mode = 3  # READWRITE_OPENCREATE
    return metadata_store.MetadataStore(config)


@pytest.fixture(scope="session")
def served() -> Iterator[EmulatorServer]:
    server = EmulatorServer(Emulator())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def emulator_url(served: EmulatorServer) -> str:
    served.emulator.reset()
    return served.metadata_url


StatusError = errors.StatusError

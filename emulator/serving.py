"""Serve an emulator over HTTP with uvicorn, in a background thread or in the foreground."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn

from emulator.core import Emulator
from emulator.http.app import build_app

READY_TIMEOUT_SECONDS = 10.0


def free_port(host: str = "127.0.0.1") -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _uvicorn_config(emulator: Emulator, host: str, port: int, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        build_app(emulator), host=host, port=port, log_level=log_level, access_log=False,
        lifespan="on", loop="auto", http="auto", timeout_graceful_shutdown=2,
    )


class EmulatorServer:
    """An emulator listening on ``host:port`` from a daemon thread; stop() shuts it down."""

    def __init__(self, emulator: Emulator | None = None, host: str = "127.0.0.1",
                 port: int = 0, log_level: str = "warning") -> None:
        self.emulator = emulator or Emulator()
        self.host = host
        self.port = port or free_port(host)
        self._server = uvicorn.Server(_uvicorn_config(self.emulator, host, self.port,
                                                      log_level))
        # uvicorn captures signals only on the main thread, so a server thread leaves them be.
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> EmulatorServer:
        if self._thread is not None:
            raise RuntimeError("emulator server already started")
        self._thread = threading.Thread(target=self._run, name=f"kfp-emulator-{self.port}",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"emulator server did not start on {self.url}")
            time.sleep(0.005)
        return self

    def _run(self) -> None:
        asyncio.run(self._server.serve())

    def stop(self) -> None:
        if self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=READY_TIMEOUT_SECONDS)
        self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def serve_in_background(emulator: Emulator | None = None, host: str = "127.0.0.1",
                        port: int = 0) -> Iterator[EmulatorServer]:
    server = EmulatorServer(emulator, host, port).start()
    try:
        yield server
    finally:
        server.stop()


def serve_forever(emulator: Emulator, host: str, port: int, log_level: str = "info") -> None:
    logging.getLogger("uvicorn.error").propagate = True
    uvicorn.Server(_uvicorn_config(emulator, host, port, log_level)).run()

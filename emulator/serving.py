"""Serve an emulator over HTTP: one socket and one uvicorn server per listener, one event loop.

The direct endpoint (``ml-pipeline:8888``), the gateway and the Kubernetes API each get their own
port and app; their servers run together on one loop in one thread, so they share one shutdown
and one emulator.  In the foreground each server catches SIGINT/SIGTERM in turn: the last one
to install its handler stops first and re-raises the signal to the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import uvicorn

from emulator.core import Emulator
from emulator.http.app import build_apps
from emulator.kube.api.tls import serving_cert
from emulator.kube.kubeconfig import write_kubeconfig
from emulator.modes import Listener

READY_TIMEOUT_SECONDS = 10.0
GRACEFUL_SHUTDOWN_SECONDS = 0.25


def free_port(host: str = "127.0.0.1") -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


LISTEN_BACKLOG = 2048  # uvicorn's default


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only when the
    # listening socket says TCP (with proto 0, Nagle + delayed ACK add ~40 ms per response).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        # Listening from the start: whoever learns the address (serve's target file, its
        # banner) may connect at once; the kernel queues it until the server accepts.
        sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class EmulatorServer:
    """An emulator's listeners on ``host``; start() serves them from a daemon thread.

    Ports of 0 pick free ones.  ``url`` is the direct endpoint, ``gateway_url`` the gateway,
    ``kube_url`` the Kubernetes API and ``object_store_url`` the S3 object store.
    """

    def __init__(self, emulator: Emulator | None = None, host: str = "127.0.0.1",
                 port: int = 0, log_level: str = "warning", *, gateway_port: int = 0,
                 kube_port: int = 0, object_store_port: int = 0,
                 metadata_port: int = 0) -> None:
        self.emulator = emulator or Emulator()
        self.host = host
        self._sockets: dict[Listener, socket.socket] = {}
        try:
            for listener, wanted in ((Listener.DIRECT, port), (Listener.GATEWAY, gateway_port),
                                     (Listener.KUBE, kube_port),
                                     (Listener.OBJECT_STORE, object_store_port),
                                     (Listener.METADATA, metadata_port)):
                self._sockets[listener] = _bind(host, wanted)
        except OSError:
            for sock in self._sockets.values():  # a taken port must not leak the others
                sock.close()
            raise
        self.ports = {listener: int(sock.getsockname()[1])
                      for listener, sock in self._sockets.items()}
        self.port = self.ports[Listener.DIRECT]
        apps = build_apps(self.emulator)
        # The Kubernetes API speaks TLS (kubectl sends credentials only over https), with a
        # self-signed serving certificate.
        self.kube_cert = serving_cert(host)
        # One uvicorn server per listener, all on one event loop (see _serve).  Requests take
        # milliseconds; what a shutdown waits on is idle TLS keep-alive connections whose
        # client never answers the close_notify, so the wait is short.
        self._servers = {
            listener: uvicorn.Server(uvicorn.Config(
                apps[listener], log_level=log_level, access_log=False, lifespan="off",
                loop="auto", http="auto",
                # typed int by uvicorn, used as asyncio.wait_for's timeout: a float works
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,  # type: ignore[arg-type]
                ssl_context_factory=(self._kube_tls if listener is Listener.KUBE else None)))
            for listener in self._sockets
        }
        # uvicorn captures signals only on the main thread, so a server thread leaves them be.
        self._thread: threading.Thread | None = None

    def _kube_tls(self, config: uvicorn.Config,
                  default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
        return self.kube_cert.context

    def write_kube_ca(self, path: Path) -> Path:
        """The Kubernetes listener's certificate, for clients that take a CA file."""
        path.write_bytes(self.kube_cert.cert_pem)
        return path

    def url_of(self, listener: Listener) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "https" if listener is Listener.KUBE else "http"
        return f"{scheme}://{host}:{self.ports[listener]}"

    @property
    def url(self) -> str:
        return self.url_of(Listener.DIRECT)

    @property
    def gateway_url(self) -> str:
        return self.url_of(Listener.GATEWAY)

    @property
    def kube_url(self) -> str:
        return self.url_of(Listener.KUBE)

    @property
    def object_store_url(self) -> str:
        """The S3 endpoint (path-style; bucket ``mlpipeline``)."""
        return self.url_of(Listener.OBJECT_STORE)

    @property
    def metadata_url(self) -> str:
        """metadata-envoy: ML Metadata's gRPC-web endpoint."""
        return self.url_of(Listener.METADATA)

    @property
    def entry_url(self) -> str:
        """Where a client of the emulator's mode points the SDK (the KFP host)."""
        if self.emulator.mode.entry is Listener.DIRECT:
            return self.url
        return self.gateway_url + "/pipeline"

    def write_kubeconfig(self, path: Path) -> Path:
        """A kubeconfig with the cluster-admin credential, for kubectl and the client."""
        return write_kubeconfig(path, self.kube_url, self.emulator.admin_token(),
                                ca_pem=self.kube_cert.cert_pem)

    def start(self) -> EmulatorServer:
        if self._thread is not None:
            raise RuntimeError("emulator server already started")
        self._thread = threading.Thread(target=self._run, name=f"kfp-emulator-{self.port}",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not all(server.started for server in self._servers.values()):
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"emulator server did not start on {self.url}")
            time.sleep(0.005)
        return self

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        await asyncio.gather(*(server.serve(sockets=[self._sockets[listener]])
                               for listener, server in self._servers.items()))

    def run_forever(self) -> None:
        """Serve in the foreground until interrupted (uvicorn handles SIGINT/SIGTERM)."""
        logging.getLogger("uvicorn.error").propagate = True
        try:
            asyncio.run(self._serve())
        finally:
            self._close_sockets()

    def stop(self) -> None:
        if self._thread is None:
            self._close_sockets()
            return
        for server in self._servers.values():
            server.should_exit = True
        self._thread.join(timeout=READY_TIMEOUT_SECONDS)
        self._thread = None
        self._close_sockets()

    def _close_sockets(self) -> None:
        for sock in self._sockets.values():
            sock.close()

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

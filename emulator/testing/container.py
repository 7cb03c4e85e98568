"""The emulator in a Docker container, for other projects' tests (testcontainers).

::

    from emulator.testing.container import KfpEmulatorContainer

    with KfpEmulatorContainer() as emulator:
        target = emulator.target()          # conformance.target.Target on the mapped ports
        kfp.Client(host=target.kfp_direct)  # inside mode: send a kubeflow-userid header

The image (``docker/emulator.Dockerfile``) writes its target file, login users and passwords
included, and the admin kubeconfig inside the container when it starts (``serve
--write-target``).  :meth:`KfpEmulatorContainer.target` reads them back through the Docker
API and points every URL at the host's mapped ports, so it works whatever ``--setup`` file,
mode or bugs the container was started with, and with a remote Docker engine.

testcontainers is optional (the ``container`` extra) and imported only when a container is
made; :func:`docker_unavailable_reason` needs nothing beside the standard library, so a test
suite can skip cleanly where no Docker engine runs (the ``kfp_emulator_container`` fixture).
"""

from __future__ import annotations

import copy
import importlib
import io
import os
import socket
import tarfile
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import yaml

from conformance import images
from conformance.detection import HEALTHZ as HEALTHZ_PATH
from conformance.target import Target
from emulator.private_files import write_private

EXTRA = "container"
# The emulator's listeners in the image, as `serve` defaults them (the image's EXPOSE).
EMULATOR_PORTS: dict[str, int] = {
    "direct": 8888, "gateway": 8080, "kube": 6443, "object_store": 9000, "metadata": 9090,
}
# Where the image's entrypoint writes the target file; `serve` puts the kubeconfig beside it.
TARGET_IN_CONTAINER = "/home/kfp/kfp-isolation-target.yaml"
KUBECONFIG_IN_CONTAINER = "/home/kfp/kfp-isolation-target.kubeconfig"
SETUP_IN_CONTAINER = "/home/kfp/setup.yaml"
DEFAULT_DOCKER_SOCKET = "unix:///var/run/docker.sock"
# Names the emulator's self-signed Kubernetes API certificate always carries.
_CERT_HOSTS = ("localhost", "127.0.0.1", "::1")
IMAGE_ENV = "KFP_ISOLATION_EMULATOR_IMAGE"
# Set (to 1) where Docker must be there, as in CI's image job: no engine is then a failure.
REQUIRE_ENV = "KFP_ISOLATION_REQUIRE_DOCKER"


class ContainerError(RuntimeError):
    """The container cannot be made or read, with the reason."""


def default_image() -> str:
    """The emulator image of this package's version."""
    return images.image(images.EMULATOR)


MIN_TESTCONTAINERS = "4.15"  # HttpWaitStrategy (4.13), with_copy_into_container (4.15)


def _testcontainers() -> tuple[ModuleType, ModuleType]:
    try:
        from testcontainers.core import container
    except ImportError as exc:
        raise ContainerError(f"KfpEmulatorContainer needs testcontainers ({exc}): "
                             f"pip install 'kfp-isolation[{EXTRA}]'") from None
    try:
        waits: ModuleType | None = importlib.import_module("testcontainers.core.wait_strategies")
    except ImportError:
        waits = None
    if waits is None or not hasattr(waits, "HttpWaitStrategy") \
            or not hasattr(container.DockerContainer, "with_copy_into_container"):
        try:
            installed = metadata.version("testcontainers")
        except metadata.PackageNotFoundError:
            installed = "(unknown version)"
        raise ContainerError(f"testcontainers {installed} is too old: KfpEmulatorContainer "
                             f"needs >= {MIN_TESTCONTAINERS}: pip install "
                             f"'kfp-isolation[{EXTRA}]'")
    return container, waits


def testcontainers_missing_reason() -> str | None:
    try:
        _testcontainers()
    except ContainerError as exc:
        return str(exc)
    return None


# ---- is there a Docker engine? ------------------------------------------------------------


def docker_endpoint(environ: Mapping[str, str] | None = None) -> str:
    """The engine the Docker client (and testcontainers) would talk to: ``DOCKER_HOST``, else
    the default socket."""
    environ = os.environ if environ is None else environ
    return environ.get("DOCKER_HOST") or DEFAULT_DOCKER_SOCKET


def _ping(sock: socket.socket) -> str | None:
    """None when the engine answers ``/_ping`` with 200, else what it said."""
    sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
    status = sock.recv(256).split(b"\r\n", 1)[0].decode("latin-1")
    parts = status.split(" ")
    if len(parts) >= 2 and parts[0].startswith("HTTP/") and parts[1] == "200":
        return None
    return f"it answered {status or 'nothing'!r} to GET /_ping"


def docker_unavailable_reason(endpoint: str | None = None, timeout: float = 3.0,
                              environ: Mapping[str, str] | None = None) -> str | None:
    """Why no Docker engine is reachable at ``endpoint`` (default: :func:`docker_endpoint`),
    or None when one answers.  Endpoints it cannot probe by itself (ssh://, npipe://) count as
    reachable: the Docker client will say what is wrong."""
    environ = os.environ if environ is None else environ
    endpoint = endpoint or docker_endpoint(environ)
    where = f"DOCKER_HOST={endpoint}" if environ.get("DOCKER_HOST") else endpoint
    parsed = urlsplit(endpoint)
    try:
        if parsed.scheme == "unix":
            path = parsed.path
            if not os.path.exists(path):
                return f"no Docker engine: the socket {path} does not exist ({where})"
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout)
                sock.connect(path)
                answer = _ping(sock)
        elif parsed.scheme in ("tcp", "http", "https"):
            if not parsed.hostname:
                return f"no Docker engine: {where} names no host"
            port = parsed.port or (2376 if environ.get("DOCKER_TLS_VERIFY") else 2375)
            with socket.create_connection((parsed.hostname, port), timeout=timeout) as sock:
                tls = environ.get("DOCKER_TLS_VERIFY") or parsed.scheme == "https"
                answer = None if tls else _ping(sock)  # TLS: reaching the port must do
        else:
            return None
    except OSError as exc:
        detail = exc.strerror or str(exc) or type(exc).__name__
        return f"no Docker engine reachable at {where}: {detail}"
    if answer is not None:
        return f"no Docker engine at {where}: {answer}"
    return None


def image_unavailable_reason(image: str) -> str | None:
    """Why ``image`` cannot be run (neither local nor pullable), or None.  The images of an
    unreleased version exist only where they were built."""
    try:
        # By name: the repository's docker/ folder (the Dockerfiles) would shadow the package
        # for a type checker run from the checkout.
        docker: Any = importlib.import_module("docker")
    except ImportError:
        return testcontainers_missing_reason() or "the docker package is not installed"
    client = docker.from_env()
    try:
        try:
            client.images.get(image)
            return None
        except docker.errors.ImageNotFound:
            pass
        try:
            client.images.pull(image)
            return None
        except docker.errors.DockerException as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return (f"the image {image} is not on this Docker engine and cannot be pulled "
                    f"({first}); build it with: docker build -f docker/emulator.Dockerfile "
                    f"-t {image} .")
    except docker.errors.DockerException as exc:
        return f"the Docker engine cannot look up the image {image}: {exc}"
    finally:
        client.close()


# ---- the container's view, mapped to the host ----------------------------------------------


def map_url(url: str, host: str, ports: Mapping[int, int]) -> str:
    """``url`` as seen inside the container, pointed at ``host`` and the mapped port."""
    if not url:
        return url
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None or port not in ports:
        raise ContainerError(f"{url}: its port is not one the container publishes "
                             f"({', '.join(str(p) for p in sorted(ports))})")
    name = f"[{host}]" if ":" in host else host
    return urlunsplit((parts.scheme, f"{name}:{ports[port]}", parts.path, parts.query,
                       parts.fragment))


def map_target(inside: Target, host: str, ports: Mapping[int, int], kubeconfig: str) -> Target:
    """The target file the container wrote, for a client on the host: every endpoint on the
    mapped ports, the kubeconfig a host-side copy."""
    return replace(
        inside,
        kfp_direct=map_url(inside.kfp_direct, host, ports),
        kfp_gateway=map_url(inside.kfp_gateway, host, ports),
        gateway=map_url(inside.gateway, host, ports),
        emulator_controls=map_url(inside.emulator_controls, host, ports),
        object_store=map_url(inside.object_store, host, ports),
        metadata=map_url(inside.metadata, host, ports),
        kubeconfig=kubeconfig,
    )


def map_kubeconfig(config: Mapping[str, Any], host: str,
                   ports: Mapping[int, int]) -> dict[str, Any]:
    """The container's admin kubeconfig for the host: each server on its mapped port; when the
    host is not a name the self-signed certificate carries, TLS checks it as ``localhost``."""
    mapped = copy.deepcopy(dict(config))
    for entry in mapped.get("clusters") or []:
        cluster = entry.get("cluster") or {}
        cluster["server"] = map_url(str(cluster.get("server") or ""), host, ports)
        if host not in _CERT_HOSTS:
            cluster["tls-server-name"] = "localhost"
    return mapped


# ---- the container ----------------------------------------------------------------------------


class KfpEmulatorContainer:
    """The emulator image on testcontainers' ``DockerContainer`` (``.container``): all five
    ports published, started once ``healthz`` answers.

    ``args`` go after the image's entrypoint (``serve --host 0.0.0.0 ...``), e.g.
    ``["--mode", "full-outside"]`` or ``["--bug", "ISO-023"]``; ``setup`` is a setup file
    (profiles, users, admins) copied into the container.
    """

    def __init__(self, image: str | None = None, *, args: Sequence[str] = (),
                 setup: Path | None = None, startup_timeout: float = 90.0,
                 docker_client_kw: dict[str, Any] | None = None) -> None:
        container_module, waits = _testcontainers()
        self.image = image or default_image()
        command = list(args)
        self.container: Any = container_module.DockerContainer(
            self.image, docker_client_kw=docker_client_kw)
        self.container.with_exposed_ports(*EMULATOR_PORTS.values())
        if setup is not None:
            if not setup.is_file():
                raise ContainerError(f"setup file {setup} does not exist")
            self.container.with_copy_into_container(setup.read_bytes(), SETUP_IN_CONTAINER)
            command = ["--setup", SETUP_IN_CONTAINER, *command]
        if command:
            self.container.with_command(command)
        self.container.waiting_for(
            waits.HttpWaitStrategy(EMULATOR_PORTS["direct"], HEALTHZ_PATH)
            .for_status_code(200).with_startup_timeout(int(startup_timeout)))
        self._folder: tempfile.TemporaryDirectory[str] | None = None

    def start(self) -> KfpEmulatorContainer:
        self.container.start()
        return self

    def stop(self) -> None:
        try:
            self.container.stop()
        finally:
            if self._folder is not None:
                self._folder.cleanup()
                self._folder = None

    def __enter__(self) -> KfpEmulatorContainer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def host(self) -> str:
        return str(self.container.get_container_host_ip())

    def mapped_ports(self) -> dict[int, int]:
        """Container port -> host port, for the five listeners."""
        return {port: int(self.container.get_exposed_port(port))
                for port in EMULATOR_PORTS.values()}

    def url(self, listener: str = "direct") -> str:
        """A listener's URL on the host (``direct``, ``gateway``, ``object_store``,
        ``metadata``; ``kube`` speaks https)."""
        if listener not in EMULATOR_PORTS:
            raise ContainerError(f"no listener {listener!r}: one of "
                                 f"{', '.join(EMULATOR_PORTS)}")
        scheme = "https" if listener == "kube" else "http"
        name = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{name}:{self.container.get_exposed_port(EMULATOR_PORTS[listener])}"

    def read_file(self, path: str) -> str:
        """A file of the running container, through the Docker API (no shell needed)."""
        try:
            chunks, _ = self.container.get_wrapped_container().get_archive(path)
            data = b"".join(chunks)
        except Exception as exc:  # docker.errors.* without importing docker here
            raise ContainerError(f"cannot read {path} in the container: {exc}") from None
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            member = next((m for m in archive.getmembers() if m.isfile()), None)
            handle = archive.extractfile(member) if member is not None else None
            if handle is None:
                raise ContainerError(f"{path} in the container is not a file")
            return handle.read().decode()

    def kubeconfig(self, path: Path) -> Path:
        """The admin kubeconfig of the container's Kubernetes API, for the host (0600)."""
        config = yaml.safe_load(self.read_file(KUBECONFIG_IN_CONTAINER))
        if not isinstance(config, dict):
            raise ContainerError(f"{KUBECONFIG_IN_CONTAINER} in the container is no kubeconfig")
        mapped = map_kubeconfig(config, self.host, self.mapped_ports())
        return write_private(path, yaml.safe_dump(mapped, sort_keys=False))  # the admin token

    def target(self, kubeconfig: Path | None = None) -> Target:
        """The target file for this container (``certify --target url`` reads its dump):
        users and passwords as the container's emulator has them, the kubeconfig written to
        ``kubeconfig`` (default: a private folder removed on stop)."""
        inside = Target.from_dict(yaml.safe_load(self.read_file(TARGET_IN_CONTAINER)),
                                  where=f"{TARGET_IN_CONTAINER} in the container")
        if kubeconfig is None:
            if self._folder is None:
                self._folder = tempfile.TemporaryDirectory(prefix="kfp-iso-container-")
            kubeconfig = Path(self._folder.name) / "kubeconfig"
        written = self.kubeconfig(kubeconfig)
        return map_target(inside, self.host, self.mapped_ports(), str(written.resolve()))


def skip_or_fail(reason: str) -> None:
    """Skip with ``reason``, or fail where ``$KFP_ISOLATION_REQUIRE_DOCKER`` says Docker must
    be there (a silent skip would hide that the container tests never ran)."""
    if os.environ.get(REQUIRE_ENV, "") not in ("", "0"):
        pytest.fail(f"{REQUIRE_ENV} is set, but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def kfp_emulator_container() -> Iterator[KfpEmulatorContainer]:
    """One emulator container per session (image: ``$KFP_ISOLATION_EMULATOR_IMAGE`` or this
    version's); skipped, with the reason, where no Docker engine, no testcontainers or no such
    image is."""
    image = os.environ.get(IMAGE_ENV) or default_image()
    reason = (docker_unavailable_reason() or testcontainers_missing_reason()
              or image_unavailable_reason(image))
    if reason:
        skip_or_fail(reason)
    with KfpEmulatorContainer(image) as container:
        yield container

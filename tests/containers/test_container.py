"""emulator.testing.container: when there is no Docker engine (and why), the container's
target file and kubeconfig mapped to the host's ports, and the real container (needs Docker)."""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from conformance.images import IMAGE_REPOSITORY, package_version
from conformance.target import Target
from conformance.targets import close_client, describe_emulator
from emulator.core import Emulator
from emulator.modes import Mode
from emulator.serving import EmulatorServer, free_port
from emulator.testing import OWNER, OWNER_NAMESPACE, standard_profiles
from emulator.testing.container import (
    EMULATOR_PORTS,
    HEALTHZ_PATH,
    REQUIRE_ENV,
    ContainerError,
    KfpEmulatorContainer,
    default_image,
    docker_unavailable_reason,
    map_kubeconfig,
    map_target,
    map_url,
    skip_or_fail,
)

# ---- is there a Docker engine? ------------------------------------------------------------


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A folder with a short path: a unix socket path may not exceed 107 bytes."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kd-", dir="/tmp") as folder:
        yield Path(folder)


@contextmanager
def fake_engine(path: Path, answer: bytes) -> Iterator[None]:
    """A unix socket that answers each connection with ``answer`` (Docker's /_ping says OK)."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(4)
    server.settimeout(0.05)  # so the loop sees `done` (close() does not wake accept())
    requests_seen: list[bytes] = []
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                requests_seen.append(conn.recv(1024))
                conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=5)
        server.close()
    assert all(r.startswith(b"GET /_ping ") for r in requests_seen), requests_seen


def test_a_closed_socket_named_by_docker_host_is_the_reason(
        short_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = short_dir / "docker.sock"
    closed = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    closed.bind(str(path))  # the file exists, nobody listens any more
    closed.close()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    reason = docker_unavailable_reason()
    assert reason is not None and str(path) in reason and "DOCKER_HOST" in reason
    assert "refused" in reason.lower()


def test_a_missing_socket_is_the_reason(short_dir: Path) -> None:
    path = short_dir / "nothing.sock"
    reason = docker_unavailable_reason(environ={"DOCKER_HOST": f"unix://{path}"})
    assert reason is not None and str(path) in reason and "does not exist" in reason


def test_without_docker_host_the_default_socket_is_probed() -> None:
    reason = docker_unavailable_reason(environ={})
    if reason is not None:  # on a machine with Docker it is None, which says the same
        assert "/var/run/docker.sock" in reason


def test_a_closed_tcp_port_is_the_reason() -> None:
    port = free_port()
    reason = docker_unavailable_reason(environ={"DOCKER_HOST": f"tcp://127.0.0.1:{port}"})
    assert reason is not None and f"127.0.0.1:{port}" in reason


def test_an_engine_answering_its_ping_is_available(short_dir: Path) -> None:
    path = short_dir / "docker.sock"
    with fake_engine(path, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"):
        assert docker_unavailable_reason(environ={"DOCKER_HOST": f"unix://{path}"}) is None


def test_something_else_on_the_socket_is_not_an_engine(short_dir: Path) -> None:
    path = short_dir / "docker.sock"
    with fake_engine(path, b"HTTP/1.1 500 Internal Server Error\r\n\r\n"):
        reason = docker_unavailable_reason(environ={"DOCKER_HOST": f"unix://{path}"})
    assert reason is not None and "500" in reason and str(path) in reason


def test_without_testcontainers_the_error_names_the_extra(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "testcontainers", None)
    monkeypatch.setitem(sys.modules, "testcontainers.core", None)
    with pytest.raises(ContainerError, match=r"kfp-isolation\[container\]"):
        KfpEmulatorContainer("any:tag")


def test_a_testcontainers_too_old_is_named_with_the_version_needed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """testcontainers before 4.15 has no with_copy_into_container (before 4.13 no
    HttpWaitStrategy): say so instead of an AttributeError halfway through."""
    import types

    old = types.ModuleType("testcontainers.core")
    old.container = types.SimpleNamespace(DockerContainer=type("DockerContainer", (), {}))  # type: ignore[attr-defined]
    old.wait_strategies = types.SimpleNamespace()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "testcontainers", types.ModuleType("testcontainers"))
    monkeypatch.setitem(sys.modules, "testcontainers.core", old)
    with pytest.raises(ContainerError, match=r"too old.*>= 4\.15"):
        KfpEmulatorContainer("any:tag")


def test_the_default_image_is_this_versions_emulator() -> None:
    from importlib import metadata

    assert package_version() == metadata.version("kfp-isolation")
    assert default_image() == f"ghcr.io/kfp-isolation/emulator:{package_version()}"


# ---- the container's target on the host's ports ------------------------------------------------


def inside_target(server: EmulatorServer, kubeconfig: Path | None = None) -> Target:
    """What ``serve --write-target`` writes for this server (as the image's entrypoint does)."""
    return describe_emulator(server, kubeconfig)


def test_every_endpoint_moves_to_its_mapped_port_and_keeps_its_path() -> None:
    with EmulatorServer(Emulator(profiles=standard_profiles()), host="0.0.0.0") as server:
        inside = inside_target(server)
        mapped_ports = {port: 40000 + i for i, port in enumerate(server.ports.values())}
    mapped = map_target(inside, "docker.example", mapped_ports, "/tmp/k")
    pairs = [(inside.kfp_direct, mapped.kfp_direct), (inside.kfp_gateway, mapped.kfp_gateway),
             (inside.gateway, mapped.gateway),
             (inside.emulator_controls, mapped.emulator_controls),
             (inside.object_store, mapped.object_store), (inside.metadata, mapped.metadata)]
    for before, after in pairs:
        old, new = urlsplit(before), urlsplit(after)
        assert old.hostname == "0.0.0.0" and new.hostname == "docker.example"
        assert old.port is not None and new.port == mapped_ports[old.port]
        assert (new.scheme, new.path) == (old.scheme, old.path)
    assert mapped.kubeconfig == "/tmp/k"
    assert mapped.users == inside.users and mapped.mode == inside.mode
    assert mapped.users  # the container's login users travel with their passwords


def test_an_unpublished_port_and_empty_fields_are_handled() -> None:
    with pytest.raises(ContainerError, match="1234"):
        map_url("http://0.0.0.0:1234/x", "localhost", {8888: 1})
    with pytest.raises(ContainerError, match="no-port"):
        map_url("http://no-port/x", "localhost", {8888: 1})
    assert map_url("", "localhost", {}) == ""
    assert map_url("http://0.0.0.0:8888/a?b=1", "::1", {8888: 5}) == "http://[::1]:5/a?b=1"
    target = Target("t", Mode.FULL_INSIDE, kfp_direct="http://0.0.0.0:8888")
    mapped = map_target(target, "localhost", {8888: 31000}, "")
    assert mapped.kfp_direct == "http://localhost:31000" and mapped.gateway == ""


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2"])
def test_the_mapped_target_and_kubeconfig_reach_the_emulator(host: str,
                                                             tmp_path: Path) -> None:
    """An emulator on 0.0.0.0 stands for the container; ``host`` is where Docker publishes
    its ports.  127.0.0.2 is not a name of the Kubernetes API's certificate: the kubeconfig
    must still verify it."""
    with EmulatorServer(Emulator(profiles=standard_profiles()), host="0.0.0.0") as server:
        inside_config = server.write_kubeconfig(tmp_path / "inside.kubeconfig")
        inside = inside_target(server, inside_config)
        ports = {port: port for port in server.ports.values()}
        kubeconfig = tmp_path / "host.kubeconfig"
        config = map_kubeconfig(yaml.safe_load(inside_config.read_text()), host, ports)
        kubeconfig.write_text(yaml.safe_dump(config))
        target = map_target(inside, host, ports, str(kubeconfig))

        health = requests.get(target.kfp_direct + HEALTHZ_PATH, timeout=10)
        assert health.status_code == 200 and health.json()["multi_user"] is True
        assert requests.get(target.gateway, timeout=10, allow_redirects=False).status_code < 500
        api = k8s_config.new_client_from_config(config_file=str(kubeconfig))
        try:
            names = {n.metadata.name for n in k8s.CoreV1Api(api).list_namespace().items}
        finally:
            close_client(api)
        assert OWNER_NAMESPACE in names
        if host == "127.0.0.2":  # without the server name, TLS refuses the address
            for cluster in config["clusters"]:
                del cluster["cluster"]["tls-server-name"]
            kubeconfig.write_text(yaml.safe_dump(config))
            api = k8s_config.new_client_from_config(config_file=str(kubeconfig))
            try:
                with pytest.raises(Exception, match=r"(?i)certificate|hostname|SSL"):
                    k8s.CoreV1Api(api).list_namespace(_request_timeout=5)
            finally:
                close_client(api)


def test_the_kubeconfig_mapping_leaves_the_original_alone() -> None:
    original = {"clusters": [{"name": "c", "cluster": {"server": "https://0.0.0.0:6443"}}]}
    mapped = map_kubeconfig(original, "10.0.0.5", {6443: 32001})
    assert mapped["clusters"][0]["cluster"] == {"server": "https://10.0.0.5:32001",
                                                "tls-server-name": "localhost"}
    assert original["clusters"][0]["cluster"] == {"server": "https://0.0.0.0:6443"}


# ---- the real container -----------------------------------------------------------------------


def test_the_container_serves_the_emulator(kfp_emulator_container: KfpEmulatorContainer,
                                           tmp_path: Path) -> None:
    container = kfp_emulator_container
    assert set(container.mapped_ports()) == set(EMULATOR_PORTS.values())
    target = container.target(tmp_path / "kubeconfig")
    assert Path(target.kubeconfig).is_file()
    assert (Path(target.kubeconfig).stat().st_mode & 0o777) == 0o600
    health = requests.get(target.kfp_direct + HEALTHZ_PATH, timeout=10)
    assert health.status_code == 200 and health.json()["multi_user"] is True
    assert any(u.email == OWNER and u.password for u in target.users)
    api = k8s_config.new_client_from_config(config_file=target.kubeconfig)
    try:
        names = {n.metadata.name for n in k8s.CoreV1Api(api).list_namespace().items}
    finally:
        close_client(api)
    assert OWNER_NAMESPACE in names
    dumped = Target.load(target.dump(tmp_path / "target.yaml"))
    assert dumped.kfp_direct == target.kfp_direct == container.url("direct")


@pytest.mark.parametrize(("value", "outcome"), [("", pytest.skip.Exception),
                                                ("0", pytest.skip.Exception),
                                                ("1", pytest.fail.Exception)])
def test_where_docker_is_required_its_absence_fails(value: str, outcome: type[BaseException],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE_ENV, value)
    with pytest.raises(outcome, match="no engine here"):
        skip_or_fail("no engine here")


def test_the_in_cluster_run_uses_the_suite_image_of_the_same_version() -> None:
    from conformance import incluster

    assert incluster.image_of() == default_image().replace("/emulator:", "/suite:")
    assert incluster.image_of("1.2.3") == f"{IMAGE_REPOSITORY}/suite:1.2.3"


def test_the_installed_plugin_offers_the_fixture_and_skips_it_with_the_reason(
        pytester: pytest.Pytester, short_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another project's test asks for ``kfp_emulator_container`` with nothing but the package
    installed (the fixture comes from its pytest plugin): without an engine it is skipped, and
    the skip names the socket that is missing."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{short_dir / 'absent.sock'}")
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    pytester.makepyfile(test_theirs="""
        def test_uses_the_container(kfp_emulator_container):
            assert kfp_emulator_container.target().kfp_direct
    """)
    result = pytester.runpytest_subprocess("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines([f"*no Docker engine*{short_dir / 'absent.sock'}*"])

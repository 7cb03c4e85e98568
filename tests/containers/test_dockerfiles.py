"""The images' Dockerfiles, read as instructions: who the container runs as, what it copies
from the context, the ports it exposes against ``serve``'s own defaults, and a health check that
is really run against a live emulator.  Building them needs a Docker engine (skipped without)."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from conformance.cli import build_parser
from emulator import core
from emulator.serving import EmulatorServer, free_port
from emulator.testing import standard_profiles
from emulator.testing.container import (
    EMULATOR_PORTS,
    KUBECONFIG_IN_CONTAINER,
    TARGET_IN_CONTAINER,
    docker_unavailable_reason,
    skip_or_fail,
)
from tests.containers import dockerfile
from tests.containers.dockerfile import Dockerfile, Stage

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = {"emulator": ROOT / "docker" / "emulator.Dockerfile",
               "suite": ROOT / "docker" / "suite.Dockerfile"}
BASE_IMAGE = "python:3.11-slim"
UID = "10001"
SERVE_PORT_OPTIONS = ("port", "gateway_port", "kube_port", "object_store_port", "metadata_port")


def read(name: str) -> Dockerfile:
    return dockerfile.load(DOCKERFILES[name])


def ignore_rules() -> list[dockerfile.IgnoreRule]:
    return dockerfile.ignore_rules((ROOT / ".dockerignore").read_text())


def serve_defaults() -> argparse.Namespace:
    return build_parser().parse_args(["serve"])


def serve_default_ports() -> set[int]:
    defaults = serve_defaults()
    return {int(getattr(defaults, option)) for option in SERVE_PORT_OPTIONS}


def exposed_ports(stage: Stage) -> set[int]:
    ports = set()
    for instruction in stage.all("EXPOSE"):
        for word in instruction.arguments:
            number, _, protocol = word.partition("/")
            assert protocol in ("", "tcp"), word
            ports.add(int(number))
    return ports


def entrypoint_command(stage: Stage) -> list[str]:
    """ENTRYPOINT + CMD, both required in exec form (a shell form would not get signals)."""
    entrypoint, cmd = stage.last("ENTRYPOINT"), stage.last("CMD")
    assert entrypoint is not None, "no ENTRYPOINT"
    entry = entrypoint.exec_form()
    assert entry is not None, f"line {entrypoint.line}: ENTRYPOINT is not in exec form"
    args = cmd.exec_form() if cmd is not None else []
    assert args is not None, "CMD is not in exec form"
    return entry + args


def console_scripts() -> set[str]:
    return {e.name for e in metadata.entry_points(group="console_scripts")
            if e.value.split(":")[0].split(".")[0] == "conformance"}


# ---- the reader itself ------------------------------------------------------------------------


def test_the_reader_joins_continuations_and_splits_flags_and_stages() -> None:
    parsed = dockerfile.parse(
        "# syntax=docker/dockerfile:1\n"
        "ARG BASE=python\n"
        "FROM python:3.11-slim AS build\n"
        "RUN echo a \\\n"
        "    # a comment inside\n"
        "    && echo b\n"
        "FROM scratch\n"
        "copy --from=build --chmod=644 /a /b ./\n"
        'HEALTHCHECK --interval=5s CMD ["python", "-c", "pass"]\n'
        'ENTRYPOINT ["x", "y z"]\n')
    assert parsed.directives == {"syntax": "docker/dockerfile:1"}
    assert [a.text for a in parsed.global_args] == ["BASE=python"]
    assert [(s.base, s.name) for s in parsed.stages] == [("python:3.11-slim", "build"),
                                                         ("scratch", None)]
    assert parsed.stages[0].instructions[0].text == "echo a && echo b"
    (copy,) = dockerfile.copies(parsed.final)
    assert (copy.stage, copy.sources, copy.destination) == ("build", ("/a", "/b"), "./")
    check = dockerfile.health_check(parsed.final)
    assert check is not None and check.options == {"interval": "5s"}
    assert check.command == ["python", "-c", "pass"]
    assert entrypoint_command(parsed.final) == ["x", "y z"]


@pytest.mark.parametrize("text", ["RUN true\n", "FROM a b c d\n", "FROM a\nRUN x \\\n"])
def test_the_reader_refuses_what_docker_would(text: str) -> None:
    with pytest.raises(dockerfile.DockerfileError, match="line"):
        dockerfile.parse(text)


def test_the_ignore_matcher_follows_dockers_rules() -> None:
    rules = dockerfile.ignore_rules("build\n**/__pycache__\n*.pyc\nreports\n!reports/keep\n")
    assert dockerfile.is_ignored("build/lib/x.py", rules)  # a folder takes what it holds
    assert dockerfile.is_ignored("emulator/kfp/__pycache__/a.pyc", rules)  # ** spans folders
    assert dockerfile.is_ignored("a.pyc", rules)
    assert not dockerfile.is_ignored("emulator/a.pyc", rules)  # `*` stays at the root
    assert not dockerfile.is_ignored("builder/x", rules)
    assert dockerfile.is_ignored("reports/x", rules)
    assert not dockerfile.is_ignored("reports/keep", rules)  # the last match wins


# ---- both images ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_the_final_stage_runs_as_the_numeric_non_root_user(name: str) -> None:
    final = read(name).final
    user = final.last("USER")
    assert user is not None, "the final stage sets no USER: it would run as root"
    uid, _, gid = user.arguments[0].partition(":")
    # Numeric, so Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
    assert (uid, gid) == (UID, UID)
    created = [r for r in final.all("RUN") if "useradd" in r.text]
    assert created and f"--uid {UID}" in created[0].text and f"--gid {UID}" in created[0].text
    workdir = final.last("WORKDIR")
    assert workdir is not None and workdir.arguments == ["/home/kfp"]
    # USER comes after every RUN: nothing after it runs as root again.
    assert max(r.line for r in final.all("RUN")) < user.line


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_the_wheel_is_built_in_one_stage_and_installed_in_a_slim_one(name: str) -> None:
    parsed = read(name)
    assert len(parsed.stages) == 2, [s.base for s in parsed.stages]
    builder, final = parsed.stages
    assert builder.base == final.base == BASE_IMAGE
    assert any("pip wheel" in r.text for r in builder.all("RUN"))
    # Only the wheel crosses over, and it is installed then removed in one layer.
    (wheel,) = [c for c in dockerfile.copies(final) if c.stage is not None]
    assert wheel.stage == builder.name and wheel.sources == ("/dist/",)
    installs = [r.text for r in final.all("RUN") if "pip install" in r.text]
    assert installs and wheel.destination in installs[0]
    assert f"rm -rf {wheel.destination.rstrip('/')}" in installs[0]
    final_runs = " ".join(r.text for r in final.all("RUN"))
    for tool in ("apt-get", "apk ", "gcc", "build-essential", "pip wheel"):
        assert tool not in final_runs, f"the final stage runs {tool}"
    assert not [c for c in dockerfile.copies(final) if c.stage is None], \
        "the final stage copies from the build context"


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_every_copied_source_is_in_the_repository_and_in_the_context(name: str) -> None:
    rules = ignore_rules()
    copied = [c for stage in read(name).stages for c in dockerfile.copies(stage)
              if c.stage is None]
    assert copied
    for copy in copied:
        for source in copy.sources:
            path = ROOT / source
            assert path.exists(), f"line {copy.line}: {source} is not in the repository"
            assert not dockerfile.is_ignored(source, rules), \
                f"line {copy.line}: {source} is left out by .dockerignore"
            if path.is_dir():  # what the wheel is built from survives the ignore file
                shipped = [f for f in path.rglob("*")
                           if f.is_file() and f.suffix in (".py", ".feature", ".json")]
                left_out = [f for f in shipped if dockerfile.is_ignored(
                    f.relative_to(ROOT).as_posix(), rules)]
                assert shipped and not left_out, left_out[:5]


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_every_package_of_the_wheel_is_copied(name: str) -> None:
    tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]
                ["include"]}
    builder = read(name).stages[0]
    copied = {s.rstrip("/") for c in dockerfile.copies(builder) for s in c.sources}
    assert packages <= copied, packages - copied
    assert project["project"]["readme"] in copied  # setuptools reads it while building


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_the_images_carry_oci_labels_and_this_version(name: str) -> None:
    final = read(name).final
    labels: dict[str, str] = {}
    for instruction in final.all("LABEL"):
        for word in instruction.arguments:
            key, _, value = word.partition("=")
            labels[key] = value
    for key in ("title", "description", "version", "revision", "source", "licenses"):
        assert f"org.opencontainers.image.{key}" in labels, key
    assert labels["org.opencontainers.image.version"] == "${VERSION}"
    args = {a.arguments[0].partition("=")[0]: a.arguments[0].partition("=")[2]
            for a in final.all("ARG")}
    assert args["VERSION"] == metadata.version("kfp-isolation")


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_no_credential_is_baked_in(name: str) -> None:
    secret = re.compile(r"PASSWORD|TOKEN|SECRET|KUBECONFIG|CREDENTIAL", re.IGNORECASE)
    for stage in read(name).stages:
        for instruction in stage.all("ENV") + stage.all("ARG"):
            assert not secret.search(instruction.text), f"line {instruction.line}"
        for copy in dockerfile.copies(stage):
            assert not any(secret.search(s) or "kubeconfig" in s for s in copy.sources)


def test_the_context_leaves_out_history_caches_reports_and_credentials() -> None:
    rules = ignore_rules()
    for path in (".git/config", ".tox/kfp2/bin/python", ".venv/bin/python", "build/lib/a.py",
                 "emulator/kfp/__pycache__/a.cpython-311.pyc", ".pytest_cache/v/x",
                 ".mypy_cache/x", ".ruff_cache/x", "reports/screenshots/a.png",
                 "kfp-isolation-report/report.yaml", "kfp-isolation-cluster.yaml",
                 "kfp-isolation-target.kubeconfig", ".kfp-isolation/state.yaml",
                 "kfp_isolation.egg-info/PKG-INFO"):
        assert dockerfile.is_ignored(path, rules), path
    for path in ("pyproject.toml", "README.md", "emulator/core.py", "features/runs.feature",
                 "conformance/report/report.schema.json"):
        assert not dockerfile.is_ignored(path, rules), path


# ---- the emulator image -----------------------------------------------------------------------


def test_the_emulator_exposes_exactly_the_ports_serve_defaults_to() -> None:
    final = read("emulator").final
    assert exposed_ports(final) == serve_default_ports()
    assert set(EMULATOR_PORTS.values()) == serve_default_ports()  # the testcontainers module


def test_the_emulator_entrypoint_is_a_serve_command_on_those_ports() -> None:
    command = entrypoint_command(read("emulator").final)
    assert command[0] in console_scripts()
    args = build_parser().parse_args(command[1:])
    assert args.command == "serve"
    assert args.host == "0.0.0.0"  # reachable through the published ports
    assert {int(getattr(args, o)) for o in SERVE_PORT_OPTIONS} == exposed_ports(
        read("emulator").final)
    # Where the testcontainers module reads the target file and kubeconfig back.
    assert str(args.write_target) == TARGET_IN_CONTAINER
    assert str(args.write_target.with_name(args.write_target.stem + ".kubeconfig")) == \
        KUBECONFIG_IN_CONTAINER
    assert args.write_target.is_relative_to("/home/kfp")  # writable by uid 10001


def health_command(port: int) -> list[str]:
    """The emulator image's HEALTHCHECK, run by this interpreter against ``port`` instead of
    the direct port the image serves on."""
    check = dockerfile.health_check(read("emulator").final)
    assert check is not None and check.command is not None, "the emulator has no HEALTHCHECK"
    assert not check.shell, "the health check needs a shell the image may not have"
    program, *args = check.command
    assert program in ("python", "python3"), "the check must use only the image's python"
    default = f"127.0.0.1:{serve_defaults().port}/"
    assert any(default in a for a in args), f"the check does not probe {default}"
    return [sys.executable, *(a.replace(default, f"127.0.0.1:{port}/") for a in args)]


def test_the_health_check_has_its_timings() -> None:
    check = dockerfile.health_check(read("emulator").final)
    assert check is not None
    assert {"interval", "timeout", "start-period", "retries"} <= set(check.options)


def test_the_health_check_passes_against_a_running_emulator() -> None:
    with EmulatorServer(core.Emulator(profiles=standard_profiles())) as server:
        done = subprocess.run(health_command(server.port), capture_output=True, text=True,
                              timeout=30, check=False, env={"PATH": os.environ["PATH"]})
    assert done.returncode == 0, done.stderr


def test_the_health_check_fails_when_nothing_listens() -> None:
    done = subprocess.run(health_command(free_port()), capture_output=True, text=True,
                          timeout=30, check=False, env={"PATH": os.environ["PATH"]})
    assert done.returncode != 0
    assert "refused" in done.stderr.lower()


# ---- the suite image --------------------------------------------------------------------------


def test_the_suite_runs_certify_and_ships_the_sdk() -> None:
    final = read("suite").final
    entrypoint, cmd = final.last("ENTRYPOINT"), final.last("CMD")
    assert entrypoint is not None and cmd is not None
    entry, default = entrypoint.exec_form(), cmd.exec_form()
    assert entry is not None and entry[0] in console_scripts() and len(entry) == 1
    assert default is not None and build_parser().parse_args(default).command == "certify"
    installs = [r.text for r in final.all("RUN") if "pip install" in r.text]
    assert installs and "[sdk]" in installs[0]
    assert "sdk" in (metadata.metadata("kfp-isolation").get_all("Provides-Extra") or [])
    # the SDK release the project's own tests drive (tox env kfp2), pinned in the image
    tested = re.search(r"^\s+kfp==(\S+)$", (ROOT / "tox.ini").read_text().split(
        "[testenv:kfp2]", 1)[1].split("[testenv:", 1)[0], re.M)
    assert tested is not None
    assert '"kfp==${KFP_SDK_VERSION}"' in installs[0]
    suite = (ROOT / "docker" / "suite.Dockerfile").read_text()
    assert f"ARG KFP_SDK_VERSION={tested.group(1)}" in suite
    check = dockerfile.health_check(final)  # a batch job: explicitly none, not inherited
    assert check is not None and check.command is None
    assert not exposed_ports(final)


# ---- building them ----------------------------------------------------------------------------


def _docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout,
                          check=False)


def _skip_without_a_builder() -> None:
    if shutil.which("docker") is None:
        skip_or_fail("no docker command on PATH: building the images needs the Docker CLI")
    reason = docker_unavailable_reason()
    if reason:
        skip_or_fail(f"building the images needs a Docker engine: {reason}")
    if _docker("image", "inspect", BASE_IMAGE).returncode != 0:
        pulled = _docker("pull", BASE_IMAGE, timeout=300)
        if pulled.returncode != 0:
            last = (pulled.stderr.strip().splitlines() or ["?"])[-1]
            skip_or_fail(f"the engine cannot get the base image {BASE_IMAGE}: {last}")


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_the_image_builds_and_keeps_its_promises(name: str) -> None:
    _skip_without_a_builder()
    version = metadata.version("kfp-isolation")
    tag = f"kfp-isolation-test/{name}:{version}"
    built = _docker("build", "-f", str(DOCKERFILES[name]), "--build-arg",
                    f"VERSION={version}", "-t", tag, str(ROOT), timeout=1200)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    inspected = _docker("image", "inspect", tag)
    assert inspected.returncode == 0, inspected.stderr
    config = json.loads(inspected.stdout)[0]["Config"]
    assert config["User"] == f"{UID}:{UID}" and config["WorkingDir"] == "/home/kfp"
    assert config["Labels"]["org.opencontainers.image.version"] == version
    if name == "emulator":
        assert {int(p.split("/")[0]) for p in config["ExposedPorts"]} == serve_default_ports()
        assert config["Healthcheck"]["Test"][0] == "CMD"
    else:
        assert config["Entrypoint"] == ["kfp-isolation"] and config["Cmd"] == ["certify"]
    # No compiler came along, and the console script runs as the image's user.
    assert _docker("run", "--rm", "--entrypoint", "sh", tag, "-c",
                   "! command -v gcc && ! command -v cc").returncode == 0
    helped = _docker("run", "--rm", "--entrypoint", "kfp-isolation", tag, "--help")
    assert helped.returncode == 0 and "certify" in helped.stdout, helped.stderr

"""End-to-end fixtures: emulators started with no Profiles and provisioned through their
Kubernetes API (see :mod:`tests.e2e.support`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kfp import compiler

from emulator.modes import Mode
from tests.e2e.support import Platform, PlatformFactory
from tests.sdk_kfp2.tiny_pipeline import tiny_adder


@pytest.fixture(scope="session")
def pipeline_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("e2e-packages") / "tiny_adder.yaml"
    compiler.Compiler().compile(pipeline_func=tiny_adder, package_path=str(path))
    return path


@pytest.fixture(scope="module")
def platforms(tmp_path_factory: pytest.TempPathFactory,
              pipeline_package: Path) -> Iterator[PlatformFactory]:
    factory = PlatformFactory(tmp_path_factory.mktemp("e2e"), pipeline_package)
    yield factory
    factory.close()


@pytest.fixture(scope="module")
def platform(platforms: PlatformFactory) -> Platform:
    """One provisioned full-Kubeflow emulator shared by a module's read-mostly tests."""
    return platforms.start(Mode.FULL_OUTSIDE)


@pytest.fixture
def fresh_platform(platforms: PlatformFactory) -> Platform:
    """A provisioned emulator of the test's own, for tests that change access or the clock."""
    return platforms.start(Mode.FULL_OUTSIDE)

"""Fixtures for the kfp 2.17.3 SDK tests: compiled package, clients per identity, owner setup."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kfp import compiler
from kfp.client.client import Client

from emulator.testing import OWNER_NAMESPACE, STRANGER, STRANGER_NAMESPACE, KfpTestEnv
from tests.sdk_kfp2.helpers import (
    Caller,
    SdkClients,
    Workspace,
    only_version_id,
    sa_username,
)
from tests.sdk_kfp2.tiny_pipeline import tiny_adder


@pytest.fixture(scope="session")
def pipeline_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The KFP v2 IR YAML of ``tiny_adder``, compiled by the real kfp compiler."""
    path = tmp_path_factory.mktemp("packages") / "tiny_adder.yaml"
    compiler.Compiler().compile(pipeline_func=tiny_adder, package_path=str(path))
    return path


@pytest.fixture
def sdk(kfp_env: KfpTestEnv, kfp_home: Path, monkeypatch: pytest.MonkeyPatch) -> SdkClients:
    return SdkClients(kfp_env, kfp_home, monkeypatch)


@pytest.fixture
def owner(sdk: SdkClients) -> Client:
    """Alice's notebook: the default-editor SA token of namespace ``alice``; no namespace set."""
    return sdk.service_account(OWNER_NAMESPACE)


@pytest.fixture(params=["sa-token", "context-header"])
def intruder(request: pytest.FixtureRequest, sdk: SdkClients) -> Caller:
    """Bob, who owns ``bob`` and has nothing in ``alice``, in both ways he reaches the API."""
    if request.param == "sa-token":
        client = sdk.service_account(STRANGER_NAMESPACE, user_namespace=STRANGER_NAMESPACE)
        return Caller(client, sa_username(STRANGER_NAMESPACE), STRANGER_NAMESPACE,
                      request.param)
    return Caller(sdk.header_user(STRANGER, STRANGER_NAMESPACE), STRANGER, STRANGER_NAMESPACE,
                  request.param)


@pytest.fixture
def workspace(owner: Client, pipeline_package: Path) -> Workspace:
    """An experiment and a namespaced pipeline (with its one version) alice made in ``alice``."""
    experiment = owner.create_experiment("alice-exp", namespace=OWNER_NAMESPACE)
    pipeline = owner.upload_pipeline(str(pipeline_package), pipeline_name="alice-adder",
                                     namespace=OWNER_NAMESPACE)
    assert pipeline.namespace == OWNER_NAMESPACE
    return Workspace(experiment.experiment_id, pipeline.pipeline_id,
                     only_version_id(owner, pipeline.pipeline_id))


@pytest.fixture
def start_run(owner: Client, workspace: Workspace) -> Callable[[str], Any]:
    """Start a run of alice's uploaded pipeline in her experiment, as alice."""

    def start(name: str) -> Any:
        return owner.run_pipeline(workspace.experiment_id, name,
                                  pipeline_id=workspace.pipeline_id,
                                  version_id=workspace.version_id)

    return start

"""Fixtures for the execution tests: packages compiled by the real kfp compiler, clients of the
Kubernetes API as a person, and run helpers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from kfp import compiler
from kubernetes import client

from emulator.kube.tokens import API_AUDIENCE
from emulator.testing import KfpTestEnv
from tests.execution import pipelines

PIPELINES = {
    "two-step": pipelines.two_step,
    "with-secret": pipelines.with_secret,
    "with-secret-volume": pipelines.with_secret_volume,
    "with-optional-secret": pipelines.with_optional_secret,
    "with-config-map": pipelines.with_config_map,
    "nested": pipelines.nested,
}


@pytest.fixture(scope="session")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every test pipeline compiled to its YAML package."""
    folder = tmp_path_factory.mktemp("execution-packages")
    out = {}
    for name, func in PIPELINES.items():
        path = folder / f"{name}.yaml"
        compiler.Compiler().compile(pipeline_func=func, package_path=str(path))
        out[name] = path
    return out


@pytest.fixture
def kube_as(kfp_env: KfpTestEnv, tmp_path: Path) -> Callable[[str], client.ApiClient]:
    """The official kubernetes client against the emulator's API, as a person (OIDC token)."""
    ca = kfp_env.server.write_kube_ca(tmp_path / "kube-ca.crt")

    def make(email: str) -> client.ApiClient:
        token = kfp_env.emulator.user_token(email, audiences=[API_AUDIENCE])
        configuration = client.Configuration(host=kfp_env.kube_url,
                                             api_key={"authorization": f"Bearer {token}"})
        configuration.ssl_ca_cert = str(ca)
        return client.ApiClient(configuration)

    return make

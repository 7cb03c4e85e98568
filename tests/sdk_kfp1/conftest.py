"""Fixtures for the legacy kfp 1.8.24 SDK against the emulator.

Every client authenticates the way an in-cluster notebook does: ``kfp.Client(host=...,
credentials=kfp.auth.ServiceAccountTokenVolumeCredentials(path=None))`` with
``KF_PIPELINES_SA_TOKEN_PATH`` naming a file that holds a projected ``default-editor`` token.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import kfp
import pytest
from kfp import dsl
from kfp.compiler import Compiler
from kfp.components import load_component_from_text
from kfp_server_api import ApiPipeline

from emulator.kube.cluster import EDITOR_SA
from emulator.kube.rbac import RoleBinding, RoleRef, Subject
from emulator.testing import KfpTestEnv
from tests.sdk_kfp1.kfp1_support import ARGO_PIPELINE_NAME, IR_PIPELINE_YAML, ClientFactory

_ECHO = load_component_from_text("""
name: Echo
inputs:
- {name: msg, type: String}
implementation:
  container:
    image: alpine:3
    command: [echo, {inputValue: msg}]
""")


@dsl.pipeline(name=ARGO_PIPELINE_NAME, description="echo a message")
def _hello_argo(msg="hi") -> None:  # type: ignore[no-untyped-def]
    # No annotation on purpose: with postponed annotations kfp 1.8 would see the type "str".
    _ECHO(msg)


@pytest.fixture(autouse=True)
def kfp1_context(kfp_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Keep the SDK's context file and in-cluster namespace file inside the test's HOME.

    kfp 1.8 computes ``Client.LOCAL_KFP_CONTEXT`` from ``~`` at import time, before ``kfp_home``
    can move HOME, so the class attribute is pointed into the isolated HOME as well.
    """
    context = kfp_home / ".config" / "kfp" / "context.json"
    monkeypatch.setattr(kfp.Client, "LOCAL_KFP_CONTEXT", str(context))
    monkeypatch.setattr(kfp.Client, "NAMESPACE_PATH", str(tmp_path / "no-pod-namespace"))
    monkeypatch.delenv("KF_PIPELINES_ENDPOINT", raising=False)
    monkeypatch.delenv("KF_PIPELINES_SA_TOKEN_PATH", raising=False)
    return context


@pytest.fixture
def sa_client(kfp_env: KfpTestEnv, kfp_home: Path,
              monkeypatch: pytest.MonkeyPatch) -> ClientFactory:
    """``sa_client(ns)``: a Client holding ``ns``'s default-editor token, read via the env var."""

    def make(namespace: str) -> kfp.Client:
        monkeypatch.setenv("KF_PIPELINES_SA_TOKEN_PATH", str(kfp_env.token_file(namespace)))
        credentials = kfp.auth.ServiceAccountTokenVolumeCredentials(path=None)
        return kfp.Client(host=kfp_env.url, credentials=credentials)

    return make


@pytest.fixture
def alice(sa_client: ClientFactory) -> kfp.Client:
    return sa_client("alice")


@pytest.fixture
def bob(sa_client: ClientFactory) -> kfp.Client:
    return sa_client("bob")


@pytest.fixture
def grant_shared_pipelines(kfp_env: KfpTestEnv) -> Callable[[str], None]:
    """Bind a namespace's default-editor SA to kubeflow-edit in the KFP system namespace.

    This is how upstream CI lets a tenant publish shared pipelines
    (``shared-pipeline-rbac.yaml``): writes to shared pipelines are authorized in POD_NAMESPACE.
    """

    def grant(namespace: str) -> None:
        emulator = kfp_env.emulator
        with emulator.kfp.state.lock:
            emulator.cluster.rbac.put_binding(RoleBinding(
                namespace=emulator.config.pod_namespace,
                name=f"shared-pipelines-{namespace}",
                role_ref=RoleRef("ClusterRole", "kubeflow-edit"),
                subjects=[Subject("ServiceAccount", EDITOR_SA, namespace)],
            ))

    return grant


@pytest.fixture(scope="session")
def argo_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An Argo Workflow compiled by kfp 1.8's own compiler."""
    path = tmp_path_factory.mktemp("kfp1-packages") / f"{ARGO_PIPELINE_NAME}.yaml"
    Compiler().compile(_hello_argo, str(path))
    return path


@pytest.fixture(scope="session")
def ir_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A KFP v2 IR YAML (what a 2.x compiler writes), uploaded through the 1.8 client."""
    path = tmp_path_factory.mktemp("kfp1-packages") / "hello-ir.yaml"
    path.write_text(IR_PIPELINE_YAML)
    return path


@pytest.fixture
def shared_pipeline(alice: kfp.Client, grant_shared_pipelines: Callable[[str], None],
                    argo_package: Path) -> ApiPipeline:
    """The kfp 1.8 compiled pipeline, uploaded by alice as a shared pipeline."""
    grant_shared_pipelines("alice")
    return alice.upload_pipeline(str(argo_package), pipeline_name=ARGO_PIPELINE_NAME,
                                 description="echo a message")

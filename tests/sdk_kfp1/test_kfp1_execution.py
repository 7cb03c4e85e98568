"""A kfp 1.8 pipeline (Argo Workflow YAML) executing: its Workflow, node outputs and artifacts."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import kfp
import pytest
import yaml
from kfp import dsl
from kfp.compiler import Compiler
from kfp.components import create_component_from_func

from emulator.kube.cluster import EDITOR_SA
from emulator.testing import KfpTestEnv

TWO_STEP = "v1-two-step"


def _produce(rows: int) -> str:
    return "rows=" + str(rows)


def _consume(text: str) -> int:
    return len(text)


@dsl.pipeline(name=TWO_STEP, description="produce then consume")
def _two_step(rows=3):  # type: ignore[no-untyped-def]
    # No annotation on purpose (kfp 1.8 reads them as types).
    produced = create_component_from_func(_produce, base_image="python:3.9")(rows)
    create_component_from_func(_consume, base_image="python:3.9")(produced.output)


@pytest.fixture(scope="session")
def two_step_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kfp1-exec") / f"{TWO_STEP}.yaml"
    Compiler().compile(_two_step, str(path))
    return path


def test_v1_pipeline_runs_as_an_argo_workflow(kfp_env: KfpTestEnv, alice: kfp.Client,
                                              two_step_package: Path) -> None:
    experiment = alice.create_experiment("v1-exec", namespace="alice")
    run = alice.run_pipeline(experiment.id, "v1 run", str(two_step_package))
    engine = kfp_env.emulator.execution
    workflow = engine.workflow_of_run(run.id)
    assert workflow is not None
    assert workflow["metadata"]["namespace"] == "alice"
    assert workflow["metadata"]["generateName"] == f"{TWO_STEP}-"
    assert workflow["spec"]["serviceAccountName"] == EDITOR_SA
    # The compiled templates are what runs.
    compiled = yaml.safe_load(two_step_package.read_text())
    compiled_templates = {t["name"] for t in compiled["spec"]["templates"]}
    entry = next(t for t in compiled["spec"]["templates"]
                 if t["name"] == compiled["spec"]["entrypoint"])
    task_names = sorted(t["name"] for t in entry["dag"]["tasks"])
    assert {t["name"] for t in workflow["spec"]["templates"]} == compiled_templates
    kfp_env.advance(30)
    detail = alice.get_run(run.id)
    assert detail.run.status == "Succeeded"
    runtime = json.loads(detail.pipeline_runtime.workflow_manifest)
    assert runtime["metadata"]["name"] == workflow["metadata"]["name"]
    nodes = [n for n in runtime["status"]["nodes"].values() if n["type"] == "Pod"]
    assert sorted(n["displayName"] for n in nodes) == task_names
    assert {n["phase"] for n in nodes} == {"Succeeded"}
    store = kfp_env.emulator.object_store
    producer = next(n for n in nodes if any(
        a["name"].endswith("Output") for a in n.get("outputs", {}).get("artifacts", [])))
    (artifact,) = [a for a in producer["outputs"]["artifacts"] if a["name"] != "main-logs"]
    key = artifact["s3"]["key"]
    name = workflow["metadata"]["name"]
    assert key.startswith(f"private-artifacts/alice/{name}/") and key.endswith(
        f"/{artifact['name']}.tgz")
    assert engine.node_artifact_key(run.id, producer["id"], artifact["name"]) == key
    assert engine.node_artifact_key(run.id, producer["id"], "no-such-output") is None
    assert engine.node_artifact_key(run.id, "no-such-node", artifact["name"]) is None
    stored = store.get_object("mlpipeline", key)
    assert stored is not None
    with tarfile.open(fileobj=io.BytesIO(stored.data), mode="r:gz") as archive:
        (member,) = archive.getmembers()
        text = archive.extractfile(member).read().decode()  # type: ignore[union-attr]
    assert run.id in text
    # Node output parameters are Argo's strings.
    assert all(isinstance(p["value"], str)
               for n in nodes for p in n.get("outputs", {}).get("parameters", []))
    logs = [a for a in producer["outputs"]["artifacts"] if a["name"] == "main-logs"]
    assert logs and store.get_object("mlpipeline", logs[0]["s3"]["key"]) is not None

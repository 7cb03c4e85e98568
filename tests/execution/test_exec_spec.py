"""The task graph read from packages the real kfp 2.17.3 / kfp-kubernetes compiler wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emulator.execution.spec import graph_of_ir, graph_of_source, split_struct
from emulator.kfp.models import PipelineSource
from tests.execution import pipelines
from tests.execution.exec_support import documents

pytestmark = pytest.mark.kfp2


def test_two_step_tasks_outputs_and_order(packages: dict[str, Path]) -> None:
    spec = documents(packages["two-step"])[0]
    graph = graph_of_ir(spec)
    assert graph.is_v2 and graph.pipeline_name == spec["pipelineInfo"]["name"]
    names = [t.name for t in graph.tasks]
    assert set(names) == set(spec["root"]["dag"]["tasks"])
    assert names.index("prepare") < names.index("train")
    prepare, train = graph.task("prepare"), graph.task("train")
    assert prepare is not None and train is not None
    components = spec["components"]
    prepare_out = components[spec["root"]["dag"]["tasks"]["prepare"]["componentRef"]["name"]][
        "outputDefinitions"]
    assert {a.name: a.schema_title for a in prepare.artifacts} == {
        name: d["artifactType"]["schemaTitle"] for name, d in prepare_out["artifacts"].items()}
    assert {p.name: p.type for p in prepare.parameters} == {
        name: d["parameterType"] for name, d in prepare_out["parameters"].items()}
    assert "system.Metrics" in {a.schema_title for a in prepare.artifacts}
    assert train.dependencies == ("prepare",)
    assert ("data", "prepare", "data") in train.input_artifacts
    executor = spec["deploymentSpec"]["executors"][train.template]
    assert train.image == executor["container"]["image"]


def test_platform_spec_secret_env_and_volume(packages: dict[str, Path]) -> None:
    spec, platform = documents(packages["with-secret"])
    graph = graph_of_ir(spec, platform)
    (task,) = graph.tasks
    (ref,) = task.kubernetes.env_from
    assert (ref.kind, ref.name, ref.optional) == ("secret", pipelines.SECRET, False)
    assert [(k.key, k.env_var) for k in ref.keys] == [(pipelines.SECRET_KEY,
                                                       pipelines.SECRET_ENV)]
    spec, platform = documents(packages["with-secret-volume"])
    (task,) = graph_of_ir(spec, platform).tasks
    (ref,) = task.kubernetes.volumes
    assert (ref.kind, ref.name, ref.mount_path) == ("secret", pipelines.SECRET, "/mnt/creds")
    spec, platform = documents(packages["with-optional-secret"])
    (task,) = graph_of_ir(spec, platform).tasks
    assert task.kubernetes.env_from[0].optional is True


def test_platform_spec_config_maps(packages: dict[str, Path]) -> None:
    spec, platform = documents(packages["with-config-map"])
    (task,) = graph_of_ir(spec, platform).tasks
    assert [(r.kind, r.name) for r in task.kubernetes.env_from] == [
        ("configmap", pipelines.CONFIG_MAP)]
    assert [(r.kind, r.mount_path) for r in task.kubernetes.volumes] == [
        ("configmap", "/etc/settings")]


def test_without_platform_spec_no_kubernetes_settings(packages: dict[str, Path]) -> None:
    spec, _ = documents(packages["with-secret"])
    (task,) = graph_of_ir(spec).tasks
    assert task.kubernetes.empty


def test_struct_form_and_sources(packages: dict[str, Path]) -> None:
    """The API's ``{"pipeline_spec", "platform_spec"}`` struct reads like the two documents."""
    spec, platform = documents(packages["with-secret"])
    wrapped = json.loads(json.dumps({"pipeline_spec": spec, "platform_spec": platform}))
    assert split_struct(wrapped) == (spec, platform)
    from_struct = graph_of_source(PipelineSource(pipeline_spec=wrapped))
    from_text = graph_of_source(PipelineSource(
        pipeline_manifest=packages["with-secret"].read_text()))
    assert from_struct == from_text == graph_of_ir(spec, platform)


def test_nested_pipeline_is_flattened(packages: dict[str, Path]) -> None:
    spec = documents(packages["nested"])[0]
    graph = graph_of_ir(spec)
    names = [t.name for t in graph.tasks]
    # The sub-pipeline's container tasks appear under their own names, before the task that
    # runs after the sub-pipeline.
    assert {"prepare", "train", "report"} <= set(names)
    assert names.index("prepare") < names.index("train") < names.index("report")
    report = graph.task("report")
    assert report is not None and report.dependencies


def test_malformed_specs_give_empty_graphs() -> None:
    for bad in ({}, {"root": "x"}, {"pipeline_spec": {"root": {"dag": {"tasks": []}}}},
                {"root": {"dag": {"tasks": {"a": {"componentRef": 5}}}}, "components": []}):
        graph = graph_of_ir(bad)
        assert [t.image for t in graph.tasks] in ([], [""])
    assert graph_of_source(PipelineSource(workflow_manifest="::: not yaml")).tasks == ()

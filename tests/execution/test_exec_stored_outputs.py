"""What a finished run leaves in the object store is made on read from a small recipe: the bytes,
size and ETag are the same on every read, equal what was written when the task ended (later
changes to the run do not show through), and a client's overwrite stores its own bytes.
Pods are found by name from their workflow's name (no per-pod index)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from emulator.core import Emulator, ProfileSpec
from emulator.kfp.access import Credentials
from emulator.kfp.models import PipelineSource
from emulator.kfp.pipelines import VersionRequest
from emulator.kfp.runs import RunRequest
from emulator.objectstore.models import DEFAULT_BUCKET, StoredObject

NAMESPACE, OWNER = "team-a", "a@example.com"
OTHER_NAMESPACE, OTHER_OWNER = "team-b", "b@example.com"

SPEC: dict[str, Any] = {
    "pipelineInfo": {"name": "train-and-evaluate"},
    "sdkVersion": "kfp-2.17.3",
    "schemaVersion": "2.1.0",
    "root": {"dag": {"tasks": {
        "train": {"taskInfo": {"name": "train"}, "componentRef": {"name": "comp-train"}},
        "evaluate": {
            "taskInfo": {"name": "evaluate"}, "componentRef": {"name": "comp-evaluate"},
            "dependentTasks": ["train"],
            "inputs": {"artifacts": {"model": {"taskOutputArtifact": {
                "producerTask": "train", "outputArtifactKey": "model"}}}}}}}},
    "components": {
        "comp-train": {"executorLabel": "exec-train", "outputDefinitions": {"artifacts": {
            "model": {"artifactType": {"schemaTitle": "system.Model",
                                       "schemaVersion": "0.0.1"}},
            "metrics": {"artifactType": {"schemaTitle": "system.Metrics",
                                         "schemaVersion": "0.0.1"}}}}},
        "comp-evaluate": {"executorLabel": "exec-evaluate", "outputDefinitions": {
            "parameters": {"accuracy": {"parameterType": "NUMBER_DOUBLE"}}}}},
    "deploymentSpec": {"executors": {
        "exec-train": {"container": {"image": "python:3.11", "command": ["python", "-m",
                                                                          "train"]}},
        "exec-evaluate": {"container": {"image": "python:3.11",
                                        "command": ["python", "-m", "evaluate"]}}}},
}


class Tenant:
    def __init__(self, emulator: Emulator, namespace: str, owner: str) -> None:
        self.emulator, self.namespace = emulator, namespace
        emulator.add_profile(ProfileSpec(namespace, owner))
        self.creds = Credentials(userid_headers=(owner,))
        kfp = emulator.kfp
        with kfp.state.lock:
            self.experiment = kfp.experiments.create(self.creds, "e", "", namespace)
            _, version = kfp.pipelines.create(
                self.creds, name="train-and-evaluate", namespace=namespace,
                version=VersionRequest(name="v1", spec_text=json.dumps(SPEC)))
        assert version is not None
        self.version_id = version.id

    def run(self) -> str:
        kfp = self.emulator.kfp
        with kfp.state.lock:
            run = kfp.runs.create(self.creds, RunRequest(
                name="r", experiment_id=self.experiment.id,
                source=PipelineSource(pipeline_version_id=self.version_id)))
        return str(run.id)


@pytest.fixture
def emulator() -> Emulator:
    return Emulator()


def _objects(emulator: Emulator, run_id: str) -> list[StoredObject]:
    record = emulator.execution.execution_of_run(run_id)
    assert record is not None
    keys = [a.key for t in record.tasks for a in t.artifacts] + [
        t.log_key for t in record.tasks if t.log_key]
    found = [emulator.object_store.get_object(DEFAULT_BUCKET, key) for key in keys]
    assert all(o is not None for o in found)
    return [o for o in found if o is not None]


def test_outputs_are_generated_and_read_the_same_every_time(emulator: Emulator) -> None:
    tenant = Tenant(emulator, NAMESPACE, OWNER)
    run_id = tenant.run()
    emulator.advance(3600)
    objects = _objects(emulator, run_id)
    assert len(objects) == 4  # model, metrics, two logs
    for obj in objects:
        assert obj.generated
        data = obj.data
        assert obj.data == data and obj.size == len(data) > 0
        assert obj.etag == hashlib.md5(data).hexdigest()
    listed = {o.key: o for o in emulator.object_store.list_objects(DEFAULT_BUCKET)}
    assert {o.key for o in objects} <= set(listed)
    model = json.loads(next(o for o in objects if o.key.endswith("/model")).data)
    assert model["run"] == run_id and model["task"] == "train"
    # Each log is the pod's log as it was when the pod ended.
    record = emulator.execution.execution_of_run(run_id)
    assert record is not None
    for task in record.tasks:
        stored = emulator.object_store.get_object(DEFAULT_BUCKET, task.log_key)
        assert stored is not None and stored.content_type == "text/plain"
        assert stored.data.decode() == emulator.execution.pod_log(NAMESPACE, task.pod_name)


def test_a_client_overwrite_stores_its_bytes(emulator: Emulator) -> None:
    tenant = Tenant(emulator, NAMESPACE, OWNER)
    run_id = tenant.run()
    emulator.advance(3600)
    target = _objects(emulator, run_id)[0]
    written = emulator.object_store.put_object(DEFAULT_BUCKET, target.key, b"mine",
                                               "text/plain")
    again = emulator.object_store.get_object(DEFAULT_BUCKET, target.key)
    assert again is written and not again.generated
    assert (again.data, again.size, again.etag) == (b"mine", 4, hashlib.md5(b"mine").hexdigest())


def test_a_failed_pods_log_keeps_what_it_said_through_a_retry(emulator: Emulator) -> None:
    tenant = Tenant(emulator, NAMESPACE, OWNER)
    run_id = tenant.run()
    emulator.set_run_outcome(run_id, "FAILED")
    emulator.advance(3600)
    record = emulator.execution.execution_of_run(run_id)
    assert record is not None
    failed = next(t for t in record.tasks if t.phase == "Failed")
    stored = emulator.object_store.get_object(DEFAULT_BUCKET, failed.log_key)
    assert stored is not None
    before = stored.data
    assert b"failed with exit code 1" in before
    emulator.set_run_outcome(run_id, "SUCCEEDED")
    with emulator.kfp.state.lock:
        emulator.kfp.runs.retry(tenant.creds, run_id)
    assert failed.phase == ""  # reset for the new attempt, not run yet
    assert stored.data == before
    emulator.advance(3600)
    rewritten = emulator.object_store.get_object(DEFAULT_BUCKET, failed.log_key)
    assert rewritten is not None and rewritten is not stored
    assert b"failed with exit code 1" not in rewritten.data


def test_pods_are_found_by_name_in_their_namespace_only(emulator: Emulator) -> None:
    tenant = Tenant(emulator, NAMESPACE, OWNER)
    other = Tenant(emulator, OTHER_NAMESPACE, OTHER_OWNER)
    runs = [tenant.run(), tenant.run(), other.run()]
    emulator.advance(3600)
    engine = emulator.execution
    for run_id in runs:
        record = engine.execution_of_run(run_id)
        assert record is not None
        elsewhere = OTHER_NAMESPACE if record.namespace == NAMESPACE else NAMESPACE
        for task in record.tasks:
            found = engine.get_pod(record.namespace, task.pod_name)
            assert found is not None and found.uid == task.pod_uid
            assert engine.get_pod(elsewhere, task.pod_name) is None
            assert engine.get_pod(record.namespace, task.pod_name + "0") is None
    assert len(engine.list_pods(NAMESPACE)) == 4 and len(engine.list_pods("")) == 6
    assert [w.name for w in engine.list_workflows(OTHER_NAMESPACE)] == [
        engine.execution_of_run(runs[2]).workflow_name]  # type: ignore[union-attr]
    record = engine.execution_of_run(runs[0])
    assert record is not None
    name = record.tasks[0].pod_name
    assert engine.delete_pod(NAMESPACE, name) is not None
    assert engine.get_pod(NAMESPACE, name) is None and engine.pod_log(NAMESPACE, name) is None
    assert engine.get_pod(NAMESPACE, record.tasks[1].pod_name) is not None
    # Node and task ids are derived: Argo's node id shares the pod name's hash.
    task = record.tasks[1]
    assert task.node_id == f"{record.workflow_name}-{task.pod_name.rsplit('-', 1)[1]}"
    engine.drop_namespace(NAMESPACE)
    assert engine.list_pods(NAMESPACE) == [] and len(engine.list_pods("")) == 2


def test_engine_uids_are_version_4_uuids() -> None:
    import random
    import uuid

    from emulator.execution.engine import uuid4_text

    rng = random.Random(7)
    for bits in [0, 2**128 - 1] + [rng.getrandbits(128) for _ in range(200)]:
        assert uuid4_text(bits) == str(uuid.UUID(int=bits, version=4))


def test_task_ids_are_the_uuid5_of_run_and_task() -> None:
    import uuid

    from emulator.execution.records import uuid5_text

    for name in ("run-1/train", "4f1c0d3e-0000-4000-8000-000000000000/évaluer", ""):
        assert uuid5_text(name) == str(uuid.uuid5(uuid.NAMESPACE_URL, name))

"""The metadata store's rules, without the wire."""

from __future__ import annotations

import pytest

from emulator.mlmd.models import Artifact, Context, Event, TypeKind
from emulator.mlmd.status import GrpcStatus, MlmdError
from emulator.mlmd.store import FIRST_TYPE_ID, MetadataStore


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> MetadataStore:
    return MetadataStore(clock)


def test_the_kfp_run_graph(store: MetadataStore, clock: FakeClock) -> None:
    run = store.put_context("system.PipelineRun", "run-1", {"namespace": "bob"})
    clock.t += 1
    execution = store.put_execution("system.ContainerExecution", "", "RUNNING",
                                    {"task_name": "train"}, [run])
    artifact = store.put_artifact("system.Model", "minio://mlpipeline/m", {"display_name": "m"},
                                  [run])
    store.put_event(execution, artifact, "OUTPUT", "model")

    assert (run, execution, artifact) == (1, 1, 1)  # ids count from 1 per kind
    [found] = store.artifacts_by_uri("minio://mlpipeline/m")
    assert found.id == artifact and found.custom_properties == {"display_name": "m"}
    assert found.type_name == "system.Model"
    assert [c.name for c in store.contexts_by_artifact(artifact)] == ["run-1"]
    assert [c.id for c in store.contexts_by_execution(execution)] == [run]
    context = store.context_by_type_and_name("system.PipelineRun", "run-1")
    assert context is not None and context.custom_properties == {"namespace": "bob"}
    assert context.create_time_ms == 1_000_000  # ms of the emulator clock
    assert store.executions_by_id([execution])[0].create_time_ms == 1_001_000
    [event] = store.events_by_execution_ids([execution])
    assert (event.artifact_id, event.kind, event.path) == (artifact, "OUTPUT", ("model",))
    assert store.events_by_artifact_ids([artifact]) == [event]


def test_types_are_made_on_first_use_after_the_system_types(store: MetadataStore) -> None:
    store.put_context("system.PipelineRun", "r", {})
    store.put_context("system.Pipeline", "p", {})
    store.put_context("system.PipelineRun", "r2", {})
    ids = sorted(t.id for t in store.types(TypeKind.CONTEXT))
    assert ids == [FIRST_TYPE_ID, FIRST_TYPE_ID + 1]
    assert FIRST_TYPE_ID == 10  # measured: MLMD's nine system types come first


def test_put_context_is_idempotent_by_type_and_name(store: MetadataStore) -> None:
    first = store.put_context("system.PipelineRun", "run-1", {"namespace": "bob"})
    again = store.put_context("system.PipelineRun", "run-1", {"namespace": "alice"})
    other_type = store.put_context("system.Pipeline", "run-1", {})
    assert again == first and other_type != first
    context = store.context_by_type_and_name("system.PipelineRun", "run-1")
    assert context is not None and context.custom_properties == {"namespace": "bob"}


def test_missing_lookups_answer_nothing(store: MetadataStore) -> None:
    assert store.context_by_type_and_name("system.PipelineRun", "nope") is None
    assert store.artifacts_by_uri("minio://nope") == []
    assert store.contexts_by_artifact(42) == []
    assert store.artifacts_by_id([1, 2]) == []


def test_a_failed_write_changes_nothing(store: MetadataStore) -> None:
    run = store.put_context("system.PipelineRun", "run-1", {})
    with pytest.raises(MlmdError) as raised:
        store.put_artifact("system.Model", "minio://x", {}, [run, 99])
    assert raised.value.code is GrpcStatus.INVALID_ARGUMENT
    assert store.artifacts() == []
    assert store.type_by_name(TypeKind.ARTIFACT, "system.Model") is None
    # ... and the next artifact still gets id 1
    assert store.put_artifact("system.Model", "minio://x", {}, [run]) == 1


def test_names_are_unique_per_type(store: MetadataStore) -> None:
    model = store.ensure_type(TypeKind.ARTIFACT, "system.Model")
    store.save_artifact(Artifact(type_id=model.id, uri="a", name="m"))
    with pytest.raises(MlmdError) as raised:
        store.save_artifact(Artifact(type_id=model.id, uri="b", name="m"))
    assert raised.value.code is GrpcStatus.ALREADY_EXISTS
    dataset = store.ensure_type(TypeKind.ARTIFACT, "system.Dataset")
    assert store.save_artifact(Artifact(type_id=dataset.id, uri="b", name="m")) == 2


def test_a_context_needs_a_name_and_a_type(store: MetadataStore) -> None:
    run = store.ensure_type(TypeKind.CONTEXT, "system.PipelineRun")
    with pytest.raises(MlmdError) as no_name:
        store.save_context(Context(type_id=run.id))
    with pytest.raises(MlmdError) as no_type:
        store.save_context(Context(name="x"))
    with pytest.raises(MlmdError) as unknown_type:
        store.save_context(Context(type_id=run.id + 5, name="x"))
    assert no_name.value.code is GrpcStatus.INVALID_ARGUMENT
    assert no_type.value.message == "Type id is missing."
    assert unknown_type.value.code is GrpcStatus.NOT_FOUND


def test_an_update_replaces_the_record_and_keeps_its_creation_time(
        store: MetadataStore, clock: FakeClock) -> None:
    model = store.ensure_type(TypeKind.ARTIFACT, "system.Model")
    artifact_id = store.save_artifact(Artifact(type_id=model.id, uri="a", name="m",
                                               custom_properties={"x": 1}))
    clock.t += 5
    store.save_artifact(Artifact(id=artifact_id, type_id=model.id, uri="b",
                                 custom_properties={"y": "z"}))
    [stored] = store.artifacts_by_id([artifact_id])
    assert (stored.uri, stored.name, stored.custom_properties) == ("b", "m", {"y": "z"})
    assert stored.update_time_ms - stored.create_time_ms == 5000
    with pytest.raises(MlmdError) as unknown:
        store.save_artifact(Artifact(id=77, type_id=model.id))
    assert unknown.value.message == "Cannot find the given id 77"


def test_declared_properties_are_checked(store: MetadataStore) -> None:
    from emulator.mlmd.models import NodeType
    type_id = store.put_type(NodeType(kind=TypeKind.ARTIFACT, name="t",
                                      properties={"p": "STRING"}))
    assert store.save_artifact(Artifact(type_id=type_id, properties={"p": "v"})) == 1
    for bad in ({"q": "v"}, {"p": 3}):
        with pytest.raises(MlmdError) as raised:
            store.save_artifact(Artifact(type_id=type_id, properties=bad))
        assert raised.value.code is GrpcStatus.INVALID_ARGUMENT


def test_put_type_matches_widens_or_refuses(store: MetadataStore) -> None:
    from emulator.mlmd.models import NodeType
    first = store.put_type(NodeType(kind=TypeKind.EXECUTION, name="e", properties={"a": "INT"}))
    assert store.put_type(NodeType(kind=TypeKind.EXECUTION, name="e",
                                   properties={"a": "INT"})) == first
    with pytest.raises(MlmdError) as more:
        store.put_type(NodeType(kind=TypeKind.EXECUTION, name="e",
                                properties={"a": "INT", "b": "STRING"}))
    assert more.value.code is GrpcStatus.ALREADY_EXISTS
    assert store.put_type(NodeType(kind=TypeKind.EXECUTION, name="e",
                                   properties={"a": "INT", "b": "STRING"}),
                          can_add_fields=True) == first
    assert store.type_by_id(TypeKind.EXECUTION, first).properties == {"a": "INT", "b": "STRING"}
    # the same name for another kind is another type
    assert store.put_type(NodeType(kind=TypeKind.ARTIFACT, name="e")) != first


def test_events_need_both_ends_a_type_and_are_unique(store: MetadataStore) -> None:
    run = store.put_context("system.PipelineRun", "r", {})
    execution = store.put_execution("system.ContainerExecution", "", "RUNNING", {}, [run])
    artifact = store.put_artifact("system.Artifact", "u", {}, [run])
    for bad in (Event(artifact_id=artifact, execution_id=execution, kind="UNKNOWN"),
                Event(artifact_id=artifact + 1, execution_id=execution, kind="INPUT"),
                Event(artifact_id=artifact, execution_id=execution + 1, kind="INPUT")):
        with pytest.raises(MlmdError) as raised:
            store.add_event(bad)
        assert raised.value.code is GrpcStatus.INVALID_ARGUMENT
    store.put_event(execution, artifact, "INPUT", "in")
    store.put_event(execution, artifact, "OUTPUT", "out")
    with pytest.raises(MlmdError) as duplicate:
        store.put_event(execution, artifact, "INPUT", "again")
    assert duplicate.value.code is GrpcStatus.ALREADY_EXISTS
    assert len(store.events_by_execution_ids([execution])) == 2


def test_unknown_execution_state_is_refused(store: MetadataStore) -> None:
    with pytest.raises(MlmdError):
        store.put_execution("system.ContainerExecution", "", "DONE", {}, [])
    assert store.executions() == []


def test_clear_forgets_everything(store: MetadataStore) -> None:
    store.put_context("system.PipelineRun", "r", {})
    store.clear()
    assert store.contexts() == [] and store.types(TypeKind.CONTEXT) == []
    assert store.put_context("system.PipelineRun", "r", {}) == 1

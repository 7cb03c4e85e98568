"""The metadata store's indexes: every indexed answer equals a scan of the records, also after
updates and after transactions that failed (the journal undoes index changes with the records).
"""

from __future__ import annotations

from typing import Any

import pytest

from emulator.mlmd.models import Artifact, Context, Event, Execution, TypeKind
from emulator.mlmd.status import GrpcStatus, MlmdError
from emulator.mlmd.store import MetadataStore, _Tables, _values


@pytest.fixture
def store() -> MetadataStore:
    return MetadataStore(lambda: 1000.0)


def _normal(index: dict[Any, Any]) -> dict[Any, list[int]]:
    return {key: sorted(_values(index, key)) for key in index}


def _rebuilt(tables: _Tables) -> dict[str, Any]:
    """Every index, computed from the records alone."""
    names: dict[TypeKind, dict[tuple[int, str], int]] = {kind: {} for kind in TypeKind}
    external: dict[TypeKind, dict[tuple[int, str], int]] = {kind: {} for kind in TypeKind}
    nodes: dict[TypeKind, dict[int, Any]] = {
        TypeKind.ARTIFACT: tables.artifacts, TypeKind.EXECUTION: tables.executions,
        TypeKind.CONTEXT: tables.contexts}
    for kind, table in nodes.items():
        for node in table.values():
            if node.name:
                names[kind][(node.type_id, node.name)] = node.id
            if node.external_id:
                external[kind][(node.type_id, node.external_id)] = node.id
    uris: dict[str, list[int]] = {}
    for artifact in tables.artifacts.values():
        if artifact.uri is not None:
            uris.setdefault(artifact.uri, []).append(artifact.id)
    of_type: dict[int, list[int]] = {}
    for context in tables.contexts.values():
        of_type.setdefault(context.type_id, []).append(context.id)
    execution_events: dict[int, list[int]] = {}
    artifact_events: dict[int, list[int]] = {}
    for position, event in enumerate(tables.events):
        execution_events.setdefault(event.execution_id, []).append(position)
        artifact_events.setdefault(event.artifact_id, []).append(position)
    return {
        "type_ids": {(t.kind, t.name, t.version): t.id for t in tables.types.values()},
        "names": names, "external_ids": external, "uris": uris, "contexts_of_type": of_type,
        "execution_events": execution_events, "artifact_events": artifact_events}


def assert_consistent(store: MetadataStore) -> None:
    tables = store._t
    expected = _rebuilt(tables)
    assert tables.type_ids == expected["type_ids"]
    assert tables.names == expected["names"]
    assert tables.external_ids == expected["external_ids"]
    for name in ("uris", "contexts_of_type", "execution_events", "artifact_events"):
        assert _normal(getattr(tables, name)) == expected[name], name
    # Links are kept from both ends: each end lists exactly the other's pairs.
    for forward, backward in (("artifact_contexts", "context_artifacts"),
                              ("execution_contexts", "context_executions")):
        pairs = {(a, b) for a in getattr(tables, forward)
                 for b in _values(getattr(tables, forward), a)}
        reverse = {(a, b) for b in getattr(tables, backward)
                   for a in _values(getattr(tables, backward), b)}
        assert pairs == reverse, forward
        assert all(len(set(_values(getattr(tables, forward), k))) ==
                   len(_values(getattr(tables, forward), k)) for k in getattr(tables, forward))


def _snapshot(store: MetadataStore) -> Any:
    tables = store._t
    return (dict(tables.types), dict(tables.artifacts), dict(tables.executions),
            dict(tables.contexts), list(tables.events), tables.next_type_id,
            dict(tables.next_ids), _normal(tables.uris), dict(tables.names[TypeKind.CONTEXT]),
            _normal(tables.artifact_contexts), _normal(tables.context_artifacts),
            _normal(tables.execution_contexts), _normal(tables.context_executions),
            _normal(tables.execution_events), _normal(tables.artifact_events))


def _graph(store: MetadataStore) -> dict[str, int]:
    pipeline = store.put_context("system.Pipeline", "p", {})
    run = store.put_context("system.PipelineRun", "run-1", {"namespace": "a"})
    train = store.put_execution("system.ContainerExecution", "", "COMPLETE",
                                {"task_name": "train"}, [pipeline, run])
    model = store.put_artifact("system.Model", "minio://mlpipeline/m", {}, [pipeline, run])
    store.put_event(train, model, "OUTPUT", "model")
    evaluate = store.put_execution("system.ContainerExecution", "", "COMPLETE",
                                   {"outputs": {"accuracy": 0.9}}, [pipeline, run])
    store.put_event(evaluate, model, "INPUT", "model")
    return {"pipeline": pipeline, "run": run, "train": train, "model": model,
            "evaluate": evaluate}


def test_indexed_answers_match_the_records(store: MetadataStore) -> None:
    ids = _graph(store)
    assert_consistent(store)
    assert [c.name for c in store.contexts_by_artifact(ids["model"])] == ["p", "run-1"]
    assert [e.id for e in store.executions_by_context(ids["run"])] == [
        ids["train"], ids["evaluate"]]
    assert [(e.execution_id, e.kind) for e in store.events_by_artifact_ids([ids["model"]])] == [
        (ids["train"], "OUTPUT"), (ids["evaluate"], "INPUT")]
    assert [e.kind for e in store.events_by_execution_ids(
        [ids["evaluate"], ids["train"], ids["train"]])] == ["OUTPUT", "INPUT"]
    assert [c.name for c in store.contexts_by_type("system.PipelineRun")] == ["run-1"]
    assert store.context_by_type_and_name("system.PipelineRun", "run-1") is not None
    assert store.context_by_type_and_name("system.PipelineRun", "run-2") is None
    # Links are idempotent: linking again adds nothing.
    store.attribute(ids["model"], ids["run"])
    store.associate(ids["train"], ids["run"])
    assert_consistent(store)
    assert len(store.artifacts_by_context(ids["run"])) == 1


def test_updates_move_names_external_ids_and_uris(store: MetadataStore) -> None:
    model = store.ensure_type(TypeKind.ARTIFACT, "system.Model")
    first = store.save_artifact(Artifact(type_id=model.id, uri="u1", name="a", external_id="x"))
    second = store.save_artifact(Artifact(type_id=model.id, uri="u1", name="b"))
    store.save_artifact(Artifact(id=first, type_id=model.id, uri="u2", name="c",
                                 external_id="y"))
    assert_consistent(store)
    assert [a.id for a in store.artifacts_by_uri("u1")] == [second]
    # The old name and external id are free again; the new ones are taken.
    store.save_artifact(Artifact(type_id=model.id, name="a", external_id="x"))
    with pytest.raises(MlmdError) as raised:
        store.save_artifact(Artifact(type_id=model.id, name="c"))
    assert raised.value.code is GrpcStatus.ALREADY_EXISTS
    # Moving the newest artifact back to u1 keeps by-uri answers in id order.
    store.save_artifact(Artifact(id=second, type_id=model.id, uri="u2"))
    store.save_artifact(Artifact(id=second, type_id=model.id, uri="u1"))
    store.save_artifact(Artifact(id=first, type_id=model.id, uri="u1"))
    assert [a.id for a in store.artifacts_by_uri("u1")] == [first, second]
    assert_consistent(store)


def test_the_first_conflicting_node_names_the_conflict(store: MetadataStore) -> None:
    """A node clashing with one node by name and with an older one by external id: MLMD
    reports the older (the table is read in id order)."""
    model = store.ensure_type(TypeKind.ARTIFACT, "system.Model")
    store.save_artifact(Artifact(type_id=model.id, external_id="x"))
    store.save_artifact(Artifact(type_id=model.id, name="n"))
    with pytest.raises(MlmdError) as raised:
        store.save_artifact(Artifact(type_id=model.id, name="n", external_id="x"))
    assert "external_id: 'x'" in raised.value.message
    with pytest.raises(MlmdError) as raised:
        store.save_artifact(Artifact(type_id=model.id, name="n", external_id="z"))
    assert 'name: "n"' in raised.value.message


@pytest.mark.parametrize("failure", ["unknown context", "duplicate name", "duplicate event"])
def test_a_failed_transaction_restores_records_and_indexes(
        store: MetadataStore, failure: str) -> None:
    ids = _graph(store)
    before = _snapshot(store)
    model = store.type_by_name(TypeKind.ARTIFACT, "system.Model")
    assert model is not None
    with pytest.raises(MlmdError), store.atomic():
        # Changes of every kind first: a new type, nodes, an update, links, an event.
        dataset = store.ensure_type(TypeKind.ARTIFACT, "system.Dataset")
        new = store.save_artifact(Artifact(type_id=dataset.id, uri="minio://d", name="d"))
        store.save_artifact(Artifact(id=ids["model"], type_id=model.id, uri="minio://moved",
                                     name="renamed", external_id="e"))
        store.save_context(Context(type_id=store._t.contexts[ids["run"]].type_id,
                                   name="run-2"))
        store.attribute(new, ids["run"])
        store.associate(ids["train"], ids["run"])
        store.add_event(Event(artifact_id=new, execution_id=ids["train"], kind="OUTPUT"))
        if failure == "unknown context":
            store.attribute(new, 999)
        elif failure == "duplicate name":
            store.save_artifact(Artifact(type_id=dataset.id, uri="x", name="d"))
        else:
            store.add_event(Event(artifact_id=new, execution_id=ids["train"],
                                  kind="OUTPUT"))
    assert _snapshot(store) == before
    assert_consistent(store)
    assert store.type_by_name(TypeKind.ARTIFACT, "system.Dataset") is None
    assert store.artifacts_by_uri("minio://moved") == []
    assert [a.id for a in store.artifacts_by_uri("minio://mlpipeline/m")] == [ids["model"]]
    assert store.context_by_type_and_name("system.PipelineRun", "run-2") is None
    # The ids handed out inside were given back.
    assert store.put_artifact("system.Model", "minio://next", {}, []) == ids["model"] + 1


def test_a_nested_failure_undoes_only_the_inner_changes(store: MetadataStore) -> None:
    ids = _graph(store)
    with store.atomic():
        kept = store.put_context("system.PipelineRun", "run-2", {})
        inner = _snapshot(store)
        with pytest.raises(MlmdError):
            store.put_execution("system.ContainerExecution", "", "COMPLETE", {},
                                [ids["run"], 999])
        assert _snapshot(store) == inner
    assert store.contexts_by_id([kept])[0].name == "run-2"
    assert_consistent(store)


def test_clear_inside_a_failed_transaction_is_undone(store: MetadataStore) -> None:
    _graph(store)
    before = _snapshot(store)
    with pytest.raises(RuntimeError), store.atomic():
        store.clear()
        raise RuntimeError("boom")
    assert _snapshot(store) == before
    store.clear()
    assert store.contexts() == [] and store._t.names[TypeKind.CONTEXT] == {}
    assert_consistent(store)


def test_many_runs_stay_consistent(store: MetadataStore) -> None:
    """A few hundred KFP-shaped runs, then one execution per run updated through the full
    interface (names kept, state changed)."""
    pipeline = store.put_context("system.Pipeline", "p", {})
    executions = []
    for number in range(300):
        run = store.put_context("system.PipelineRun", f"run-{number}", {})
        train = store.put_execution("system.ContainerExecution", "", "RUNNING", {},
                                    [pipeline, run])
        model = store.put_artifact("system.Model", f"minio://mlpipeline/{number}", {},
                                   [pipeline, run])
        store.put_event(train, model, "OUTPUT", "model")
        executions.append(train)
    execution_type = store.type_by_name(TypeKind.EXECUTION, "system.ContainerExecution")
    assert execution_type is not None
    for execution_id in executions[::7]:
        store.save_execution(Execution(id=execution_id, type_id=execution_type.id,
                                       state="COMPLETE"))
    assert_consistent(store)
    assert len(store.artifacts_by_context(pipeline)) == 300
    assert len(store.contexts_by_type("system.PipelineRun")) == 300
    assert store.context_by_type_and_name("system.PipelineRun", "run-299") is not None

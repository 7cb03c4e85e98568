"""The same requests, built with ml-metadata's own classes, sent to ml-metadata's engine and
to the emulator's metadata-envoy; the answers, decoded with ml-metadata's classes, must agree
(times and page tokens aside, which each side makes its own).  This proves the wire format
both ways and the store's rules at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ml_metadata.proto import metadata_store_pb2 as m
from ml_metadata.proto import metadata_store_service_pb2 as s

from emulator.mlmd.client import GrpcWebClient, GrpcWebError
from tests.mlmd_real.conftest import StatusError

TIME_FIELDS = {"create_time_since_epoch", "last_update_time_since_epoch",
               "milliseconds_since_epoch"}
Step = tuple[str, Callable[[Any], Any]]  # (method, previous answer of that side -> request)


def normalized(message: Any) -> Any:
    copy = type(message)()
    copy.CopyFrom(message)

    def scrub(node: Any) -> None:
        for field, value in node.ListFields():
            if field.name in TIME_FIELDS:
                node.ClearField(field.name)
            elif field.name == "next_page_token":
                setattr(node, field.name, "<token>")
            elif field.message_type is not None:
                if field.message_type.GetOptions().map_entry:
                    for item in value.values():
                        if hasattr(item, "ListFields"):
                            scrub(item)
                elif field.label == field.LABEL_REPEATED:
                    for item in value:
                        scrub(item)
                else:
                    scrub(value)

    scrub(copy)
    return copy


# The real engine's order for these changed between two runs of this very test (the request's
# URI order in one, id order in another): an order it does not define, compared as a set.
UNORDERED = {"GetArtifactsByURI": "artifacts"}


def canonical(method: str, message: Any) -> Any:
    """``normalized``, with the items of an unordered answer sorted by their bytes."""
    copy = normalized(message)
    field = UNORDERED.get(method)
    if field is not None:
        items = sorted(getattr(copy, field), key=lambda i: i.SerializeToString(deterministic=True))
        del getattr(copy, field)[:]
        getattr(copy, field).extend(items)
    return copy


def real_answer(store: Any, method: str, request: Any) -> tuple[Any, int]:
    response = getattr(s, f"{method}Response")()
    try:
        store._call_method(method, request, response)
    except StatusError as exc:
        return str(exc), exc.error_code
    return response, 0


def emulator_answer(client: GrpcWebClient, method: str, request: Any) -> tuple[Any, int]:
    try:
        return client.call(method, request, getattr(s, f"{method}Response")), 0
    except GrpcWebError as exc:
        assert exc.grpc_status is not None, exc
        return exc.grpc_message, exc.grpc_status


def ctx(name: str, namespace: str | None = None, **fields: Any) -> Any:
    context = m.Context(type_id=10, name=name, **fields)
    if namespace is not None:
        context.custom_properties["namespace"].string_value = namespace
    return context


def artifact(uri: str, **fields: Any) -> Any:
    found = m.Artifact(type_id=11, uri=uri, **fields)
    found.custom_properties["display_name"].string_value = uri.rsplit("/", 1)[-1]
    return found


def page(size: int, asc: bool = True, field: int = 3) -> Any:
    options = m.ListOperationOptions(max_result_size=size)
    options.order_by_field.field = field
    options.order_by_field.is_asc = asc
    return options


def next_page(method: str, size: int) -> Step:
    def build(previous: Any) -> Any:
        options = page(size)
        options.next_page_token = previous.next_page_token
        return getattr(s, f"{method}Request")(options=options)
    return method, build


def output_event(key: str) -> Any:
    event = m.Event(type=m.Event.OUTPUT)
    event.path.steps.add().key = key
    return event


def pair(art: Any | None = None, event: Any | None = None) -> Any:
    return s.PutExecutionRequest.ArtifactAndEvent(artifact=art, event=event)


def typed(kind: str, name: str, **properties: int) -> Any:
    field = {"Artifact": "artifact_type", "Execution": "execution_type",
             "Context": "context_type"}[kind]
    message = getattr(m, f"{kind}Type")(name=name)
    for key, value in properties.items():
        message.properties[key] = value
    return getattr(s, f"Put{kind}TypeRequest")(**{field: message})


def struct_artifact() -> Any:
    found = artifact("minio://mlpipeline/metrics")
    found.custom_properties["metrics"].struct_value.update({"acc": 0.9, "tags": ["a", "b"]})
    found.custom_properties["flag"].bool_value = True
    found.custom_properties["n"].int_value = 3
    found.custom_properties["x"].double_value = 2.5
    return found


STEPS: list[Step] = [
    ("PutContextType", lambda _: typed("Context", "system.PipelineRun")),
    ("PutArtifactType", lambda _: typed("Artifact", "system.Artifact")),
    ("PutExecutionType", lambda _: typed("Execution", "system.ContainerExecution")),
    ("PutContextType", lambda _: typed("Context", "system.PipelineRun")),
    ("PutContextType", lambda _: typed("Context", "system.PipelineRun", extra=m.STRING)),
    ("PutContextType", lambda _: typed("Context", "")),
    ("PutArtifactType", lambda _: typed("Artifact", "typed", p=m.STRING)),
    ("GetContextType", lambda _: s.GetContextTypeRequest(type_name="system.PipelineRun")),
    ("GetContextType", lambda _: s.GetContextTypeRequest(type_name="nope")),
    ("GetArtifactType", lambda _: s.GetArtifactTypeRequest(type_name="typed")),
    ("GetExecutionType", lambda _: s.GetExecutionTypeRequest(type_name="system.Artifact")),
    ("PutContexts", lambda _: s.PutContextsRequest(contexts=[ctx("run-1", "bob"),
                                                             ctx("run-2", "alice")])),
    ("PutContexts", lambda _: s.PutContextsRequest(contexts=[ctx("run-3"), ctx("run-1")])),
    ("PutContexts", lambda _: s.PutContextsRequest(contexts=[ctx("")])),
    ("PutContexts", lambda _: s.PutContextsRequest(contexts=[ctx("run-9", id=99)])),
    ("GetContexts", lambda _: s.GetContextsRequest()),
    ("PutArtifacts", lambda _: s.PutArtifactsRequest(artifacts=[
        artifact("minio://mlpipeline/a"), struct_artifact()])),
    ("PutArtifacts", lambda _: s.PutArtifactsRequest(artifacts=[m.Artifact(uri="u")])),
    ("PutArtifacts", lambda _: s.PutArtifactsRequest(artifacts=[m.Artifact(type_id=77)])),
    ("PutArtifacts", lambda _: s.PutArtifactsRequest(artifacts=[
        m.Artifact(type_id=13, uri="u", properties={"p": m.Value(int_value=1)})])),
    ("PutArtifacts", lambda _: s.PutArtifactsRequest(artifacts=[
        m.Artifact(type_id=13, uri="u", properties={"q": m.Value(string_value="v")})])),
    ("PutArtifacts", lambda _: s.PutArtifactsRequest(artifacts=[
        m.Artifact(type_id=13, uri="typed", name="t",
                   properties={"p": m.Value(string_value="v")})])),
    ("PutArtifacts", lambda _: s.PutArtifactsRequest(artifacts=[
        m.Artifact(type_id=13, uri="again", name="t")])),
    ("PutExecution", lambda _: s.PutExecutionRequest(
        execution=m.Execution(type_id=12, last_known_state=m.Execution.RUNNING),
        artifact_event_pairs=[pair(artifact("minio://mlpipeline/private-artifacts/bob/model"),
                                   output_event("model")),
                              pair(event=m.Event(artifact_id=1, type=m.Event.INPUT))],
        contexts=[ctx("run-1", "bob", id=1)])),
    ("PutExecution", lambda _: s.PutExecutionRequest(
        execution=m.Execution(type_id=12), contexts=[ctx("run-2")])),
    ("PutExecution", lambda _: s.PutExecutionRequest(
        execution=m.Execution(type_id=12), contexts=[ctx("run-2", "alice")],
        options=s.PutExecutionRequest.Options(reuse_context_if_already_exist=True))),
    ("PutExecution", lambda _: s.PutExecutionRequest(
        execution=m.Execution(type_id=12),
        artifact_event_pairs=[pair(event=m.Event(artifact_id=1, execution_id=1,
                                                 type=m.Event.INPUT))])),
    ("PutExecution", lambda _: s.PutExecutionRequest()),
    ("PutExecutions", lambda _: s.PutExecutionsRequest(executions=[
        m.Execution(type_id=12, name="named", last_known_state=m.Execution.COMPLETE)])),
    ("PutExecutions", lambda _: s.PutExecutionsRequest(executions=[
        m.Execution(type_id=12, name="named")])),
    ("PutEvents", lambda _: s.PutEventsRequest(events=[
        m.Event(artifact_id=2, execution_id=3, type=m.Event.INPUT)])),
    ("PutEvents", lambda _: s.PutEventsRequest(events=[
        m.Event(artifact_id=2, execution_id=3, type=m.Event.INPUT)])),
    ("PutEvents", lambda _: s.PutEventsRequest(events=[m.Event(artifact_id=2, execution_id=3)])),
    ("PutEvents", lambda _: s.PutEventsRequest(events=[
        m.Event(artifact_id=2, execution_id=30, type=m.Event.INPUT)])),
    ("PutAttributionsAndAssociations", lambda _: s.PutAttributionsAndAssociationsRequest(
        attributions=[m.Attribution(artifact_id=2, context_id=2)],
        associations=[m.Association(execution_id=3, context_id=2)])),
    ("PutAttributionsAndAssociations", lambda _: s.PutAttributionsAndAssociationsRequest(
        attributions=[m.Attribution(artifact_id=2, context_id=2)])),
    ("PutAttributionsAndAssociations", lambda _: s.PutAttributionsAndAssociationsRequest(
        attributions=[m.Attribution(artifact_id=42, context_id=2)])),
    # the UI's reads
    ("GetContextByTypeAndName", lambda _: s.GetContextByTypeAndNameRequest(
        type_name="system.PipelineRun", context_name="run-1")),
    ("GetContextByTypeAndName", lambda _: s.GetContextByTypeAndNameRequest(
        type_name="system.PipelineRun", context_name="run-404")),
    ("GetContextByTypeAndName", lambda _: s.GetContextByTypeAndNameRequest(
        type_name="nope", context_name="run-1")),
    ("GetExecutionsByContext", lambda _: s.GetExecutionsByContextRequest(context_id=1)),
    ("GetExecutionsByContext", lambda _: s.GetExecutionsByContextRequest(context_id=404)),
    ("GetArtifactsByContext", lambda _: s.GetArtifactsByContextRequest(context_id=1)),
    ("GetArtifactsByContext", lambda _: s.GetArtifactsByContextRequest(context_id=2)),
    ("GetEventsByExecutionIDs", lambda _: s.GetEventsByExecutionIDsRequest(
        execution_ids=[1, 3, 404])),
    ("GetEventsByArtifactIDs", lambda _: s.GetEventsByArtifactIDsRequest(artifact_ids=[1, 2])),
    ("GetArtifactsByID", lambda _: s.GetArtifactsByIDRequest(artifact_ids=[4, 1, 404])),
    ("GetArtifactsByID", lambda _: s.GetArtifactsByIDRequest(
        artifact_ids=[1, 3], populate_artifact_types=True)),
    ("GetArtifactTypes", lambda _: s.GetArtifactTypesRequest()),
    ("GetExecutionTypes", lambda _: s.GetExecutionTypesRequest()),
    ("GetContextTypes", lambda _: s.GetContextTypesRequest()),
    ("GetArtifactTypesByID", lambda _: s.GetArtifactTypesByIDRequest(type_ids=[13, 10, 11])),
    ("GetExecutionTypesByID", lambda _: s.GetExecutionTypesByIDRequest(type_ids=[12, 11])),
    ("GetContextsByExecution", lambda _: s.GetContextsByExecutionRequest(execution_id=1)),
    ("GetContextsByExecution", lambda _: s.GetContextsByExecutionRequest(execution_id=4)),
    ("GetContextsByArtifact", lambda _: s.GetContextsByArtifactRequest(artifact_id=4)),
    ("GetContextsByArtifact", lambda _: s.GetContextsByArtifactRequest(artifact_id=3)),
    ("GetArtifactsByURI", lambda _: s.GetArtifactsByURIRequest(
        uris=["minio://mlpipeline/private-artifacts/bob/model", "minio://mlpipeline/a", "x"])),
    ("GetContextsByID", lambda _: s.GetContextsByIDRequest(context_ids=[2, 1, 404])),
    ("GetExecutionsByID", lambda _: s.GetExecutionsByIDRequest(execution_ids=[4, 1])),
    ("GetContextsByType", lambda _: s.GetContextsByTypeRequest(type_name="system.PipelineRun")),
    ("GetContextsByType", lambda _: s.GetContextsByTypeRequest(type_name="nope")),
    # lists and pages
    ("GetArtifacts", lambda _: s.GetArtifactsRequest()),
    ("GetExecutions", lambda _: s.GetExecutionsRequest()),
    ("GetArtifacts", lambda _: s.GetArtifactsRequest(options=page(2))),
    next_page("GetArtifacts", 2),
    next_page("GetArtifacts", 2),
    ("GetExecutions", lambda _: s.GetExecutionsRequest(options=page(2, asc=False))),
    ("GetContexts", lambda _: s.GetContextsRequest(options=page(1, field=1))),
    ("GetContextsByType", lambda _: s.GetContextsByTypeRequest(
        type_name="system.PipelineRun", options=page(1))),
    ("GetArtifactsByContext", lambda _: s.GetArtifactsByContextRequest(
        context_id=1, options=page(1))),
    ("GetArtifacts", lambda _: s.GetArtifactsRequest(options=page(0))),
    ("GetArtifacts", lambda _: s.GetArtifactsRequest(options=page(500))),
    ("GetArtifacts", lambda _: s.GetArtifactsRequest(
        options=m.ListOperationOptions(next_page_token="garbage"))),
    # updates
    ("PutArtifacts", lambda _: s.PutArtifactsRequest(artifacts=[
        m.Artifact(id=1, type_id=11, uri="minio://mlpipeline/a2", state=m.Artifact.LIVE)])),
    ("PutArtifacts", lambda _: s.PutArtifactsRequest(artifacts=[
        m.Artifact(id=1, type_id=13, uri="x")])),
    ("PutArtifacts", lambda _: s.PutArtifactsRequest(artifacts=[m.Artifact(id=77, type_id=11)])),
    ("PutContexts", lambda _: s.PutContextsRequest(contexts=[ctx("run-1b", "carol", id=1)])),
    ("PutExecutions", lambda _: s.PutExecutionsRequest(executions=[
        m.Execution(id=1, type_id=12, last_known_state=m.Execution.FAILED)])),
    ("GetArtifactsByID", lambda _: s.GetArtifactsByIDRequest(artifact_ids=[1])),
    ("GetContextsByID", lambda _: s.GetContextsByIDRequest(context_ids=[1])),
    ("GetExecutionsByID", lambda _: s.GetExecutionsByIDRequest(execution_ids=[1, 4])),
]


def test_the_emulator_answers_as_ml_metadata_does(real_store: Any, emulator_url: str) -> None:
    client = GrpcWebClient(emulator_url)
    differences = []
    previous: dict[str, Any] = {"real": None, "emulator": None}
    for number, (method, build) in enumerate(STEPS):
        real, real_code = real_answer(real_store, method, build(previous["real"]))
        ours, our_code = emulator_answer(client, method, build(previous["emulator"]))
        previous = {"real": real, "emulator": ours}
        where = f"step {number} {method}"
        if real_code != our_code:
            differences.append(f"{where}: real {real_code} {real!r:.200}, "
                               f"emulator {our_code} {ours!r:.200}")
        elif real_code and real.strip().split(":")[0] != ours.strip().split(":")[0]:
            differences.append(f"{where}: real says {real!r:.200}, emulator {ours!r:.200}")
        elif real_code == 0 and canonical(method, real) != canonical(method, ours):
            differences.append(f"{where}:\nreal:\n{normalized(real)}\nemulator:\n"
                               f"{normalized(ours)}")
    assert not differences, "\n".join(differences)

"""MetadataStoreService: each served method, from its request message to its response.

What a method answers when something is missing is what real MLMD answers (measured with
ml-metadata 1.17.1): by-id reads skip unknown ids, a missing context by type and name is OK
with no ``context``, a missing type by name is NOT_FOUND, and GetContextsByArtifact /
GetContextsByExecution are NOT_FOUND when the node has no context at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulator.mlmd import schema, wire
from emulator.mlmd.listing import ListOptions, options_from_message, paginate
from emulator.mlmd.models import Context, TypeKind
from emulator.mlmd.status import invalid, not_found
from emulator.mlmd.store import MetadataStore

Handler = Callable[[MetadataStore, Any], Any]
HANDLERS: dict[str, Handler] = {}


def method(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[name] = handler
        return handler
    return register


def call(store: MetadataStore, name: str, request: Any) -> Any:
    """Answer ``request`` with method ``name`` (the caller holds the emulator's lock)."""
    return HANDLERS[name](store, request)


def _response(name: str, **fields: Any) -> Any:
    return schema.response_class(name)(**fields)


def _options(request: Any) -> ListOptions | None:
    return options_from_message(request.options) if request.HasField("options") else None


def _version(request: Any) -> str | None:
    return request.type_version if request.HasField("type_version") else None


# -- types -----------------------------------------------------------------------------------

def _put_type(kind: TypeKind, field: str) -> Handler:
    def handler(store: MetadataStore, request: Any) -> Any:
        wanted = wire.type_from_message(kind, getattr(request, field))
        with store.atomic():
            type_id = store.put_type(wanted, request.can_add_fields, request.can_omit_fields)
        return schema.response_class(f"Put{wire.TYPE_MESSAGES[kind]}")(type_id=type_id)
    return handler


def _get_type(kind: TypeKind, field: str) -> Handler:
    def handler(store: MetadataStore, request: Any) -> Any:
        found = store.get_type(kind, request.type_name, _version(request))
        response = schema.response_class(f"Get{wire.TYPE_MESSAGES[kind]}")()
        getattr(response, field).CopyFrom(wire.type_to_message(found))
        return response
    return handler


def _list_types(kind: TypeKind, field: str, by_id: bool) -> Handler:
    def handler(store: MetadataStore, request: Any) -> Any:
        found = store.types_by_id(kind, request.type_ids) if by_id else store.types(kind)
        suffix = "sByID" if by_id else "s"
        response = schema.response_class(f"Get{wire.TYPE_MESSAGES[kind]}{suffix}")()
        getattr(response, field).extend(wire.type_to_message(t) for t in found)
        return response
    return handler


for _kind, _message in wire.TYPE_MESSAGES.items():
    _field = {"ArtifactType": "artifact_type", "ExecutionType": "execution_type",
              "ContextType": "context_type"}[_message]
    HANDLERS[f"Put{_message}"] = _put_type(_kind, _field)
    HANDLERS[f"Get{_message}"] = _get_type(_kind, _field)
    HANDLERS[f"Get{_message}s"] = _list_types(_kind, _field + "s", by_id=False)
    if _kind is not TypeKind.CONTEXT:
        HANDLERS[f"Get{_message}sByID"] = _list_types(_kind, _field + "s", by_id=True)


# -- writes ----------------------------------------------------------------------------------

@method("PutArtifacts")
def put_artifacts(store: MetadataStore, request: Any) -> Any:
    with store.atomic():
        ids = [store.save_artifact(wire.artifact_from_message(a)) for a in request.artifacts]
    return _response("PutArtifacts", artifact_ids=ids)


@method("PutExecutions")
def put_executions(store: MetadataStore, request: Any) -> Any:
    with store.atomic():
        ids = [store.save_execution(wire.execution_from_message(e)) for e in request.executions]
    return _response("PutExecutions", execution_ids=ids)


@method("PutContexts")
def put_contexts(store: MetadataStore, request: Any) -> Any:
    with store.atomic():
        ids = [store.save_context(wire.context_from_message(c)) for c in request.contexts]
    return _response("PutContexts", context_ids=ids)


@method("PutEvents")
def put_events(store: MetadataStore, request: Any) -> Any:
    with store.atomic():
        for event in request.events:
            store.add_event(wire.event_from_message(event))
    return _response("PutEvents")


@method("PutAttributionsAndAssociations")
def put_links(store: MetadataStore, request: Any) -> Any:
    with store.atomic():
        for attribution in request.attributions:
            store.attribute(attribution.artifact_id, attribution.context_id)
        for association in request.associations:
            store.associate(association.execution_id, association.context_id)
    return _response("PutAttributionsAndAssociations")


def _reuse_or_save(store: MetadataStore, context: Context, reuse: bool) -> int:
    if reuse and not context.id and context.name:
        context_type = store.type_by_id(TypeKind.CONTEXT, context.type_id)
        existing = (store.context_by_type_and_name(context_type.name, context.name)
                    if context_type is not None else None)
        if existing is not None:
            return existing.id
    return store.save_context(context)


@method("PutExecution")
def put_execution(store: MetadataStore, request: Any) -> Any:
    """One execution with its artifacts, their events and its contexts, all or nothing."""
    if not request.HasField("execution"):
        raise invalid("No execution is found: ")
    with store.atomic():
        execution_id = store.save_execution(wire.execution_from_message(request.execution))
        artifact_ids = []
        for pair in request.artifact_event_pairs:
            if pair.HasField("artifact"):
                artifact_id = store.save_artifact(wire.artifact_from_message(pair.artifact))
            elif pair.HasField("event") and pair.event.artifact_id:
                artifact_id = pair.event.artifact_id
            else:
                raise invalid("Request's artifact_event_pairs has neither an artifact nor an "
                              "event with artifact_id")
            artifact_ids.append(artifact_id)
            if not pair.HasField("event"):
                continue
            event = pair.event
            if event.HasField("execution_id") and event.execution_id != execution_id:
                raise invalid("Request's event.execution_id does not match with the given "
                              "execution: ")
            if event.HasField("artifact_id") and event.artifact_id != artifact_id:
                raise invalid("Request's event.artifact_id does not match with the given "
                              "artifact: ")
            store.add_event(wire.event_from_message(event, execution_id, artifact_id))
        reuse = request.options.reuse_context_if_already_exist
        context_ids = [_reuse_or_save(store, wire.context_from_message(c), reuse)
                       for c in request.contexts]
        for context_id in context_ids:
            store.associate(execution_id, context_id)
            for artifact_id in artifact_ids:
                store.attribute(artifact_id, context_id)
    return _response("PutExecution", execution_id=execution_id, artifact_ids=artifact_ids,
                     context_ids=context_ids)


# -- artifacts -------------------------------------------------------------------------------

@method("GetArtifacts")
def get_artifacts(store: MetadataStore, request: Any) -> Any:
    page, token = paginate(store.artifacts(), _options(request))
    return _response("GetArtifacts", artifacts=[wire.artifact_to_message(a) for a in page],
                     next_page_token=token or None)


@method("GetArtifactsByID")
def get_artifacts_by_id(store: MetadataStore, request: Any) -> Any:
    found = store.artifacts_by_id(request.artifact_ids)
    response = _response("GetArtifactsByID",
                         artifacts=[wire.artifact_to_message(a) for a in found])
    if request.populate_artifact_types:
        types = store.types_by_id(TypeKind.ARTIFACT, {a.type_id for a in found})
        response.artifact_types.extend(wire.type_to_message(t) for t in types)
    return response


@method("GetArtifactsByURI")
def get_artifacts_by_uri(store: MetadataStore, request: Any) -> Any:
    # In the order of the request's URIs, each URI's artifacts by id.  The real engine's order
    # is not defined: request order and id order were both seen (tests/mlmd_real).
    found = [a for uri in dict.fromkeys(request.uris)
             for a in sorted(store.artifacts_by_uri(uri), key=lambda a: a.id)]
    return _response("GetArtifactsByURI", artifacts=[wire.artifact_to_message(a) for a in found])


@method("GetArtifactsByContext")
def get_artifacts_by_context(store: MetadataStore, request: Any) -> Any:
    page, token = paginate(store.artifacts_by_context(request.context_id), _options(request))
    return _response("GetArtifactsByContext",
                     artifacts=[wire.artifact_to_message(a) for a in page],
                     next_page_token=token or None)


# -- executions ------------------------------------------------------------------------------

@method("GetExecutions")
def get_executions(store: MetadataStore, request: Any) -> Any:
    page, token = paginate(store.executions(), _options(request))
    return _response("GetExecutions", executions=[wire.execution_to_message(e) for e in page],
                     next_page_token=token or None)


@method("GetExecutionsByID")
def get_executions_by_id(store: MetadataStore, request: Any) -> Any:
    found = store.executions_by_id(request.execution_ids)
    return _response("GetExecutionsByID",
                     executions=[wire.execution_to_message(e) for e in found])


@method("GetExecutionsByContext")
def get_executions_by_context(store: MetadataStore, request: Any) -> Any:
    page, token = paginate(store.executions_by_context(request.context_id), _options(request))
    return _response("GetExecutionsByContext",
                     executions=[wire.execution_to_message(e) for e in page],
                     next_page_token=token or None)


# -- contexts --------------------------------------------------------------------------------

@method("GetContexts")
def get_contexts(store: MetadataStore, request: Any) -> Any:
    page, token = paginate(store.contexts(), _options(request))
    return _response("GetContexts", contexts=[wire.context_to_message(c) for c in page],
                     next_page_token=token or None)


@method("GetContextsByID")
def get_contexts_by_id(store: MetadataStore, request: Any) -> Any:
    found = store.contexts_by_id(request.context_ids)
    return _response("GetContextsByID", contexts=[wire.context_to_message(c) for c in found])


@method("GetContextsByType")
def get_contexts_by_type(store: MetadataStore, request: Any) -> Any:
    found = store.contexts_by_type(request.type_name, _version(request))
    page, token = paginate(found, _options(request))
    return _response("GetContextsByType", contexts=[wire.context_to_message(c) for c in page],
                     next_page_token=token or None)


@method("GetContextByTypeAndName")
def get_context_by_type_and_name(store: MetadataStore, request: Any) -> Any:
    found = store.context_by_type_and_name(request.type_name, request.context_name)
    response = _response("GetContextByTypeAndName")
    if found is not None:
        response.context.CopyFrom(wire.context_to_message(found))
    return response


@method("GetContextsByArtifact")
def get_contexts_by_artifact(store: MetadataStore, request: Any) -> Any:
    found = store.contexts_by_artifact(request.artifact_id)
    if not found:
        raise not_found(f"No contexts found for artifact_id: {request.artifact_id}")
    return _response("GetContextsByArtifact", contexts=[wire.context_to_message(c)
                                                        for c in found])


@method("GetContextsByExecution")
def get_contexts_by_execution(store: MetadataStore, request: Any) -> Any:
    found = store.contexts_by_execution(request.execution_id)
    if not found:
        raise not_found(f"No contexts found for execution_id: {request.execution_id}")
    return _response("GetContextsByExecution", contexts=[wire.context_to_message(c)
                                                         for c in found])


# -- events ----------------------------------------------------------------------------------

@method("GetEventsByExecutionIDs")
def get_events_by_execution_ids(store: MetadataStore, request: Any) -> Any:
    found = store.events_by_execution_ids(request.execution_ids)
    return _response("GetEventsByExecutionIDs", events=[wire.event_to_message(e)
                                                        for e in found])


@method("GetEventsByArtifactIDs")
def get_events_by_artifact_ids(store: MetadataStore, request: Any) -> Any:
    found = store.events_by_artifact_ids(request.artifact_ids)
    return _response("GetEventsByArtifactIDs", events=[wire.event_to_message(e) for e in found])


missing = set(schema.METHODS) ^ set(HANDLERS)
if missing:  # the schema's messages and the handlers must name the same methods
    raise RuntimeError(f"MLMD methods without a handler or a schema: {sorted(missing)}")

"""``GET /artifacts/get`` and ``GET /artifacts/<source>/<bucket>/<key>`` (handlers/artifacts.ts).

First the authorization middleware (``getArtifactsAuthMiddleware``), in upstream's order:
single-valued parameters, then -- with ``ENABLE_AUTHZ`` -- the identity header, the namespace,
the SubjectAccessReview on it (:func:`require_namespace_access`, the fix of isolation-bugs
ISO-014) and the artifact's ownership (:func:`require_ownership`, the fix of ISO-015).  Then
the handler reads the object with the UI's own admin credentials: nothing below the middleware
stops a cross-namespace read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.datastructures import Headers
from starlette.responses import Response

from emulator import bugs
from emulator.ui import content, parts
from emulator.ui.authz import authorize, user_header
from emulator.ui.config import UiConfig
from emulator.ui.express import (
    Query,
    decode_uri_component,
    is_allowed_resource_name,
    send,
    send_plain,
    stream,
)
from emulator.ui.ownership import (
    MLMD_TRACKED_SOURCES,
    build_artifact_uri,
    validate_artifact_namespace,
)

if TYPE_CHECKING:
    from emulator.core import Emulator

QUERY_PARAMETERS = ("source", "bucket", "key", "providerInfo", "namespace", "peek")
SOURCES = frozenset({"minio", "s3", "gcs", "http", "https", "volume"})
MAX_KEY_LENGTH = 1024
GCS_NO_CREDENTIALS = ("Error: Could not load the default credentials. Browse to "
                      "https://cloud.google.com/docs/authentication/getting-started for more "
                      "information.")
NO_SUCH_BUCKET = "S3Error: The specified bucket does not exist"

_GET_FORM = re.compile(r"/artifacts/get/?", re.IGNORECASE)
_PATH_FORM = re.compile(r"/artifacts/([^/]+)/([^/]+)/(.*)", re.IGNORECASE | re.DOTALL)
_MIDDLEWARE_PATH = re.compile(r"/artifacts/([^/]+)/([^/]+)/(.+)", re.DOTALL)


class Malformed(Exception):
    """A path segment ``decodeURIComponent`` cannot decode."""


@dataclass(frozen=True)
class Coordinates:
    source: str
    bucket: str
    key: str


@dataclass(frozen=True)
class ArtifactRequest:
    source: str
    bucket: str
    key: str
    peek: float
    provider_info: str
    namespace: str


def _decoded(*segments: str) -> tuple[str, ...]:
    decoded = tuple(decode_uri_component(s) for s in segments)
    if any(d is None for d in decoded):
        raise Malformed
    return tuple(d for d in decoded if d is not None)


def _ownership_coordinates(full_raw_path: str, query: Query) -> Coordinates:
    """``resolveArtifactCoordinates``: the path form's segments, else the query's values."""
    start = full_raw_path.find("/artifacts/")
    path = full_raw_path[start:] if start >= 0 else full_raw_path
    if path != "/artifacts/get":
        found = _MIDDLEWARE_PATH.fullmatch(path)
        if found:
            return Coordinates(*_decoded(*found.groups()))
    return Coordinates(query.get("source") or "", query.get("bucket") or "",
                       query.get("key") or "")


# -- the middleware -----------------------------------------------------------------------------

def check_artifact_request(emulator: Emulator, config: UiConfig, headers: Headers,
                           query: Query, full_raw_path: str) -> Response | None:
    """The middleware: None lets the request through to the handler."""
    for name in QUERY_PARAMETERS:
        if not query.is_single(name):
            return send(400, f"{name} must be a single string value")
    if not config.auth_enabled:
        return None
    # ISO-014: up to 2.16 the artifact handlers had no authorization middleware at all (no
    # identity, namespace or SAR check; the handler then reads with the UI's admin credentials).
    if bugs.on(emulator.config, "ISO-014"):
        return None
    denied = require_namespace_access(emulator, config, headers, query)
    if denied is not None:
        return denied
    # ISO-015: builds with #12860 but not #13433 checked the namespace, never the object's owner.
    if bugs.on(emulator.config, "ISO-015"):
        return None
    return require_ownership(emulator, config, query, full_raw_path)


def require_namespace_access(emulator: Emulator, config: UiConfig, headers: Headers,
                             query: Query) -> Response | None:
    """An identity, a valid ``namespace`` and ``get viewers`` in it (ISO-014's fix)."""
    if not user_header(config, headers):
        return send(401, "Authentication required for artifact access")
    namespace = query.get("namespace")
    if not namespace:
        return send(400, "Namespace parameter is required when authentication is enabled")
    if not is_allowed_resource_name(namespace):
        return send(400, "Invalid namespace format")
    message = authorize(emulator, config, headers, namespace)
    if message is not None:
        return send(403, message)
    return None


def require_ownership(emulator: Emulator, config: UiConfig, query: Query,
                      full_raw_path: str) -> Response | None:
    """The object must belong to the namespace just authorized (ISO-015's fix)."""
    try:
        coords = _ownership_coordinates(full_raw_path, query)
    except Malformed:
        return send(400, "Malformed URL encoding in artifact path")
    if coords.source not in MLMD_TRACKED_SOURCES or not coords.bucket or not coords.key:
        return None
    uri = build_artifact_uri(coords.source, coords.bucket, coords.key)
    with emulator.kfp.state.lock:
        validation = validate_artifact_namespace(
            parts.metadata(emulator), uri, query.get("namespace") or "",
            config.ownership_mode, config.key_prefix)
    if not validation.valid:
        return send(403, "Artifact does not belong to the requested namespace")
    return None


# -- the handler --------------------------------------------------------------------------------

def artifact_route(local_raw_path: str) -> tuple[str, str, str] | str | None:
    """``"get"`` for the query form, the raw (source, bucket, key) of the path form, None
    when neither route matches."""
    if _GET_FORM.fullmatch(local_raw_path):
        return "get"
    found = _PATH_FORM.fullmatch(local_raw_path)
    if found is None:
        return None
    source, bucket, key = found.groups()
    return source, bucket, key


def _required(value: str | None, missing: str) -> str:
    if not value:
        raise _HandlerError(500, missing)
    return value


class _HandlerError(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


def parse_artifact_request(config: UiConfig, query: Query,
                           path_params: tuple[str, str, str] | None) -> ArtifactRequest:
    """``parseArtifactRequest``; raises the handler's answer for a bad request."""
    source_value, bucket_value, key_value = path_params or (
        query.get("source"), query.get("bucket"), query.get("key"))
    source = _required(source_value, "Storage source is missing from artifact request")
    if source not in SOURCES:
        raise _HandlerError(500, "Unknown storage source")
    bucket = _required(bucket_value, "Storage bucket is missing from artifact request")
    key = _required(key_value, "Storage key is missing from artifact request")
    return ArtifactRequest(source, bucket, key, content.parse_peek(query.get("peek")),
                           query.get("providerInfo") or "",
                           query.get("namespace") or config.server_namespace)


def serve_artifact(emulator: Emulator, config: UiConfig, query: Query,
                   path_params: tuple[str, str, str] | None) -> Response:
    """``getArtifactsHandler``: the query form extracts archives, the path form (minio)
    downloads as is."""
    try:
        request = parse_artifact_request(config, query, path_params)
        if not is_allowed_resource_name(request.bucket):
            raise _HandlerError(500, "Invalid bucket name")
        if len(request.key.encode("utf-16-le")) // 2 > MAX_KEY_LENGTH:
            raise _HandlerError(500, "Object key too long")
        return _fetch(emulator, config, request, try_extract=path_params is None)
    except _HandlerError as error:
        return send(error.status, error.text)


def _fetch(emulator: Emulator, config: UiConfig, request: ArtifactRequest,
           try_extract: bool) -> Response:
    # Secret-backed provider info counts only in the server's own namespace; the UI has no
    # Secrets to read here, so only an unparsable value makes a difference.
    provider_info = request.provider_info if request.namespace == config.server_namespace else ""
    if request.source == "gcs":
        raise _HandlerError(500, f"Failed to download GCS file(s). Error: {GCS_NO_CREDENTIALS}")
    if request.source in ("http", "https"):  # HTTP_BASE_URL is empty in every manifest
        raise _HandlerError(400, "HTTP artifact base URL is not configured")
    if request.source == "volume":
        raise _HandlerError(500, "Failed to open volume.")
    if provider_info and not _is_json(provider_info):
        provider = "Minio" if request.source == "minio" else "S3"
        raise _HandlerError(500, f"Failed to initialize Minio Client for {provider} Provider: "
                                 "Error: Failed to parse provider info.")
    # The s3 client is always asked to extract (getObjectStream's default).
    extract = try_extract or request.source == "s3"
    return read_object(emulator, request.bucket, request.key, request.peek, extract)


def _is_json(text: str) -> bool:
    """``parseJSONString`` succeeding with a value (``null`` counts as missing)."""
    try:
        return json.loads(text) is not None
    except ValueError:
        return False


def read_object(emulator: Emulator, bucket: str, key: str, peek: float,
                extract: bool) -> Response:
    """``getMinioArtifactHandler`` over the emulator's object store, as its admin."""
    store = parts.object_store(emulator)
    if store is None:
        return send(500, "Failed to get object in bucket: Error: connect ECONNREFUSED")
    with emulator.kfp.state.lock:
        if store.bucket(bucket) is None:
            return send(500, f"Failed to get object in bucket: {NO_SUCH_BUCKET}")
        found = store.get_object(bucket, key)
        prefix = key if key.endswith("/") else key + "/"
        listed = [] if found is not None else list(store.list_objects(bucket, prefix))
    if found is not None:
        data: bytes = found.data
        if extract:
            try:
                data = content.extract(data)
            except ValueError as error:
                return send(500, f"Failed to get object in bucket: Error: {error}")
        return stream(content.preview(data, peek))
    # No such key: KFP v2 output artifacts may be directories (prefixes).
    if not listed:
        return send(404, f"No objects found at {bucket}/{key}")
    if peek > 0:
        return send_plain(content.directory_summary(key, listed))
    return stream(content.directory_tarball(key, prefix, listed), {
        "Content-Type": "application/gzip",
        "Content-Disposition": content.attachment_disposition(content.tarball_name(key)),
    })

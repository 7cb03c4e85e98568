"""Request decoding and response encoding shared by the v1beta1 and v2beta1 handlers."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.errors import GrpcCode, KfpError, UploadError
from emulator.http.encoding import encode
from emulator.kfp import messages
from emulator.kfp.access import Credentials
from emulator.kfp.server import KfpApiServer

JSON = "application/json"


# One encoder for every response (json.dumps builds a new one per call for these options).


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(encode(body), status_code=status, media_type=JSON, headers=headers)


# Bytes an HTTP/1.1 header value cannot carry (uvicorn refuses them; tab is allowed).
_HEADER_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def header_value(text: str) -> str:
    """``text`` as Go's net/http writes a header value: UTF-8 bytes, CR/LF turned into spaces,
    trimmed. Go sends other control bytes raw; uvicorn cannot, so they become spaces too."""
    return _HEADER_CONTROL.sub(" ", text).strip(" \t").encode("utf-8").decode("latin-1")


def error_response(error: KfpError) -> Response:
    headers = None
    if error.code == GrpcCode.UNAUTHENTICATED:
        # grpc-gateway echoes the status message for code 16; the message may carry
        # caller-supplied text (names, namespaces), control characters included.
        headers = {"WWW-Authenticate": header_value(error.internal)}
    return json_response(error.body(), error.http_status, headers)


def upload_error_response(error: UploadError) -> Response:
    if error.plain_text:
        return Response(error.message, status_code=error.status,
                        media_type="text/plain; charset=utf-8",
                        headers={"X-Content-Type-Options": "nosniff"})
    return json_response(error.body(), error.status)


def not_found_response() -> Response:
    return json_response({"code": int(GrpcCode.NOT_FOUND), "message": "Not Found"}, 404)


def method_not_allowed_response() -> Response:
    return json_response({"code": int(GrpcCode.UNIMPLEMENTED), "message": "Method Not Allowed"},
                         501)


def credentials(request: Request, server: KfpApiServer) -> Credentials:
    """Only the configured identity header and ``Authorization`` reach the API server (2.1)."""
    header = server.config.userid_header.lower()
    return Credentials(
        userid_headers=tuple(request.headers.getlist(header)),
        authorization=request.headers.get("authorization"),
    )


async def body_of(request: Request, message: messages.Message) -> dict[str, Any]:
    raw = await request.body()
    data = messages.decode_json(raw)
    return messages.parse_message(message, data, raw.decode("utf-8", "replace"))


def query(request: Request, name: str, default: str = "") -> str:
    return request.query_params.get(name, default)


def list_args(request: Request, api: str) -> dict[str, Any]:
    """The list parameters every List endpoint takes, for the services' ``list`` methods."""
    return {
        "page_token": query(request, "page_token"),
        "page_size": request.query_params.get("page_size"),
        "sort_by": query(request, "sort_by"),
        "filter_text": query(request, "filter"),
        "api": api,
    }


def query_bool(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "")
    if value in ("", "false", "False", "0", "f", "F", "FALSE"):
        return False
    if value in ("true", "True", "1", "t", "T", "TRUE"):
        return True
    raise messages.bad_body(f'parsing field "{name}": strconv.ParseBool: parsing '
                            f'{json.dumps(value)}: invalid syntax')


def query_enum(request: Request, name: str, enum: messages.Enum) -> str | None:
    """grpc-gateway parses enum query parameters by name or number."""
    value = request.query_params.get(name)
    if value is None:
        return None
    if value in enum.values:
        return value
    if value.lstrip("-").isdigit():
        found = enum.name_of(int(value))
        if found is not None:
            return found
    raise messages.bad_body(f'parsing field "{name}": {json.dumps(value)} is not a valid value')


Operation = Callable[[], Any]


async def guarded(server: KfpApiServer, operation: Operation,
                  render: Callable[[Any], Any] = lambda _: {}) -> Response:
    """Run one API operation under the state lock and render it, or its KfpError."""
    state = server.state
    try:
        with state.lock:
            state.clock.fire_due()
            result = operation()
            body = render(result)
    except KfpError as error:
        return error_response(error)
    return json_response(body)


def run_async(handler: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
    """Turn any decoding KfpError raised before ``guarded`` into the gateway's error body."""
    async def wrapper(request: Request, **params: Any) -> Response:
        try:
            return await handler(request, **params)
        except KfpError as error:
            return error_response(error)
        except UploadError as error:
            return upload_error_response(error)
    wrapper.__name__ = handler.__name__
    wrapper.__doc__ = handler.__doc__
    return wrapper

"""metadata-envoy-service:9090: gRPC-web in front of the metadata store.

As upstream's Envoy (grpc_web, then cors, then router to metadata-grpc-service:8080):
``POST /ml_metadata.MetadataStoreService/<Method>`` with ``application/grpc-web+proto`` (the
UI's binary client; base64 ``application/grpc-web-text`` too), one request frame (0x00, 4-byte
big-endian length, message) in, a data frame and a trailer frame (0x80, ``grpc-status``/
``grpc-message`` lines) out, always HTTP 200 once the request is gRPC-web.  CORS as the cors
filter is configured: any origin, preflights answered by the proxy itself.  No authentication
(emulator.mlmd.access).
"""

from __future__ import annotations

import base64
import binascii
import logging
import struct
import traceback
from typing import TYPE_CHECKING, Any

from google.protobuf.message import DecodeError
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from emulator.http.asgi import answer_lifespan
from emulator.mlmd import access, schema, service
from emulator.mlmd.status import GrpcStatus, MlmdError

if TYPE_CHECKING:
    from emulator.core import Emulator

log = logging.getLogger("kfp_isolation.mlmd")

PATH_PREFIX = f"/{schema.SERVICE_FULL_NAME}/"
GRPC_WEB = "application/grpc-web"
GRPC_WEB_PROTO = "application/grpc-web+proto"
GRPC_WEB_TEXT = "application/grpc-web-text"
DATA_FRAME, TRAILER_FRAME = 0x00, 0x80
MAX_REQUEST_BYTES = 4 * 1024 * 1024  # gRPC's default receive limit

# metadata-envoy-configmap.yaml's CorsPolicy.
CORS_ALLOW_METHODS = "GET, PUT, DELETE, POST, OPTIONS"
CORS_ALLOW_HEADERS = ("keep-alive,user-agent,cache-control,content-type,content-transfer-encoding,"
                      "custom-header-1,x-accept-content-transfer-encoding,"
                      "x-accept-response-streaming,x-user-agent,x-grpc-web,grpc-timeout")
CORS_EXPOSE_HEADERS = "custom-header-1,grpc-status,grpc-message"
CORS_MAX_AGE = "1728000"


def frame(payload: bytes, kind: int = DATA_FRAME) -> bytes:
    return struct.pack(">BI", kind, len(payload)) + payload


def percent_encode(message: str) -> str:
    """gRPC's grpc-message encoding: UTF-8 bytes outside printable ASCII, and ``%``, as %XX."""
    return "".join(chr(b) if 0x20 <= b <= 0x7E and b != 0x25 else f"%{b:02X}"
                   for b in message.encode("utf-8"))


def trailer(code: int, message: str = "") -> bytes:
    """The trailer frame: ``grpc-status`` and, when there is one, ``grpc-message``."""
    text = f"grpc-status:{code}\r\n"
    if message:
        text += f"grpc-message:{percent_encode(message)}\r\n"
    return frame(text.encode("ascii"), TRAILER_FRAME)


def unframe(body: bytes) -> bytes:
    """The one message of a unary request body, or an MlmdError(INVALID_ARGUMENT)."""
    if len(body) < 5:
        raise MlmdError(GrpcStatus.INVALID_ARGUMENT, "gRPC-web request has no complete frame")
    flags, length = struct.unpack(">BI", body[:5])
    if flags != DATA_FRAME:
        raise MlmdError(GrpcStatus.INVALID_ARGUMENT,
                        f"unsupported gRPC-web frame flags 0x{flags:02x} (no compression)")
    if len(body) != 5 + length:
        raise MlmdError(GrpcStatus.INVALID_ARGUMENT,
                        f"gRPC-web frame claims {length} bytes, body holds {len(body) - 5}")
    return body[5:]


def _method_of(path: str) -> str | None:
    if not path.startswith(PATH_PREFIX):
        return None
    name = path[len(PATH_PREFIX):]
    return name if name in service.HANDLERS else None


class GrpcWebApp:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = Headers(scope=scope)
        response = await self._answer(scope, headers, receive)
        origin = headers.get("origin")
        if origin is not None and scope["method"] != "OPTIONS":
            response.headers["access-control-allow-origin"] = origin
            response.headers["access-control-expose-headers"] = CORS_EXPOSE_HEADERS
        await response(scope, receive, send)

    async def _answer(self, scope: Scope, headers: Headers, receive: Receive) -> Response:
        method = scope["method"]
        if (method == "OPTIONS" and "origin" in headers
                and "access-control-request-method" in headers):
            return _preflight(headers["origin"])
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if not content_type.startswith(GRPC_WEB):
            # Not gRPC-web: the grpc_web filter passes it on and the gRPC server refuses it.
            return Response(b"", status_code=415,
                            headers={"content-type": "text/plain; charset=utf-8"})
        text = content_type.startswith(GRPC_WEB_TEXT)
        body = await _read_body(receive)
        if body is None:
            return self._grpc(text, b"", GrpcStatus.RESOURCE_EXHAUSTED,
                              f"Received message larger than max ({MAX_REQUEST_BYTES})")
        if text:
            try:
                body = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError):
                return Response(b"Bad gRPC-web request, invalid base64 data.", status_code=400,
                                headers={"content-type": "text/plain"})
        if method != "POST":
            return self._grpc(text, b"", GrpcStatus.UNIMPLEMENTED,
                              f"gRPC requires POST, got {method}")
        payload, code, message = self._call(scope["path"], body,
                                            headers.get(self._userid_header()))
        return self._grpc(text, payload, code, message)

    def _userid_header(self) -> str:
        return str(self.emulator.config.userid_header)

    def _call(self, path: str, body: bytes, userid: str | None) -> tuple[bytes, int, str]:
        """(response message bytes, grpc-status, grpc-message) of one unary call."""
        name = _method_of(path)
        if name is None:
            return b"", GrpcStatus.UNIMPLEMENTED, f"Method not found: {path.lstrip('/')}"
        try:
            request: Any = schema.request_class(name)()
            request.ParseFromString(unframe(body))
        except MlmdError as exc:
            return b"", exc.code, exc.message
        except DecodeError as exc:
            return b"", GrpcStatus.INVALID_ARGUMENT, f"Failed to parse request: {exc}"
        if not access.may_call(name, userid):
            return b"", GrpcStatus.PERMISSION_DENIED, f"{name} is not allowed"
        try:
            with self.emulator.kfp.state.lock:
                response = service.call(self.emulator.metadata, name, request)
        except MlmdError as exc:
            return b"", exc.code, exc.message
        except Exception as exc:
            log.error("unhandled MLMD error in %s\n%s", name, traceback.format_exc())
            return b"", GrpcStatus.INTERNAL, repr(exc)
        return response.SerializeToString(), GrpcStatus.OK, ""

    @staticmethod
    def _grpc(text: bool, payload: bytes, code: int, message: str) -> Response:
        body = (frame(payload) if code == GrpcStatus.OK else b"") + trailer(code, message)
        if text:
            body = base64.b64encode(body)
        content_type = GRPC_WEB_TEXT + "+proto" if text else GRPC_WEB_PROTO
        return Response(body, status_code=200, headers={"content-type": content_type})


def _preflight(origin: str) -> Response:
    """Envoy's cors filter answers a preflight itself (allow_origin regex ``.*``)."""
    return Response(b"", status_code=200, headers={
        "access-control-allow-origin": origin,
        "access-control-allow-methods": CORS_ALLOW_METHODS,
        "access-control-allow-headers": CORS_ALLOW_HEADERS,
        "access-control-max-age": CORS_MAX_AGE,
    })


async def _read_body(receive: Receive) -> bytes | None:
    """The request body; None when it is larger than gRPC would receive."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= MAX_REQUEST_BYTES + 5:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks) if size <= MAX_REQUEST_BYTES + 5 else None


def build_grpc_web_app(emulator: Emulator) -> ASGIApp:
    return GrpcWebApp(emulator)

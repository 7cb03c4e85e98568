"""A small binary gRPC-web client for MLMD, as the KFP UI speaks it, over ``requests``.

For the conformance suite and tests: point it at metadata-envoy (``http://host:9090``), at the
gateway (``https://kubeflow.example``, which routes ``/ml_metadata``) or at the UI server
(``.../pipeline``) with a ``requests.Session`` that carries the login cookie or a bearer
header.  Requests are built with emulator.mlmd.schema, or with any protobuf message whose
bytes are MLMD's (the real ml_metadata classes too).
"""

from __future__ import annotations

import base64
import re
import struct
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import requests

from emulator.mlmd import schema

CONTENT_TYPE = "application/grpc-web+proto"


class GrpcWebError(Exception):
    """A call that did not answer grpc-status 0.  ``http_status`` is set when the answer was
    not gRPC-web at all (a 401 from the gateway, a 404...), with ``grpc_status`` None."""

    def __init__(self, method: str, grpc_status: int | None, grpc_message: str,
                 http_status: int, body: bytes = b"") -> None:
        what = (f"grpc-status {grpc_status}" if grpc_status is not None
                else f"HTTP {http_status}")
        super().__init__(f"{method}: {what}: {grpc_message}")
        self.method = method
        self.grpc_status = grpc_status
        self.grpc_message = grpc_message
        self.http_status = http_status
        self.body = body

    @property
    def code(self) -> int | None:
        """The grpc-status (None when the answer was not gRPC-web)."""
        return self.grpc_status


def decode_frames(body: bytes) -> tuple[bytes, dict[str, str]]:
    """(the concatenated data frames, the trailer's fields); ValueError on broken framing."""
    data, trailers, offset = b"", {}, 0
    while offset + 5 <= len(body):
        kind, length = struct.unpack(">BI", body[offset:offset + 5])
        end = offset + 5 + length
        if end > len(body):
            raise ValueError(f"frame at {offset} claims {length} bytes, "
                             f"{len(body) - offset - 5} remain")
        chunk = body[offset + 5:end]
        if kind == 0x00:
            data += chunk
        elif kind == 0x80:
            for line in chunk.decode("ascii").split("\r\n"):
                key, sep, value = line.partition(":")
                if sep:
                    trailers[key.strip().lower()] = value.strip()
        else:
            raise ValueError(f"unexpected frame type 0x{kind:02x}")
        offset = end
    if offset != len(body):
        raise ValueError(f"{len(body) - offset} trailing bytes that are no frame")
    return data, trailers


def call(session: Any, url: str, request: Any, *, response_class: type[Any] | None = None,
         on_response: Callable[[requests.Response], Any] | None = None,
         headers: dict[str, str] | None = None, text: bool = False, timeout: float = 10.0,
         verify: bool | str = True) -> Any:
    """One unary call: POST ``request`` to ``url`` (``.../ml_metadata.MetadataStoreService/
    <Method>``) with ``session`` (anything with requests' ``post``).  The decoded response (an
    instance of ``response_class``, by default our schema's ``<Method>Response``);
    GrpcWebError unless HTTP 200 and grpc-status 0.  ``on_response`` sees the raw answer."""
    method = url.rstrip("/").rsplit("/", 1)[-1]
    payload = request.SerializeToString()
    body = struct.pack(">BI", 0, len(payload)) + payload
    content_type = CONTENT_TYPE
    if text:
        body, content_type = base64.b64encode(body), "application/grpc-web-text"
    sent = {"Content-Type": content_type, "Accept": content_type, "X-Grpc-Web": "1",
            **(headers or {})}
    answer = session.post(url, data=body, headers=sent, timeout=timeout,
                          allow_redirects=False, verify=verify)
    if on_response is not None:
        on_response(answer)
    return decode_response(method, answer, response_class)


def decode_response(method: str, answer: requests.Response,
                    response_class: type[Any] | None = None) -> Any:
    content_type = answer.headers.get("content-type", "")
    if answer.status_code != 200 or not content_type.startswith("application/grpc-web"):
        raise GrpcWebError(method, None, _short(answer.text), answer.status_code,
                           answer.content)
    body = answer.content
    if "grpc-web-text" in content_type:
        body = base64.b64decode(body)
    try:
        data, trailers = decode_frames(body)
    except ValueError as exc:
        raise GrpcWebError(method, None, str(exc), answer.status_code, body) from exc
    status = trailers.get("grpc-status", answer.headers.get("grpc-status"))
    message = unquote(trailers.get("grpc-message", answer.headers.get("grpc-message", "")))
    if status is None or not re.fullmatch(r"\d+", status):
        raise GrpcWebError(method, None, "no grpc-status in the answer", 200, body)
    if int(status) != 0:
        raise GrpcWebError(method, int(status), message, 200, body)
    response = (response_class or schema.response_class(method))()
    response.ParseFromString(data)
    return response


class GrpcWebClient:
    """``call(method, request) -> response`` against ``base_url`` (metadata-envoy, the gateway
    or the UI server's ``.../pipeline``).

    ``session`` carries the caller's identity (cookies, headers); ``text=True`` speaks
    ``application/grpc-web-text`` (base64) instead of binary.
    """

    def __init__(self, base_url: str, session: requests.Session | None = None,
                 headers: dict[str, str] | None = None, timeout: float = 10.0,
                 text: bool = False, verify: bool | str = True) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.text = text
        self.verify = verify

    def url(self, method: str) -> str:
        return f"{self.base_url}/{schema.SERVICE_FULL_NAME}/{method}"

    def call(self, method: str, request: Any, response_class: type[Any] | None = None) -> Any:
        return call(self.session, self.url(method), request, response_class=response_class,
                    headers=self.headers, text=self.text, timeout=self.timeout,
                    verify=self.verify)

    def post_raw(self, method: str, body: bytes,
                 content_type: str = CONTENT_TYPE) -> requests.Response:
        """``body`` posted as is (no framing): for tests of broken requests."""
        return self.session.post(self.url(method), data=body, timeout=self.timeout,
                                 headers={"Content-Type": content_type, **self.headers},
                                 allow_redirects=False, verify=self.verify)


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "..."

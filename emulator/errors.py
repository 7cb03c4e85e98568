"""Errors in the shape the real KFP API server returns them.

The server answers grpc-gateway errors as a ``google.rpc.Status``: ``message`` is the whole wrapped
internal chain, ``details[0].message`` the short user-facing text (spec section 5.1).  Each KFP
layer wraps the error with ``"<layer text>: <inner>"``; :meth:`KfpError.wrap` does the same so the
emulator's messages read like the real server's.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class GrpcCode(IntEnum):
    OK = 0
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    FAILED_PRECONDITION = 9
    ABORTED = 10
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    UNAUTHENTICATED = 16


# grpc-gateway v2 runtime.HTTPStatusFromCode, restricted to the codes KFP produces.
HTTP_STATUS = {
    GrpcCode.INVALID_ARGUMENT: 400,
    GrpcCode.NOT_FOUND: 404,
    GrpcCode.ALREADY_EXISTS: 409,
    GrpcCode.PERMISSION_DENIED: 403,
    GrpcCode.FAILED_PRECONDITION: 400,
    GrpcCode.ABORTED: 409,
    GrpcCode.UNIMPLEMENTED: 501,
    GrpcCode.INTERNAL: 500,
    GrpcCode.UNKNOWN: 500,
    GrpcCode.UNAVAILABLE: 503,
    GrpcCode.UNAUTHENTICATED: 401,
}

STATUS_TYPE_URL = "type.googleapis.com/google.rpc.Status"


class KfpError(Exception):
    """A user-facing KFP API error: gRPC code, external message and wrapped internal chain."""

    def __init__(self, code: GrpcCode, external: str, internal: str | None = None, *,
                 with_details: bool = True) -> None:
        super().__init__(internal or external)
        self.code = code
        self.external = external
        self.internal = internal if internal is not None else external
        # grpc-gateway's own errors (bad JSON, unknown path) carry no details.
        self.with_details = with_details

    def wrap(self, text: str) -> KfpError:
        """Prepend one layer of context, like ``errors.Wrap`` in the Go server."""
        self.internal = f"{text}: {self.internal}"
        return self

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 500)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": int(self.code), "message": self.internal}
        if self.with_details:
            body["details"] = [
                {"@type": STATUS_TYPE_URL, "code": int(self.code), "message": self.external}
            ]
        return body

    def __str__(self) -> str:
        return self.internal


def invalid_input(message: str, cause: str | None = None) -> KfpError:
    internal = f"Invalid input error: {message}" + (f": {cause}" if cause else "")
    return KfpError(GrpcCode.INVALID_ARGUMENT, message, internal)


def not_found(resource_type: str, resource_id: str) -> KfpError:
    message = f"{resource_type} {resource_id} not found"
    return KfpError(GrpcCode.NOT_FOUND, message, f"ResourceNotFoundError: {message}")


def already_exists(message: str) -> KfpError:
    return KfpError(GrpcCode.ALREADY_EXISTS, message, f"Already exist error: {message}")


def permission_denied(message: str) -> KfpError:
    return KfpError(
        GrpcCode.PERMISSION_DENIED, message, f"PermissionDenied: {message}: Unauthorized access"
    )


def failed_precondition(message: str) -> KfpError:
    return KfpError(GrpcCode.FAILED_PRECONDITION, message, f"FailedPreconditionError: {message}")


def bad_request(message: str) -> KfpError:
    """KFP's ``NewBadRequestError`` maps to gRPC ABORTED, i.e. HTTP 409."""
    return KfpError(GrpcCode.ABORTED, message, f"BadRequestError: {message}")


def internal_error(cause: str) -> KfpError:
    """The real server hides internal causes behind a fixed external message."""
    return KfpError(
        GrpcCode.INTERNAL,
        "Internal Server Error",
        f"InternalServerError: Internal Server Error: {cause}",
    )


def unauthenticated(message: str, cause: str | None = None) -> KfpError:
    internal = f"Unauthenticated: {message}" + (f": {cause}" if cause else "")
    return KfpError(GrpcCode.UNAUTHENTICATED, message, internal)


# What Go's ``%+v`` of a github.com/pkg/errors error adds after its message: the stack where it
# was made.  The handler's frame stands for it (the emulator has no Go stack to show).
UPLOAD_STACK = ("github.com/kubeflow/pipelines/backend/src/apiserver/server."
                "(*PipelineUploadServer).uploadPipeline\n"
                "\t/go/src/github.com/kubeflow/pipelines/backend/src/apiserver/server/"
                "pipeline_upload_server.go")


class UploadError(Exception):
    """Errors of the multipart upload handlers: ``{error_message, error_details}``.

    Since KFP 2.15 (kubeflow/pipelines#12295) the handlers answer ``errors.New(<message>)``
    and only log the cause: ``error_details`` is the message and a stack trace, never the
    authorization error or the store's.  ``cause`` is kept for the emulator's own diagnostics.
    ``plain_text`` reproduces the handlers that answer with ``http.Error`` (text/plain body).
    """

    def __init__(self, status: int, message: str, cause: str | None = None, *,
                 plain_text: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.cause = cause or ""
        self.plain_text = plain_text

    def body(self) -> dict[str, str]:
        return {"error_message": self.message,
                "error_details": f"{self.message}\n{UPLOAD_STACK}"}

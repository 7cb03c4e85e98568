"""gRPC status codes and the one error the metadata store raises.

The store speaks in MLMD's own terms (a status code and MLMD's message); the gRPC-web layer
turns an :class:`MlmdError` into the trailer a real metadata-envoy would send.
"""

from __future__ import annotations

from enum import IntEnum


class GrpcStatus(IntEnum):
    OK = 0
    INVALID_ARGUMENT = 3
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    INTERNAL = 13
    UNIMPLEMENTED = 12
    UNAUTHENTICATED = 16


class MlmdError(Exception):
    """A refused metadata call: ``code`` and ``message`` go to ``grpc-status``/``grpc-message``."""

    def __init__(self, code: GrpcStatus, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> MlmdError:
    return MlmdError(GrpcStatus.INVALID_ARGUMENT, message)


def not_found(message: str) -> MlmdError:
    return MlmdError(GrpcStatus.NOT_FOUND, message)


def already_exists(message: str) -> MlmdError:
    return MlmdError(GrpcStatus.ALREADY_EXISTS, message)

"""Precise expectations on the target's answers: the exact documented errors, nothing looser."""

from __future__ import annotations

from typing import Any

import requests

# spec section 2.3: the external message of the 401 when no authenticator found an identity.
EMPTY_IDENTITY = "Failed to check authorization. User identity is empty in the request header"
PERMISSION_DENIED = 7
UNAUTHENTICATED = 16


def body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise AssertionError(f"expected a JSON answer, got {response.status_code}: "
                             f"{response.text[:300]!r}") from None


def detail(response: requests.Response) -> str:
    data = body(response)
    details = data.get("details") if isinstance(data, dict) else None
    first = details[0] if isinstance(details, list) and details else {}
    return str(first.get("message", "")) if isinstance(first, dict) else ""


def succeeded(response: requests.Response) -> Any:
    assert response.status_code == 200, \
        f"expected success, got {response.status_code}: {response.text[:300]}"
    return body(response)


def denied(response: requests.Response, identity: str) -> None:
    """Exactly the API server's PermissionDenied: 403, gRPC code 7, naming who was refused."""
    data = body(response)
    assert response.status_code == 403, \
        f"expected 403 PermissionDenied, got {response.status_code}: {data}"
    assert isinstance(data, dict) and data.get("code") == PERMISSION_DENIED, \
        f"expected gRPC code {PERMISSION_DENIED}, got {data}"
    message = detail(response)
    assert f"User '{identity}' is not authorized" in message, \
        f"expected a PermissionDenied detail naming {identity!r}, got {message!r}"


def unauthenticated(response: requests.Response, *, gateway: bool) -> None:
    """No identity: the login proxy's ``401 {}`` at the gateway, the API server's exact 401
    (gRPC code 16) at the direct endpoint."""
    if gateway:
        assert (response.status_code, response.text.strip()) == (401, "{}"), \
            f"expected the gateway's 401 {{}}, got {response.status_code}: {response.text[:300]}"
        return
    data = body(response)
    assert response.status_code == 401, f"expected 401, got {response.status_code}: {data}"
    assert isinstance(data, dict) and data.get("code") == UNAUTHENTICATED, \
        f"expected gRPC code {UNAUTHENTICATED}, got {data}"
    assert detail(response) == EMPTY_IDENTITY, f"expected {EMPTY_IDENTITY!r}, got {data}"


def failed_with(response: requests.Response, status: int, message: str) -> None:
    data = body(response)
    assert (response.status_code, detail(response)) == (status, message), \
        f"expected {status} {message!r}, got {response.status_code}: {data}"


UPLOAD_FAILURE = {"pipeline": "Failed to create a pipeline",
                  "version": "Failed to create a pipeline version"}


def upload_refused(response: requests.Response, what: str) -> None:
    """The multipart upload handlers answer a refusal (no identity, or no right) with 400 and
    their own error body (spec section 5.5); since KFP 2.15 the body no longer says why, so
    the refusal is told apart from success by this exact answer, and from a harmless failure
    by the no-side-effect check that follows it."""
    data = body(response)
    assert response.status_code == 400, \
        f"expected the upload handler's 400, got {response.status_code}: {data}"
    assert isinstance(data, dict) and data.get("error_message") == UPLOAD_FAILURE[what], \
        f"expected error_message {UPLOAD_FAILURE[what]!r}, got {data}"

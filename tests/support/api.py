"""Shared vocabulary of the HTTP API tests: paths, a minimal pipeline, and ``ok``."""

from __future__ import annotations

import base64
import json
from typing import Any

import requests

V1 = "/apis/v1beta1"
V2 = "/apis/v2beta1"

# A minimal, valid KFP v2 IR document, inline, as text, and as a package_url.
SPEC: dict[str, Any] = {
    "pipelineInfo": {"name": "hello-world"},
    "root": {"dag": {"tasks": {}}},
    "schemaVersion": "2.1.0",
    "sdkVersion": "kfp-2.7.0",
    "components": {},
}
SPEC_TEXT = json.dumps(SPEC)
PACKAGE_URL = "data:application/json;base64," + base64.b64encode(SPEC_TEXT.encode()).decode()


def ok(response: requests.Response) -> dict[str, Any]:
    """The JSON object of a 200 response; anything else fails with the request and body."""
    assert response.status_code == 200, (
        f"{response.request.method} {response.url} -> {response.status_code}: {response.text}")
    body = response.json()
    assert isinstance(body, dict)
    return body

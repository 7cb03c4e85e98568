"""Helpers for driving the emulator through the legacy kfp 1.8 SDK and its v1 generated client.

Only the real, unchanged ``kfp==1.8.24`` / ``kfp-server-api==1.8.5`` packages are used; these
helpers merely build the objects the KFP multi-user documentation shows and check the errors the
generated client raises.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import kfp
import kfp_server_api
import pytest
from kfp_server_api import (
    ApiExperiment,
    ApiPipelineSpec,
    ApiRelationship,
    ApiResourceKey,
    ApiResourceReference,
    ApiResourceType,
    ApiRun,
)
from kfp_server_api.exceptions import ApiException

from emulator.kube.cluster import EDITOR_SA
from emulator.kube.rbac import service_account_username

ClientFactory = Callable[[str], kfp.Client]

ARGO_PIPELINE_NAME = "hello-argo"

# A minimal KFP v2 pipeline (IR YAML) of the kind the 2.x compiler writes.
IR_PIPELINE_NAME = "hello-ir"
IR_PIPELINE_YAML = """\
# PIPELINE DEFINITION
# Name: hello-ir
components:
  comp-echo:
    executorLabel: exec-echo
    inputDefinitions:
      parameters:
        msg:
          parameterType: STRING
deploymentSpec:
  executors:
    exec-echo:
      container:
        image: alpine:3
        command: [echo]
        args: ["{{$.inputs.parameters['msg']}}"]
pipelineInfo:
  name: hello-ir
root:
  dag:
    tasks:
      echo:
        componentRef:
          name: comp-echo
        inputs:
          parameters:
            msg:
              componentInputParameter: greeting
        taskInfo:
          name: echo
  inputDefinitions:
    parameters:
      greeting:
        defaultValue: hello
        isOptional: true
        parameterType: STRING
schemaVersion: 2.1.0
sdkVersion: kfp-2.17.3
"""


def sa_user(namespace: str, name: str = EDITOR_SA) -> str:
    """The identity TokenReview yields for a projected ServiceAccount token."""
    return service_account_username(namespace, name)


def error_body(error: ApiException) -> dict[str, Any]:
    body = error.body.decode() if isinstance(error.body, bytes) else error.body
    try:
        parsed = json.loads(body or "")
    except ValueError:
        raise AssertionError(f"expected a JSON error body, got {error.status}: "
                             f"{body!r}") from None
    assert isinstance(parsed, dict), parsed
    return parsed


def detail_of(body: dict[str, Any]) -> str:
    return str((body.get("details") or [{}])[0].get("message", ""))


def assert_api_denied(error: ApiException, user: str, namespace: str) -> dict[str, Any]:
    """Exactly the real server's 403 PermissionDenied, naming the caller and the namespace."""
    body = error_body(error)
    assert error.status == 403, f"expected 403, got {error.status}: {body}"
    assert body.get("code") == 7, f"expected gRPC code 7, got {body}"
    detail = detail_of(body)
    assert detail.startswith(f"User '{user}' is not authorized with reason:"), body
    assert f"Namespace:{namespace}," in detail, body
    return body


def assert_api_error(error: ApiException, status: int, code: int,
                     detail: str | None = None) -> dict[str, Any]:
    body = error_body(error)
    assert (error.status, body.get("code")) == (status, code), \
        f"expected HTTP {status} / gRPC {code}, got {error.status}: {body}"
    if detail is not None:
        assert detail_of(body) == detail, body
    return body


def denied(call: Callable[[], Any], user: str, namespace: str) -> dict[str, Any]:
    """Run ``call`` and require the 403 PermissionDenied of ``user`` in ``namespace``."""
    with pytest.raises(ApiException) as caught:
        call()
    return assert_api_denied(caught.value, user, namespace)


def failed(call: Callable[[], Any], status: int, code: int,
           detail: str | None = None) -> dict[str, Any]:
    with pytest.raises(ApiException) as caught:
        call()
    return assert_api_error(caught.value, status, code, detail)


# -- the generated v1 models, exactly as the multi-user documentation builds them --------------

def namespace_owner(namespace: str) -> ApiResourceReference:
    return ApiResourceReference(key=ApiResourceKey(id=namespace, type=ApiResourceType.NAMESPACE),
                                relationship=ApiRelationship.OWNER)


def experiment_owner(experiment_id: str) -> ApiResourceReference:
    return ApiResourceReference(
        key=ApiResourceKey(id=experiment_id, type=ApiResourceType.EXPERIMENT),
        relationship=ApiRelationship.OWNER)


def experiment_body(name: str, namespace: str) -> ApiExperiment:
    return ApiExperiment(name=name, resource_references=[namespace_owner(namespace)])


def run_body(name: str, pipeline_id: str, experiment_id: str,
             *extra: ApiResourceReference) -> ApiRun:
    return ApiRun(name=name, pipeline_spec=ApiPipelineSpec(pipeline_id=pipeline_id),
                  resource_references=[experiment_owner(experiment_id), *extra])


def references(obj: Any) -> dict[str, list[str]]:
    """``resource_references`` of a deserialized v1 model as {type: [ids]}."""
    out: dict[str, list[str]] = {}
    for ref in obj.resource_references or []:
        out.setdefault(ref.key.type, []).append(ref.key.id)
    return out


def reference_of(obj: Any, kind: str) -> kfp_server_api.ApiResourceReference:
    matches = [r for r in obj.resource_references or [] if r.key.type == kind]
    assert len(matches) == 1, f"expected one {kind} reference in {obj.resource_references}"
    return matches[0]

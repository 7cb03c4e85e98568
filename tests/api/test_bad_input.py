"""Bad input through plain HTTP: each rejection is exact, and leaves the server state untouched.

Malformed JSON, unknown fields, wrong types (grpc-gateway's protojson 400s), over-long and empty
names (the converters' 500s, the upload handlers' text/plain 400s), bad credentials (401), bad
list options, and unknown IDs (404 with the stores' messages). Every case compares the exported
state (``GET /_emulator/state``) before and after.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import yaml

from emulator.testing import (
    OWNER_NAMESPACE,
    KfpTestEnv,
    assert_denied,
    assert_error,
    assert_unauthenticated,
)
from tests.support.swagger import assert_status_body

NS = OWNER_NAMESPACE
V1 = "/apis/v1beta1"
V2 = "/apis/v2beta1"
UNKNOWN = "11111111-2222-4333-8444-555555555555"
SPEC = {"pipelineInfo": {"name": "bad-input"}, "root": {"dag": {"tasks": {}}},
        "schemaVersion": "2.1.0", "sdkVersion": "kfp-2.17.3"}
INTERNAL = "Internal Server Error"


def kfp_state(env: KfpTestEnv) -> dict[str, Any]:
    response = requests.get(f"{env.url}/_emulator/state", timeout=10)
    assert response.status_code == 200
    return dict(response.json()["kfp"])


class Unchanged:
    """``with Unchanged(env): ...`` asserts the KFP state is identical afterwards."""

    def __init__(self, env: KfpTestEnv) -> None:
        self.env = env
        self.before: dict[str, Any] = {}

    def __enter__(self) -> Unchanged:
        self.before = kfp_state(self.env)
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            assert kfp_state(self.env) == self.before, "a rejected request changed the state"


def normalized(text: str) -> str:
    """protojson randomly uses U+00A0 instead of a space; compare whitespace-insensitively."""
    return " ".join(text.split())


def assert_gateway_400(response: requests.Response) -> str:
    """grpc-gateway's own decoding error: 400, code 3, no details; returns the message."""
    body = response.json()
    assert response.status_code == 400, body
    assert_status_body(body)
    assert set(body) == {"code", "message"} and body["code"] == 3, body
    message = normalized(body["message"])
    assert message.startswith("proto:"), message
    return message


def column_of(raw: str, token: str) -> int:
    return raw.index(token) + 1


@pytest.fixture
def owner(kfp_env: KfpTestEnv) -> Iterator[requests.Session]:
    with kfp_env.as_owner() as session:
        yield session


@pytest.fixture
def experiment(owner: requests.Session) -> dict[str, Any]:
    response = owner.post(f"{V2}/experiments", json={"display_name": "base", "namespace": NS})
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture
def pipeline(owner: requests.Session) -> dict[str, Any]:
    response = owner.post(f"{V2}/pipelines/upload", params={"name": "base-pipe", "namespace": NS},
                          files={"uploadfile": ("p.yaml", yaml.safe_dump(SPEC))})
    assert response.status_code == 200, response.text
    return dict(response.json())


CREATE_PATHS = [f"{V2}/experiments", f"{V2}/runs", f"{V2}/recurringruns", f"{V2}/pipelines",
                f"{V2}/pipelines/create", f"{V1}/experiments", f"{V1}/runs", f"{V1}/jobs",
                f"{V1}/pipelines", f"{V1}/pipeline_versions"]


# -- undecodable bodies ------------------------------------------------------------------------


@pytest.mark.parametrize("path", CREATE_PATHS)
@pytest.mark.parametrize("raw", ["{not json", '{"name": "x",}', "[]", '"just a string"', "42",
                                 "null x", "{\"name\": \"x\"} {}"])
def test_malformed_json_is_a_gateway_400(kfp_env: KfpTestEnv, owner: requests.Session,
                                         experiment: dict[str, Any], path: str,
                                         raw: str) -> None:
    with Unchanged(kfp_env):
        response = owner.post(path, data=raw.encode(),
                              headers={"Content-Type": "application/json"})
        assert_gateway_400(response)


@pytest.mark.parametrize(("path", "body", "field"), [
    (f"{V2}/experiments", {"display_name": "e", "namespace": NS, "colour": "red"}, "colour"),
    # v1 field names are unknown to v2 messages and vice versa.
    (f"{V2}/experiments", {"name": "e", "namespace": NS}, "name"),
    (f"{V1}/experiments", {"display_name": "e"}, "display_name"),
    (f"{V2}/runs", {"display_name": "r", "runtime_config": {"params": {}}}, "params"),
    (f"{V2}/runs", {"display_name": "r", "namespace": NS}, "namespace"),
    (f"{V2}/recurringruns", {"display_name": "j", "trigger": {"cron": "* * * * * *"}}, "cron"),
    (f"{V2}/pipelines", {"name": "p", "pipeline_versions": []}, "pipeline_versions"),
    (f"{V2}/pipelines/create", {"pipeline": {"name": "p"}, "version": {}}, "version"),
    (f"{V1}/runs", {"name": "r", "resource_references": [{"key": {"kind": "EXPERIMENT"}}]},
     "kind"),
    (f"{V1}/jobs", {"name": "j", "experiment_id": "x"}, "experiment_id"),
])
def test_unknown_fields_are_rejected(kfp_env: KfpTestEnv, owner: requests.Session,
                                     path: str, body: dict[str, Any], field: str) -> None:
    raw = json.dumps(body, separators=(",", ":"))
    with Unchanged(kfp_env):
        response = owner.post(path, data=raw, headers={"Content-Type": "application/json"})
        message = assert_gateway_400(response)
    assert message == (f'proto: (line 1:{column_of(raw, json.dumps(field) + ":")}): '
                       f'unknown field "{field}"')


def test_json_names_are_accepted_as_well_as_proto_names(kfp_env: KfpTestEnv,
                                                        owner: requests.Session) -> None:
    """Positive control for the unknown-field cases: lowerCamel JSON names are known fields."""
    response = owner.post(f"{V2}/experiments", json={"displayName": "camel", "namespace": NS})
    assert response.status_code == 200, response.text
    assert response.json()["display_name"] == "camel"
    response = owner.post(f"{V1}/experiments", json={
        "name": "camel-v1", "resourceReferences": [{"key": {"type": "NAMESPACE", "id": NS},
                                                    "relationship": "OWNER"}]})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(("path", "body", "field"), [
    (f"{V2}/experiments", {"display_name": 5, "namespace": NS}, "display_name"),
    (f"{V2}/experiments", {"display_name": "e", "namespace": True}, "namespace"),
    (f"{V2}/experiments", {"display_name": "e", "storage_state": "GONE"}, "storage_state"),
    (f"{V2}/experiments", {"display_name": "e", "created_at": "yesterday"}, "created_at"),
    (f"{V2}/experiments", {"display_name": ["e"]}, "display_name"),
    (f"{V2}/runs", {"display_name": "r", "pipeline_spec": "not a struct"}, "pipeline_spec"),
    (f"{V2}/recurringruns", {"display_name": "j", "max_concurrency": "many"},
     "max_concurrency"),
    (f"{V2}/recurringruns", {"display_name": "j", "no_catchup": "yes"}, "no_catchup"),
    (f"{V2}/recurringruns", {"display_name": "j", "trigger": "hourly"}, None),
    (f"{V2}/pipelines", {"name": "p", "tags": {"k": 1}}, "tags"),
    (f"{V1}/experiments", {"name": "e", "resource_references": {"key": {}}},
     "resource_references"),
    (f"{V1}/jobs", {"name": "j", "enabled": "true"}, "enabled"),
    (f"{V1}/runs", {"name": "r", "pipeline_spec": {"parameters": [{"name": 1}]}}, "name"),
])
def test_wrong_types_are_rejected(kfp_env: KfpTestEnv, owner: requests.Session, path: str,
                                  body: dict[str, Any], field: str | None) -> None:
    with Unchanged(kfp_env):
        response = owner.post(path, json=body)
        message = assert_gateway_400(response)
    if field is not None:  # a scalar field names itself; a message field only the token
        assert "invalid value for" in message and field in message, message


def test_two_oneof_members_are_rejected(kfp_env: KfpTestEnv, owner: requests.Session,
                                        experiment: dict[str, Any]) -> None:
    with Unchanged(kfp_env):
        response = owner.post(f"{V2}/runs", json={
            "display_name": "r", "experiment_id": experiment["experiment_id"],
            "pipeline_spec": SPEC, "pipeline_version_id": UNKNOWN})
        assert "oneof" in assert_gateway_400(response)


# -- lengths and empty names -------------------------------------------------------------------


def test_experiment_name_and_namespace_lengths(kfp_env: KfpTestEnv,
                                               owner: requests.Session) -> None:
    # Boundaries pass: a 128-character name is created...
    response = owner.post(f"{V2}/experiments", json={"display_name": "n" * 128,
                                                     "namespace": NS})
    assert response.status_code == 200, response.text
    # ...and a 63-character namespace passes the length check (then RBAC denies it).
    assert_denied(owner.post(f"{V2}/experiments", json={"display_name": "e",
                                                        "namespace": "a" * 63}))
    for path, body in (
            (f"{V2}/experiments", {"display_name": "n" * 129, "namespace": NS}),
            (f"{V2}/experiments", {"display_name": "e", "namespace": "a" * 64}),
            (f"{V1}/experiments", {"name": "n" * 129, "resource_references": [
                {"key": {"type": "NAMESPACE", "id": NS}, "relationship": "OWNER"}]}),
            (f"{V1}/experiments", {"name": "e", "resource_references": [
                {"key": {"type": "NAMESPACE", "id": "a" * 64}, "relationship": "OWNER"}]})):
        with Unchanged(kfp_env):
            body_out = assert_error(owner.post(path, json=body), 500, 13, INTERNAL)
        assert "length cannot exceed" in body_out["message"], body_out


def _upload(session: requests.Session, path: str, **params: str) -> requests.Response:
    return session.post(path, params=params,
                        files={"uploadfile": ("pipe.yaml", yaml.safe_dump(SPEC))})


@pytest.mark.parametrize("api", [V1, V2])
def test_upload_length_errors_are_plain_text(kfp_env: KfpTestEnv, owner: requests.Session,
                                             pipeline: dict[str, Any], api: str) -> None:
    cases = [
        (f"{api}/pipelines/upload", {"name": "ok", "namespace": "a" * 64},
         "Invalid input error: Pipeline.Namespace length cannot exceed 63\n"),
        (f"{api}/pipelines/upload", {"name": "n" * 129, "namespace": NS},
         "Invalid input error: Pipeline.Name length cannot exceed 128\n"),
        (f"{api}/pipelines/upload_version", {"name": "v" * 128,
                                             "pipelineid": pipeline["pipeline_id"]},
         "Invalid input error: PipelineVersion.Name length cannot exceed 127\n"),
        # The version name is checked before the parent pipeline is looked up.
        (f"{api}/pipelines/upload_version", {"name": "v" * 128, "pipelineid": UNKNOWN},
         "Invalid input error: PipelineVersion.Name length cannot exceed 127\n"),
    ]
    for path, params, text in cases:
        with Unchanged(kfp_env):
            response = _upload(owner, path, **params)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith("text/plain"), response.headers
        assert response.text == text
    # Boundaries pass (127: the version an upload creates shares the pipeline's name).
    assert _upload(owner, f"{api}/pipelines/upload", name="n" * 127,
                   namespace=NS).status_code == 200
    assert _upload(owner, f"{api}/pipelines/upload_version", name="v" * 127,
                   pipelineid=pipeline["pipeline_id"]).status_code == 200


def test_empty_names_are_internal_errors(kfp_env: KfpTestEnv, owner: requests.Session,
                                         experiment: dict[str, Any]) -> None:
    eid = experiment["experiment_id"]
    experiment_ref = {"key": {"type": "EXPERIMENT", "id": eid}, "relationship": "OWNER"}
    trigger = {"periodic_schedule": {"interval_second": "60"}}
    cases = [
        (f"{V2}/experiments", {"display_name": "", "namespace": NS}),
        (f"{V2}/experiments", {"namespace": NS}),
        (f"{V1}/experiments", {"name": "", "resource_references": [
            {"key": {"type": "NAMESPACE", "id": NS}, "relationship": "OWNER"}]}),
        (f"{V2}/runs", {"display_name": "", "experiment_id": eid, "pipeline_spec": SPEC}),
        (f"{V2}/runs", {"experiment_id": eid, "pipeline_spec": SPEC}),
        (f"{V1}/runs", {"name": "", "resource_references": [experiment_ref],
                        "pipeline_spec": {"pipeline_manifest": json.dumps(SPEC)}}),
        (f"{V2}/recurringruns", {"display_name": "", "experiment_id": eid,
                                 "pipeline_spec": SPEC, "trigger": trigger}),
        (f"{V1}/jobs", {"name": "", "resource_references": [experiment_ref], "trigger": trigger,
                        "pipeline_spec": {"pipeline_manifest": json.dumps(SPEC)}}),
    ]
    for path, body in cases:
        with Unchanged(kfp_env):
            assert_error(owner.post(path, json=body), 500, 13, INTERNAL)
    # v1: an empty run name falls back to pipeline_spec.pipeline_name.
    response = owner.post(f"{V1}/runs", json={
        "resource_references": [experiment_ref],
        "pipeline_spec": {"pipeline_name": "named-by-spec",
                          "pipeline_manifest": json.dumps(SPEC)}})
    assert response.status_code == 200, response.text
    assert response.json()["run"]["name"] == "named-by-spec"


# -- credentials -------------------------------------------------------------------------------


def test_bad_bearer_tokens_are_unauthenticated(kfp_env: KfpTestEnv,
                                               experiment: dict[str, Any]) -> None:
    path = f"{V2}/experiments/{experiment['experiment_id']}"
    good = kfp_env.emulator.user_token("alice@example.com")
    with kfp_env.as_anonymous() as anonymous:
        assert anonymous.get(path, headers={"Authorization": f"Bearer {good}"}).status_code \
            == 200
        expiring = kfp_env.emulator.user_token("alice@example.com", ttl_seconds=5)
        foreign = kfp_env.emulator.user_token("alice@example.com", audiences=["elsewhere"])
        kfp_env.advance(66)  # past the expiry and the validator's 60 s leeway
        for header in ("Bearer garbage", "Bearer ", "bearer " + good, "Basic " + good, good,
                       "Bearer " + good[:-4] + "AAAA", "Bearer " + expiring,
                       "Bearer " + foreign):
            with Unchanged(kfp_env):
                assert_unauthenticated(anonymous.get(path, headers={"Authorization": header}))
        # The identity header wins over any token, valid or not.
        assert anonymous.get(path, headers={"Authorization": "Bearer garbage",
                                            "kubeflow-userid": "alice@example.com"}
                             ).status_code == 200
        with Unchanged(kfp_env):
            assert_unauthenticated(anonymous.post(f"{V2}/experiments", json={
                "display_name": "nobody", "namespace": NS},
                headers={"Authorization": "Bearer garbage"}))
            assert_unauthenticated(anonymous.delete(path, headers={"kubeflow-userid": ""}))


# -- bad list options --------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "params"), [
    (f"{V2}/experiments", {"namespace": NS}),
    (f"{V2}/runs", {"namespace": NS}),
    (f"{V2}/recurringruns", {"namespace": NS}),
    (f"{V2}/pipelines", {"namespace": NS}),
    (f"{V1}/runs", {"resource_reference_key.type": "NAMESPACE", "resource_reference_key.id": NS}),
    (f"{V1}/jobs", {"resource_reference_key.type": "NAMESPACE", "resource_reference_key.id": NS}),
])
def test_bad_list_options(kfp_env: KfpTestEnv, owner: requests.Session, path: str,
                          params: dict[str, str]) -> None:
    op = "op" if path.startswith(V1) else "operation"
    unknown_key = json.dumps({"predicates": [{"key": "shoe_size", op: "EQUALS",
                                              "string_value": "9"}]})
    token = base64.b64encode(b'{"SortByFieldName": 1}').decode()
    with Unchanged(kfp_env):
        assert_error(owner.get(path, params={**params, "filter": unknown_key}), 400, 3,
                     'no support for filtering on unrecognized field "shoe_size"')
        assert_error(owner.get(path, params={**params, "page_token": token}), 400, 3,
                     "Invalid page token")
        assert_error(owner.get(path, params={**params, "sort_by": "created_at up"}), 400, 3,
                     'Received invalid sort by format "created_at up". Supported format: '
                     '"field_name", "field_name desc", or "field_name asc"')
        assert_error(owner.get(path, params={**params, "page_size": "-1"}), 400, 3,
                     "The page size should be greater than 0. Got -1")


# -- unknown IDs -------------------------------------------------------------------------------


def _unknown_id_cases() -> list[tuple[str, str, str]]:
    return [
        ("GET", f"{V2}/experiments/{UNKNOWN}", f"Experiment {UNKNOWN} not found"),
        ("DELETE", f"{V2}/experiments/{UNKNOWN}", f"Experiment {UNKNOWN} not found"),
        ("POST", f"{V2}/experiments/{UNKNOWN}:archive", f"Experiment {UNKNOWN} not found"),
        ("POST", f"{V2}/experiments/{UNKNOWN}:unarchive", f"Experiment {UNKNOWN} not found"),
        ("GET", f"{V2}/runs/{UNKNOWN}", f"Run {UNKNOWN} not found"),
        ("DELETE", f"{V2}/runs/{UNKNOWN}", f"Run {UNKNOWN} not found"),
        ("POST", f"{V2}/runs/{UNKNOWN}:archive", f"Run {UNKNOWN} not found"),
        ("POST", f"{V2}/runs/{UNKNOWN}:unarchive", f"Run {UNKNOWN} not found"),
        ("POST", f"{V2}/runs/{UNKNOWN}:terminate", f"Run {UNKNOWN} not found"),
        ("POST", f"{V2}/runs/{UNKNOWN}:retry", f"Run {UNKNOWN} not found"),
        ("GET", f"{V2}/recurringruns/{UNKNOWN}", f"Job {UNKNOWN} not found"),
        ("DELETE", f"{V2}/recurringruns/{UNKNOWN}", f"Job {UNKNOWN} not found"),
        ("POST", f"{V2}/recurringruns/{UNKNOWN}:enable", f"Job {UNKNOWN} not found"),
        ("POST", f"{V2}/recurringruns/{UNKNOWN}:disable", f"Job {UNKNOWN} not found"),
        ("GET", f"{V2}/pipelines/{UNKNOWN}", f"Pipeline {UNKNOWN} not found"),
        ("DELETE", f"{V2}/pipelines/{UNKNOWN}", f"Pipeline {UNKNOWN} not found"),
        ("GET", f"{V2}/pipelines/{UNKNOWN}/versions", f"Pipeline {UNKNOWN} not found"),
        ("GET", f"{V2}/pipelines/{UNKNOWN}/versions/{UNKNOWN}",
         f"PipelineVersion {UNKNOWN} not found"),
        ("DELETE", f"{V2}/pipelines/{UNKNOWN}/versions/{UNKNOWN}",
         f"PipelineVersion {UNKNOWN} not found"),
        ("GET", f"{V1}/experiments/{UNKNOWN}", f"Experiment {UNKNOWN} not found"),
        ("DELETE", f"{V1}/experiments/{UNKNOWN}", f"Experiment {UNKNOWN} not found"),
        ("GET", f"{V1}/runs/{UNKNOWN}", f"Run {UNKNOWN} not found"),
        ("POST", f"{V1}/runs/{UNKNOWN}/terminate", f"Run {UNKNOWN} not found"),
        ("POST", f"{V1}/runs/{UNKNOWN}/retry", f"Run {UNKNOWN} not found"),
        ("POST", f"{V1}/runs/{UNKNOWN}:archive", f"Run {UNKNOWN} not found"),
        ("GET", f"{V1}/jobs/{UNKNOWN}", f"Job {UNKNOWN} not found"),
        ("POST", f"{V1}/jobs/{UNKNOWN}/enable", f"Job {UNKNOWN} not found"),
        ("POST", f"{V1}/jobs/{UNKNOWN}/disable", f"Job {UNKNOWN} not found"),
        ("DELETE", f"{V1}/jobs/{UNKNOWN}", f"Job {UNKNOWN} not found"),
        ("GET", f"{V1}/pipelines/{UNKNOWN}", f"Pipeline {UNKNOWN} not found"),
        ("GET", f"{V1}/pipelines/{UNKNOWN}/templates", f"Pipeline {UNKNOWN} not found"),
        ("DELETE", f"{V1}/pipelines/{UNKNOWN}", f"Pipeline {UNKNOWN} not found"),
        ("GET", f"{V1}/pipeline_versions/{UNKNOWN}", f"PipelineVersion {UNKNOWN} not found"),
        ("GET", f"{V1}/pipeline_versions/{UNKNOWN}/templates",
         f"PipelineVersion {UNKNOWN} not found"),
        ("DELETE", f"{V1}/pipeline_versions/{UNKNOWN}", f"PipelineVersion {UNKNOWN} not found"),
        ("POST", f"{V1}/runs/{UNKNOWN}:reportMetrics", f"Run %s not found {UNKNOWN} not found"),
    ]


@pytest.mark.parametrize(("method", "path", "message"), _unknown_id_cases(),
                         ids=[f"{m} {p}" for m, p, _ in _unknown_id_cases()])
def test_unknown_ids_are_404_before_authentication(kfp_env: KfpTestEnv,
                                                   owner: requests.Session, method: str,
                                                   path: str, message: str) -> None:
    body = {"metrics": []} if path.endswith(":reportMetrics") else None
    with Unchanged(kfp_env), kfp_env.as_anonymous() as anonymous:
        for session in (owner, anonymous):
            assert_error(session.request(method, path, json=body), 404, 5, message)


def test_references_to_unknown_parents(kfp_env: KfpTestEnv, owner: requests.Session,
                                       experiment: dict[str, Any],
                                       pipeline: dict[str, Any]) -> None:
    pid = pipeline["pipeline_id"]
    with Unchanged(kfp_env):
        assert_error(owner.post(f"{V2}/runs", json={
            "display_name": "r", "experiment_id": UNKNOWN, "pipeline_spec": SPEC}),
            404, 5, f"Experiment {UNKNOWN} not found")
        assert_error(owner.post(f"{V2}/recurringruns", json={
            "display_name": "j", "experiment_id": UNKNOWN, "pipeline_spec": SPEC,
            "trigger": {"periodic_schedule": {"interval_second": "60"}}}),
            404, 5, f"Experiment {UNKNOWN} not found")
        assert_error(owner.post(f"{V2}/pipelines/{UNKNOWN}/versions", json={
            "pipeline_id": UNKNOWN, "name": "v", "package_url": {
                "pipeline_url": "data:application/yaml;base64,"
                                + base64.b64encode(yaml.safe_dump(SPEC).encode()).decode()}}),
            404, 5, f"Pipeline {UNKNOWN} not found")
        assert_error(owner.post(f"{V1}/pipelines/{pid}/default_version/{UNKNOWN}"),
                     404, 5, f"PipelineVersion {UNKNOWN} not found")
        assert_error(owner.get(f"{V2}/runs", params={"experiment_id": UNKNOWN}),
                     404, 5, f"Experiment {UNKNOWN} not found")
        response = _upload(owner, f"{V2}/pipelines/upload_version", pipelineid=UNKNOWN,
                           name="v")
        assert response.status_code == 400
        assert response.json()["error_message"] == "Failed to create a pipeline version"


def test_failed_create_with_version_leaves_no_pipeline(kfp_env: KfpTestEnv,
                                                       owner: requests.Session) -> None:
    broken = "data:application/yaml;base64," + base64.b64encode(b"kind: Nothing\n").decode()
    with Unchanged(kfp_env):
        response = owner.post(f"{V2}/pipelines/create", json={
            "pipeline": {"name": "half", "namespace": NS},
            "pipeline_version": {"name": "half-v1", "package_url": {"pipeline_url": broken}}})
        assert_error(response, 400, 3)
        response = owner.post(f"{V2}/pipelines/upload", params={"name": "half", "namespace": NS},
                              files={"uploadfile": ("half.yaml", b"kind: Nothing\n")})
        assert response.status_code == 400, response.text
    listed = owner.get(f"{V2}/pipelines", params={"namespace": NS})
    assert (listed.status_code, listed.json()) == (200, {})

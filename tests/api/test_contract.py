"""Every response of every operation of both official swagger files, checked against its schema.

A realistic scenario drives each served route of ``v1beta1`` and ``v2beta1`` as the namespace
owner; each answer (success and error) is validated strictly against the swagger definition the
operation documents: success bodies against their ``200`` schema, errors against
``googleRpcStatus``. Each scenario ends by asserting it exercised every operation of its file, so
a route the emulator stops serving (or a new route in the swagger) fails here.

Documented deviations of the real server (spec sections 3.6, 5.5, 12; specs/README.md):
``/apis/v2beta1/auth``, ``/apis/v2beta1/visualizations/{namespace}`` and ``/apis/v2beta1/filters``
are not registered (404 ``{"code":5,"message":"Not Found"}``); healthz is a plain handler that
adds ``commit_sha``/``tag_name``; the multipart upload handlers answer errors as
``{error_message, error_details}``.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import yaml

from emulator.testing import OWNER_NAMESPACE, KfpTestEnv
from tests.support.swagger import assert_response, find_operation, load_spec

NS = OWNER_NAMESPACE
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
NOT_REGISTERED_V2 = frozenset({("GET", "/apis/v2beta1/auth"),
                               ("POST", "/apis/v2beta1/visualizations/{namespace}"),
                               ("GET", "/apis/v2beta1/filters")})
NOT_FOUND_BODY = {"code": 5, "message": "Not Found"}


def ir_spec(name: str = "hello-pipeline") -> dict[str, Any]:
    """A minimal KFP v2 pipeline spec (IR) with one string parameter."""
    return {
        "pipelineInfo": {"name": name},
        "root": {"dag": {"tasks": {}},
                 "inputDefinitions": {"parameters": {"msg": {"parameterType": "STRING"}}}},
        "schemaVersion": "2.1.0",
        "sdkVersion": "kfp-2.17.3",
    }


def ir_yaml(name: str = "hello-pipeline") -> str:
    return yaml.safe_dump(ir_spec(name))


def data_url(text: str) -> str:
    return "data:application/yaml;base64," + base64.b64encode(text.encode()).decode()


def all_operations(version: str) -> set[tuple[str, str]]:
    return {(method.upper(), template)
            for template, ops in load_spec(version)["paths"].items() for method in ops}


class Contract:
    """Calls the emulator and checks every answer against the operation's swagger schema."""

    def __init__(self, version: str, session: requests.Session) -> None:
        self.version = version
        self.session = session
        self.covered: set[tuple[str, str]] = set()
        self.statuses: dict[tuple[str, str], set[int]] = {}

    def _record(self, method: str, path: str, status: int) -> str:
        template, _ = find_operation(self.version, method, path)
        key = (method.upper(), template)
        self.covered.add(key)
        self.statuses.setdefault(key, set()).add(status)
        return template

    def call(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        response = self.session.request(method, path, **kwargs)
        assert response.status_code == status, (
            f"{method} {path}: expected {status}, got {response.status_code}: "
            f"{response.text[:500]}")
        assert response.headers["content-type"].startswith("application/json"), response.headers
        body = response.json()
        template = self._record(method, path, status)
        assert_response(self.version, method, template, status, body)
        return body

    def error(self, method: str, path: str, status: int, code: int,
              detail: str | None = None, **kwargs: Any) -> dict[str, Any]:
        body = self.call(method, path, status, **kwargs)
        assert body["code"] == code, body
        if detail is not None:
            assert body["details"][0]["message"] == detail, body
        return body

    def upload(self, path: str, filename: str, text: str, status: int = 200,
               **params: str) -> Any:
        response = self.session.post(path, params=params,
                                     files={"uploadfile": (filename, text.encode())})
        assert response.status_code == status, response.text[:500]
        body = response.json()
        self._record("POST", path, status)
        if status == 200:
            assert_response(self.version, "POST", path, 200, body)
        else:
            # The upload handlers' own error shape (spec 5.5), not a google.rpc.Status.
            assert set(body) == {"error_message", "error_details"}, body
            assert all(isinstance(v, str) and v for v in body.values()), body
        return body

    def healthz(self) -> dict[str, Any]:
        path = f"/apis/{self.version}/healthz"
        response = self.session.get(path)
        assert response.status_code == 200
        body = response.json()
        self._record("GET", path, 200)
        # Plain handler (main.go healthzResponse): two fields the swagger does not document.
        extra = {k: body.pop(k) for k in ("commit_sha", "tag_name")}
        assert all(isinstance(v, str) and v for v in extra.values()), extra
        assert_response(self.version, "GET", path, 200, body)
        return body

    def assert_all_covered(self, excluded: frozenset[tuple[str, str]] = frozenset()) -> None:
        missing = all_operations(self.version) - excluded - self.covered
        assert not missing, f"{self.version} operations never exercised: {sorted(missing)}"
        without_success = {k for k, codes in self.statuses.items() if 200 not in codes}
        assert not without_success, f"no successful call of: {sorted(without_success)}"


@pytest.fixture
def owner(kfp_env: KfpTestEnv) -> Iterator[requests.Session]:
    with kfp_env.as_owner() as session:
        yield session


# -- v2beta1 -----------------------------------------------------------------------------------


def test_v2beta1_every_operation_matches_the_swagger(kfp_env: KfpTestEnv,
                                                     owner: requests.Session) -> None:
    api = Contract("v2beta1", owner)
    v2 = "/apis/v2beta1"

    health = api.healthz()
    assert health == {"multi_user": True, "pipeline_store": "database"}

    # experiments
    exp = api.call("POST", f"{v2}/experiments",
                   json={"display_name": "contract", "description": "d", "namespace": NS})
    eid = exp["experiment_id"]
    assert (exp["namespace"], exp["storage_state"]) == (NS, "AVAILABLE")
    api.error("POST", f"{v2}/experiments", 409, 6,
              "Failed to create a new experiment. The name contract already exists. Please "
              "specify a new name", json={"display_name": "contract", "namespace": NS})
    api.call("GET", f"{v2}/experiments/{eid}")
    listed = api.call("GET", f"{v2}/experiments", params={"namespace": NS})
    assert [e["experiment_id"] for e in listed["experiments"]] == [eid]
    api.error("GET", f"{v2}/experiments", 400, 3,
              "An experiment cannot have an empty namespace in multi-user mode")

    # pipelines: JSON create, create-with-version, upload, upload_version
    plain = api.call("POST", f"{v2}/pipelines",
                     json={"name": "plain", "display_name": "Plain", "namespace": NS,
                           "tags": {"team": "a"}})
    assert plain["tags"] == {"team": "a"}
    pid = plain["pipeline_id"]
    version = api.call("POST", f"{v2}/pipelines/{pid}/versions",
                       json={"pipeline_id": pid, "name": "plain-v1",
                             "package_url": {"pipeline_url": data_url(ir_yaml())}})
    assert version["pipeline_id"] == pid and version["pipeline_spec"] == ir_spec()
    vid = version["pipeline_version_id"]
    both = api.call("POST", f"{v2}/pipelines/create", json={
        "pipeline": {"name": "both", "namespace": NS},
        "pipeline_version": {"name": "both-v1",
                             "package_url": {"pipeline_url": data_url(ir_yaml())}}})
    uploaded = api.upload(f"{v2}/pipelines/upload", "up.yaml", ir_yaml(), name="uploaded",
                          namespace=NS, description="via multipart", tags='{"k":"v"}')
    assert (uploaded["name"], uploaded["namespace"], uploaded["tags"]) == ("uploaded", NS,
                                                                          {"k": "v"})
    up_version = api.upload(f"{v2}/pipelines/upload_version", "up2.yaml", ir_yaml("second"),
                            pipelineid=uploaded["pipeline_id"], name="uploaded-v2")
    assert up_version["pipeline_id"] == uploaded["pipeline_id"]
    duplicate = api.upload(f"{v2}/pipelines/upload", "up.yaml", ir_yaml(), status=409,
                           name="uploaded", namespace=NS)
    assert duplicate["error_message"] == "Failed to create a pipeline and a pipeline version"
    orphan = api.upload(f"{v2}/pipelines/upload_version", "x.yaml", ir_yaml(), status=400,
                        pipelineid=UNKNOWN_ID)
    assert orphan["error_message"] == "Failed to create a pipeline version"

    listed = api.call("GET", f"{v2}/pipelines", params={"namespace": NS})
    assert {p["pipeline_id"] for p in listed["pipelines"]} == {
        pid, both["pipeline_id"], uploaded["pipeline_id"]}
    api.call("GET", f"{v2}/pipelines/{pid}")
    by_name = api.call("GET", f"{v2}/pipelines/names/plain", params={"namespace": NS})
    assert by_name["pipeline_id"] == pid
    api.error("GET", f"{v2}/pipelines/names/absent", 404, 5,
              f"Namespace/Pipeline {NS}/absent not found", params={"namespace": NS})
    patched = api.call("PATCH", f"{v2}/pipelines/{pid}",
                       json={"pipeline_id": pid, "description": "patched"})
    assert patched["description"] == "patched"
    versions = api.call("GET", f"{v2}/pipelines/{pid}/versions")
    assert [v["pipeline_version_id"] for v in versions["pipeline_versions"]] == [vid]
    api.call("GET", f"{v2}/pipelines/{pid}/versions/{vid}")
    patched_v = api.call("PATCH", f"{v2}/pipelines/{pid}/versions/{vid}",
                         json={"pipeline_id": pid, "pipeline_version_id": vid,
                               "description": "v-patched"})
    assert patched_v["description"] == "v-patched"

    # runs: by version reference and by inline spec
    run = api.call("POST", f"{v2}/runs", json={
        "display_name": "by-ref", "experiment_id": eid,
        "pipeline_version_reference": {"pipeline_id": pid, "pipeline_version_id": vid},
        "runtime_config": {"parameters": {"msg": "hi"}}})
    rid = run["run_id"]
    assert (run["state"], run["storage_state"]) == ("PENDING", "AVAILABLE")
    inline = api.call("POST", f"{v2}/runs", json={
        "display_name": "inline", "experiment_id": eid, "pipeline_spec": ir_spec()})
    api.error("POST", f"{v2}/runs", 400, 3, "Experiment id can not be empty in multi-user mode",
              json={"display_name": "orphan", "pipeline_spec": ir_spec()})
    listed = api.call("GET", f"{v2}/runs", params={"experiment_id": eid})
    assert listed["total_size"] == 2
    api.call("GET", f"{v2}/runs/{rid}")
    api.error("POST", f"{v2}/runs/{rid}:retry", 409, 10,
              f"Cannot claim run {rid} for retry: not in a terminal state")
    api.call("POST", f"{v2}/runs/{inline['run_id']}:terminate")
    kfp_env.advance(60)
    finished = api.call("GET", f"{v2}/runs/{rid}")
    assert finished["state"] == "SUCCEEDED"
    api.error("POST", f"{v2}/runs/{rid}:terminate", 400, 3,
              f"Failed to terminate a run {rid}. Row not found")
    api.call("POST", f"{v2}/runs/{rid}:retry")
    api.call("POST", f"{v2}/runs/{rid}:archive")
    api.call("POST", f"{v2}/runs/{rid}:unarchive")

    # recurring runs
    recurring = api.call("POST", f"{v2}/recurringruns", json={
        "display_name": "nightly", "experiment_id": eid, "mode": "ENABLE",
        "pipeline_version_reference": {"pipeline_id": pid, "pipeline_version_id": vid},
        "trigger": {"cron_schedule": {"cron": "0 0 0 * * *"}}, "max_concurrency": "2"})
    jid = recurring["recurring_run_id"]
    assert (recurring["status"], recurring["namespace"]) == ("ENABLED", NS)
    listed = api.call("GET", f"{v2}/recurringruns", params={"namespace": NS})
    assert [j["recurring_run_id"] for j in listed["recurringRuns"]] == [jid]
    api.call("GET", f"{v2}/recurringruns/{jid}")
    api.call("POST", f"{v2}/recurringruns/{jid}:disable")
    assert api.call("GET", f"{v2}/recurringruns/{jid}")["status"] == "DISABLED"
    api.call("POST", f"{v2}/recurringruns/{jid}:enable")
    api.call("DELETE", f"{v2}/recurringruns/{jid}")
    api.error("GET", f"{v2}/recurringruns/{jid}", 404, 5, f"Job {jid} not found")

    # experiment archive cascade, then unarchive a run of an archived experiment
    api.call("POST", f"{v2}/experiments/{eid}:archive")
    assert api.call("GET", f"{v2}/runs/{rid}")["storage_state"] == "ARCHIVED"
    api.error("POST", f"{v2}/runs/{rid}:unarchive", 400, 9,
              f"Failed to unarchive run {rid} as experiment {eid} must be un-archived first")
    api.call("POST", f"{v2}/experiments/{eid}:unarchive")

    # persistence agent reports (cluster-wide "report" verb)
    rrid = api.call("POST", f"{v2}/recurringruns", json={
        "display_name": "reported", "experiment_id": eid, "mode": "DISABLE",
        "pipeline_version_reference": {"pipeline_id": pid, "pipeline_version_id": vid},
        "trigger": {"cron_schedule": {"cron": "0 0 0 * * *"}}})["recurring_run_id"]
    with kfp_env.as_service_account("kubeflow", "ml-pipeline-persistenceagent") as agent:
        reporter = Contract("v2beta1", agent)
        workflow = {"metadata": {"name": "wf-1", "namespace": NS, "uid": "u-1",
                                 "labels": {"pipeline/runid": rid}}, "status": {}}
        reporter.call("POST", f"{v2}/workflows", json=json.dumps(workflow))
        reporter.call("POST", f"{v2}/scheduledworkflows", json=json.dumps(
            {"metadata": {"name": "swf-1", "namespace": NS, "uid": rrid}}))
        # A ScheduledWorkflow of no recurring run: the server's lookup answers (report_server.go).
        reporter.error("POST", f"{v2}/scheduledworkflows", 404, 5, "Job u-2 not found",
                       json=json.dumps({"metadata": {"name": "swf-2", "namespace": NS,
                                                     "uid": "u-2"}}))
        api.covered |= reporter.covered
        for key, codes in reporter.statuses.items():
            api.statuses.setdefault(key, set()).update(codes)
    api.error("POST", f"{v2}/workflows", 403, 7, json=json.dumps(workflow))

    # deletes
    api.call("DELETE", f"{v2}/runs/{rid}")
    api.error("GET", f"{v2}/runs/{rid}", 404, 5, f"Run {rid} not found")
    api.call("DELETE", f"{v2}/pipelines/{pid}/versions/{vid}")
    api.call("DELETE", f"{v2}/pipelines/{pid}")
    api.error("DELETE", f"{v2}/pipelines/{uploaded['pipeline_id']}", 400, 3)
    api.call("DELETE", f"{v2}/pipelines/{uploaded['pipeline_id']}", params={"cascade": "true"})
    api.call("DELETE", f"{v2}/experiments/{eid}")
    api.error("GET", f"{v2}/experiments/{eid}", 404, 5, f"Experiment {eid} not found")

    # documented but not registered by the real server
    for method, template in NOT_REGISTERED_V2:
        response = owner.request(method, template.replace("{namespace}", NS), json={})
        assert (response.status_code, response.json()) == (404, NOT_FOUND_BODY), template

    api.assert_all_covered(NOT_REGISTERED_V2)


# -- v1beta1 -----------------------------------------------------------------------------------


def namespace_ref(namespace: str = NS) -> dict[str, Any]:
    return {"key": {"type": "NAMESPACE", "id": namespace}, "relationship": "OWNER"}


def test_v1beta1_every_operation_matches_the_swagger(kfp_env: KfpTestEnv,
                                                     owner: requests.Session) -> None:
    api = Contract("v1beta1", owner)
    v1 = "/apis/v1beta1"
    in_ns = {"resource_reference_key.type": "NAMESPACE", "resource_reference_key.id": NS}

    assert api.healthz() == {"multi_user": True}

    # experiments with a NAMESPACE resource reference
    exp = api.call("POST", f"{v1}/experiments",
                   json={"name": "legacy", "resource_references": [namespace_ref()]})
    eid = exp["id"]
    assert exp["resource_references"] == [namespace_ref()]
    assert exp["storage_state"] == "STORAGESTATE_AVAILABLE"
    api.call("GET", f"{v1}/experiments/{eid}")
    listed = api.call("GET", f"{v1}/experiments", params=in_ns)
    assert [e["id"] for e in listed["experiments"]] == [eid]
    api.error("GET", f"{v1}/experiments", 400, 3,
              "Failed to list v1beta1 experiment due to invalid resource reference key. It "
              "must be of type 'Namespace' and contain an existing or empty namespace, but you "
              f"provided {eid} of type Experiment",  # the model's type name
              params={"resource_reference_key.type": "EXPERIMENT",
                      "resource_reference_key.id": eid})

    # pipelines: JSON create from a URL, upload, upload_version, by-name, templates
    pipeline = api.call("POST", f"{v1}/pipelines", json={
        "name": "legacy-pipe", "url": {"pipeline_url": data_url(ir_yaml())},
        "resource_references": [namespace_ref()]})
    pid = pipeline["id"]
    assert pipeline["resource_references"] == [namespace_ref()]
    assert pipeline["default_version"]["resource_references"][0]["key"] == {
        "type": "PIPELINE", "id": pid}
    uploaded = api.upload(f"{v1}/pipelines/upload", "legacy.yaml", ir_yaml(),
                          name="legacy-upload", namespace=NS)
    up_version = api.upload(f"{v1}/pipelines/upload_version", "legacy2.yaml", ir_yaml("b"),
                            pipelineid=uploaded["id"], name="legacy-upload-v2")
    api.upload(f"{v1}/pipelines/upload", "legacy.yaml", "not: [a pipeline", status=400,
               name="broken", namespace=NS)
    listed = api.call("GET", f"{v1}/pipelines", params=in_ns)
    assert {p["id"] for p in listed["pipelines"]} == {pid, uploaded["id"]}
    api.call("GET", f"{v1}/pipelines/{pid}")
    template = api.call("GET", f"{v1}/pipelines/{pid}/templates")
    assert yaml.safe_load(template["template"]) == ir_spec()
    by_name = api.call("GET", f"{v1}/namespaces/{NS}/pipelines/legacy-pipe")
    assert by_name["id"] == pid
    api.error("GET", f"{v1}/namespaces/{NS}/pipelines/absent", 404, 5,
              f"Namespace/Pipeline and PipelineVersion {NS}/absent not found")

    # pipeline versions with a PIPELINE owner reference
    version = api.call("POST", f"{v1}/pipeline_versions", json={
        "name": "legacy-v2", "package_url": {"pipeline_url": data_url(ir_yaml("v2"))},
        "resource_references": [{"key": {"type": "PIPELINE", "id": pid},
                                 "relationship": "OWNER"}]})
    vid = version["id"]
    versions = api.call("GET", f"{v1}/pipeline_versions",
                        params={"resource_key.type": "PIPELINE", "resource_key.id": pid})
    assert vid in {v["id"] for v in versions["versions"]} and versions["total_size"] == 2
    api.error("GET", f"{v1}/pipeline_versions", 400, 3,
              "Failed to list pipeline versions (v1beta1) due to missing pipeline id")
    api.call("GET", f"{v1}/pipeline_versions/{vid}")
    assert yaml.safe_load(api.call("GET", f"{v1}/pipeline_versions/{vid}/templates")[
        "template"]) == ir_spec("v2")
    api.call("POST", f"{v1}/pipelines/{pid}/default_version/{vid}")
    api.error("POST", f"{v1}/pipelines/{pid}/default_version/{up_version['id']}", 400, 3)

    # runs: by PIPELINE_VERSION reference and by inline manifest
    run_body = {"name": "legacy-run", "resource_references": [
        {"key": {"type": "EXPERIMENT", "id": eid}, "relationship": "OWNER"},
        {"key": {"type": "PIPELINE_VERSION", "id": vid}, "relationship": "CREATOR"}],
        "pipeline_spec": {"parameters": [{"name": "msg", "value": "hi"}]}}
    detail = api.call("POST", f"{v1}/runs", json=run_body)
    rid = detail["run"]["id"]
    kinds = {r["key"]["type"]: r["key"]["id"] for r in detail["run"]["resource_references"]}
    assert kinds == {"EXPERIMENT": eid, "NAMESPACE": NS, "PIPELINE_VERSION": vid}
    assert detail["run"]["status"] == "Pending"
    inline = api.call("POST", f"{v1}/runs", json={
        "name": "legacy-inline", "pipeline_spec": {"pipeline_manifest": json.dumps(ir_spec())},
        "resource_references": [{"key": {"type": "EXPERIMENT", "id": eid},
                                 "relationship": "OWNER"}, namespace_ref()]})
    api.error("POST", f"{v1}/runs", 400, 3,
              f"Experiment {eid} belongs to namespace '{NS}' instead of 'bob'", json={
                  "name": "wrong-ns", "pipeline_spec": {"pipeline_manifest": "{}"},
                  "resource_references": [{"key": {"type": "EXPERIMENT", "id": eid},
                                           "relationship": "OWNER"}, namespace_ref("bob")]})
    # "-" is no wildcard here: GetValidExperimentNamespacePair compares the value as given.
    api.error("POST", f"{v1}/runs", 400, 3,
              f"Experiment {eid} belongs to namespace '{NS}' instead of '-'", json={
                  "name": "dash-ns", "pipeline_spec": {"pipeline_manifest": "{}"},
                  "resource_references": [{"key": {"type": "EXPERIMENT", "id": eid},
                                           "relationship": "OWNER"}, namespace_ref("-")]})
    listed = api.call("GET", f"{v1}/runs", params={"resource_reference_key.type": "EXPERIMENT",
                                                    "resource_reference_key.id": eid})
    assert listed["total_size"] == 2
    api.call("GET", f"{v1}/runs/{rid}")
    api.call("POST", f"{v1}/runs/{inline['run']['id']}/terminate")
    kfp_env.advance(60)
    assert api.call("GET", f"{v1}/runs/{rid}")["run"]["status"] == "Succeeded"
    api.error("POST", f"{v1}/runs/{rid}/terminate", 400, 3,
              f"Failed to terminate a run {rid}. Row not found")
    api.call("POST", f"{v1}/runs/{rid}/retry")
    metrics = api.call("POST", f"{v1}/runs/{rid}:reportMetrics", json={"metrics": [
        {"name": "accuracy", "node_id": "node-1", "number_value": 0.9, "format": "PERCENTAGE"},
        {"name": "accuracy", "node_id": "node-1", "number_value": 0.8},
        {"name": "Bad Name", "node_id": "node-1", "number_value": 1}]})
    assert [r["status"] for r in metrics["results"]] == [
        "OK", "DUPLICATE_REPORTING", "INVALID_ARGUMENT"]
    reported = api.call("GET", f"{v1}/runs/{rid}")["run"]["metrics"]
    assert reported == [{"name": "accuracy", "node_id": "node-1", "number_value": 0.9,
                         "format": "PERCENTAGE"}]
    api.error("POST", f"{v1}/runs/{UNKNOWN_ID}:reportMetrics", 404, 5,
              f"Run %s not found {UNKNOWN_ID} not found", json={"metrics": []})
    api.call("POST", f"{v1}/runs/{rid}:archive")
    assert api.call("GET", f"{v1}/runs/{rid}")["run"]["storage_state"] == \
        "STORAGESTATE_ARCHIVED"
    api.call("POST", f"{v1}/runs/{rid}:unarchive")

    # jobs
    job = api.call("POST", f"{v1}/jobs", json={
        "name": "legacy-job", "enabled": True, "max_concurrency": "1",
        "pipeline_spec": {"pipeline_manifest": json.dumps(ir_spec())},
        "trigger": {"periodic_schedule": {"interval_second": "3600"}},
        "resource_references": [{"key": {"type": "EXPERIMENT", "id": eid},
                                 "relationship": "OWNER"}]})
    jid = job["id"]
    assert (job["enabled"], job["status"], job["mode"]) == (True, "Enabled", "ENABLED")
    listed = api.call("GET", f"{v1}/jobs", params=in_ns)
    assert [j["id"] for j in listed["jobs"]] == [jid]
    api.call("GET", f"{v1}/jobs/{jid}")
    api.call("POST", f"{v1}/jobs/{jid}/disable")
    disabled = api.call("GET", f"{v1}/jobs/{jid}")
    assert "enabled" not in disabled and disabled["mode"] == "DISABLED"
    api.call("POST", f"{v1}/jobs/{jid}/enable")
    api.call("DELETE", f"{v1}/jobs/{jid}")
    api.error("GET", f"{v1}/jobs/{jid}", 404, 5, f"Job {jid} not found")

    # archive cascade and deletes
    api.call("POST", f"{v1}/experiments/{eid}:archive")
    assert api.call("GET", f"{v1}/experiments/{eid}")["storage_state"] == \
        "STORAGESTATE_ARCHIVED"
    api.call("POST", f"{v1}/experiments/{eid}:unarchive")
    api.call("DELETE", f"{v1}/runs/{rid}")
    api.call("DELETE", f"{v1}/pipeline_versions/{vid}")
    api.error("GET", f"{v1}/pipeline_versions/{vid}", 404, 5, f"PipelineVersion {vid} not found")
    api.call("DELETE", f"{v1}/pipelines/{pid}")
    api.error("GET", f"{v1}/pipelines/{pid}", 404, 5, f"Pipeline {pid} not found")
    api.call("DELETE", f"{v1}/experiments/{eid}")

    api.assert_all_covered()


# -- error answers of every operation ----------------------------------------------------------


def _operations() -> Iterator[tuple[str, str, str, bool]]:
    for version in ("v1beta1", "v2beta1"):
        for template, ops in load_spec(version)["paths"].items():
            for method, op in ops.items():
                has_body = any(p["in"] == "body" for p in op.get("parameters", []))
                yield version, method.upper(), template, has_body


@pytest.mark.parametrize(("version", "method", "template", "has_body"),
                         [pytest.param(*op, id=f"{op[1]} {op[2]}") for op in _operations()])
def test_error_answers_are_google_rpc_status(kfp_env: KfpTestEnv, owner: requests.Session,
                                             version: str, method: str, template: str,
                                             has_body: bool) -> None:
    """Unknown IDs, undecodable bodies and bad list options: each operation's error answer."""
    path = template.replace("{namespace}", NS)
    path = re.sub(r"\{[^}]+\}", UNKNOWN_ID, path)
    before = kfp_env.emulator.export_state()["kfp"]
    if (method, template) in NOT_REGISTERED_V2:
        response = owner.request(method, path, json={})
        assert (response.status_code, response.json()) == (404, NOT_FOUND_BODY)
        return
    if template.endswith("/healthz"):
        assert owner.request(method, path).status_code == 200
        return
    if template.endswith(("/upload", "/upload_version")):
        response = owner.post(path, json={"bogus_field": 1})
        assert response.status_code == 400
        assert set(response.json()) == {"error_message", "error_details"}
        return
    if has_body:
        # protojson rejects an unknown field before the handler runs (DiscardUnknown=false).
        response = owner.request(method, path, json={"bogus_field": 1})
        expected_status, expected_code = 400, 3
        if template.endswith(("/workflows", "/scheduledworkflows")):
            # The body is the workflow serialised as a JSON string; an object is a type error.
            expected_message = None
        else:
            expected_message = 'proto: (line 1:2): unknown field "bogus_field"'
    elif "{" in template:
        response = owner.request(method, path)
        expected_status, expected_code, expected_message = 404, 5, None
    else:
        response = owner.request(method, path, params={"page_size": "-1"})
        expected_status, expected_code, expected_message = 400, 3, None
    body = response.json()
    assert (response.status_code, body.get("code")) == (expected_status, expected_code), body
    assert_response(version, method, template, response.status_code, body)
    if expected_message is not None:
        # grpc-gateway's own decoding errors carry no details.
        assert body == {"code": 3, "message": expected_message}
    elif expected_status == 404:
        assert body["details"][0]["message"].endswith(" not found"), body
        assert UNKNOWN_ID in body["details"][0]["message"] or NS in body["message"], body
    assert kfp_env.emulator.export_state()["kfp"] == before


def test_unknown_path_and_wrong_method(owner: requests.Session) -> None:
    for path in ("/apis/v2beta1/nothing", "/apis/v1beta1/experiments/a/b/c", "/apis/v3/runs",
                 "/apis/v2beta1/pipelines/a/versions/b/c", "/apis/v1beta1/runs/x/explode"):
        response = owner.get(path)
        assert (response.status_code, response.json()) == (404, NOT_FOUND_BODY), path
    for method, path in (("PUT", "/apis/v2beta1/experiments"),
                         ("PATCH", "/apis/v1beta1/runs"),
                         ("DELETE", "/apis/v2beta1/experiments"),
                         ("POST", "/apis/v2beta1/runs/x"),
                         ("GET", "/apis/v1beta1/runs/x/terminate"),
                         ("POST", "/apis/v1beta1/jobs/x")):
        response = owner.request(method, path)
        assert (response.status_code, response.json()) == (
            501, {"code": 12, "message": "Method Not Allowed"}), (method, path)
        assert_response("v2beta1", "GET", "/apis/v2beta1/experiments", 501, response.json())

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
NOT_REGISTERED_V2 = {("GET", "/apis/v2beta1/auth"),
                     ("POST", "/apis/v2beta1/visualizations/{namespace}"),
                     ("GET", "/apis/v2beta1/filters")}
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

    def assert_all_covered(self, excluded: set[tuple[str, str]] = frozenset()) -> None:
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
    api.upload(f"{v2}/pipelines/upload", "up.yaml", ir_yaml(), status=409, name="uploaded",
               namespace=NS)
    api.upload(f"{v2}/pipelines/upload_version", "x.yaml", ir_yaml(), status=400,
               pipelineid=UNKNOWN_ID)

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
    with kfp_env.as_service_account("kubeflow", "ml-pipeline-persistenceagent") as agent:
        reporter = Contract("v2beta1", agent)
        workflow = {"metadata": {"name": "wf-1", "namespace": NS, "uid": "u-1",
                                 "labels": {"pipeline/runid": rid}}, "status": {}}
        import json
        reporter.call("POST", f"{v2}/workflows", json=json.dumps(workflow))
        reporter.call("POST", f"{v2}/scheduledworkflows", json=json.dumps(
            {"metadata": {"name": "swf-1", "namespace": NS, "uid": "u-2"}}))
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

"""Snapshot format 3 carries the data plane: after ``GET /_emulator/state`` on one emulator and
``PUT /_emulator/state`` on a fresh one, every surface a tenant reads answers the same (the KFP
API, the Kubernetes API's workflows, pods and logs, S3, ML Metadata and the UI server), and time
goes on the same way in both.  Format 2 still imports, with an empty data plane."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError

from conformance.login import login_cookies
from conformance.pipeline_spec import (
    producer_pipeline_spec,
    run_pipeline_field,
    secret_platform_spec,
)
from emulator import Clock, Emulator, EmulatorConfig
from emulator.core import DEFAULT_PASSWORD
from emulator.kube.tokens import API_AUDIENCE
from emulator.mlmd import schema
from emulator.mlmd.client import GrpcWebClient, GrpcWebError
from emulator.modes import Mode
from emulator.objectstore.models import ROOT_ACCESS_KEY, ROOT_SECRET_KEY
from emulator.objectstore.provisioning import SECRET_NAME, secret_credentials
from emulator.serving import EmulatorServer
from emulator.snapshot import SnapshotError
from emulator.testing import OWNER, STRANGER, standard_profiles

START = 1_800_000_000.0
NS = "alice"
V1 = "/apis/v1beta1"
V2 = "/apis/v2beta1"
MISSING_SECRET = "late-secret"
USER_BUCKET = "user-bucket"
BINARY = bytes(range(256)) * 3
V1_WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: hello-}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: say, template: say}
      - {name: after, template: say, dependencies: [say]}
  - name: say
    container: {image: alpine, command: [echo, hi]}
    outputs:
      artifacts: [{name: out, path: /tmp/out.txt}]
      parameters: [{name: word, valueFrom: {path: /tmp/word}}]
"""


class Side:
    """One served emulator and the clients a tenant (and an admin) reads it with."""

    def __init__(self, server: EmulatorServer, tmp: Path) -> None:
        self.server = server
        self.emulator = server.emulator
        self.ca = str(server.write_kube_ca(tmp / f"ca-{id(self)}.crt"))
        self.owner = {"kubeflow-userid": OWNER}
        self._ui: requests.Session | None = None

    def ok(self, response: requests.Response) -> Any:
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.ok(requests.post(self.server.url + path, json=body, headers=self.owner,
                                     timeout=30))

    def kube(self, path: str, email: str | None = None) -> requests.Response:
        if email is None:
            token = self.emulator.admin_token()
        else:
            token = self.emulator.user_token(email, audiences=[API_AUDIENCE])
        return requests.get(self.server.kube_url + path, verify=self.ca, timeout=30,
                            headers={"Authorization": f"Bearer {token}"})

    def s3(self, access_key: str = ROOT_ACCESS_KEY,
           secret_key: str = ROOT_SECRET_KEY) -> BaseClient:
        return boto3.client("s3", endpoint_url=self.server.object_store_url,
                            aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                            region_name="us-east-1",
                            config=Config(s3={"addressing_style": "path"},
                                          retries={"max_attempts": 1}))

    def ui(self) -> requests.Session:
        """Alice signed in at the gateway (a session of this emulator's own)."""
        if self._ui is None:
            self._ui = requests.Session()
            name, _, value = login_cookies(self.server.gateway_url + "/pipeline", OWNER,
                                           DEFAULT_PASSWORD).partition("=")
            self._ui.cookies.set(name, value)
        return self._ui

    def state(self) -> dict[str, Any]:
        return dict(self.ok(requests.get(self.server.url + "/_emulator/state", timeout=60)))

    def put_state(self, snapshot: dict[str, Any]) -> requests.Response:
        return requests.put(self.server.url + "/_emulator/state", json=snapshot, timeout=60)

    def set_outcome(self, run_id: str, outcome: str) -> None:
        self.ok(requests.post(f"{self.server.url}/_emulator/runs/{run_id}/outcome",
                              json={"outcome": outcome}, timeout=30))

    def tenant_keys(self, namespace: str) -> tuple[str, str]:
        with self.emulator.kfp.state.lock:
            return secret_credentials(self.emulator.cluster.secrets[namespace][SECRET_NAME])


def emulator(config: EmulatorConfig | None = None) -> Emulator:
    return Emulator(config, clock=Clock(START), profiles=standard_profiles(),
                    mode=Mode.FULL_OUTSIDE)


@pytest.fixture
def sides(tmp_path: Path) -> Iterator[tuple[Side, Side]]:
    with EmulatorServer(emulator()) as source, EmulatorServer(emulator()) as target:
        yield Side(source, tmp_path), Side(target, tmp_path)


# -- a state with something on every surface -----------------------------------------------------


def populate(side: Side) -> dict[str, str]:
    """Runs in every phase (done, failed, v1 with Argo artifacts, held by a missing secret,
    running, with a deleted pod), uploads and metadata written over the wire."""
    experiment = side.post(f"{V2}/experiments", {"display_name": "e", "namespace": NS})
    eid = experiment["experiment_id"]

    def run(name: str, platform: dict[str, Any] | None = None) -> str:
        field = run_pipeline_field(producer_pipeline_spec(), platform)
        return str(side.post(f"{V2}/runs", {"display_name": name, "experiment_id": eid,
                                             "pipeline_spec": field})["run_id"])

    runs = {"done": run("done"), "failed": run("failed")}
    runs["v1"] = str(side.post(f"{V1}/runs", {
        "name": "v1", "pipeline_spec": {"workflow_manifest": V1_WORKFLOW},
        "resource_references": [{"key": {"type": "EXPERIMENT", "id": eid},
                                 "relationship": "OWNER"}]})["run"]["id"])
    side.set_outcome(runs["failed"], "FAILED")
    side.emulator.advance(30)
    runs["held"] = run("held", secret_platform_spec(MISSING_SECRET))
    runs["running"] = run("running")
    side.emulator.advance(2)  # both RUNNING: one pod Running, one Pending (no secret yet)
    # A pod of the finished run deleted through the Kubernetes API.
    with side.emulator.kfp.state.lock:
        pods = side.emulator.execution.pods_of_run(runs["done"])
    token = side.emulator.admin_token()
    gone = requests.delete(f"{side.server.kube_url}/api/v1/namespaces/{NS}/pods/"
                           f"{pods[0]['metadata']['name']}", verify=side.ca, timeout=30,
                           headers={"Authorization": f"Bearer {token}"})
    assert gone.status_code == 200, gone.text
    s3 = side.s3()
    s3.create_bucket(Bucket=USER_BUCKET)
    s3.put_object(Bucket=USER_BUCKET, Key="blob.bin", Body=BINARY,
                  ContentType="application/x-thing")
    s3.put_object(Bucket="mlpipeline", Key=f"private-artifacts/{NS}/notes/read me.txt",
                  Body="héllo\n".encode())
    write_metadata(GrpcWebClient(side.server.metadata_url))
    return runs


def write_metadata(envoy: GrpcWebClient) -> None:
    """A declared property of each kind, custom struct/bool values and an index path step:
    what the execution engine never writes itself."""
    declared = {"size": "INT", "score": "DOUBLE", "label": "STRING"}
    artifact_type = schema.new("ArtifactType", name="custom.Table")
    for name, kind in declared.items():
        artifact_type.properties[name] = schema.enum_value("PropertyType", kind)
    type_id = envoy.call("PutArtifactType", schema.request_class("PutArtifactType")(
        artifact_type=artifact_type)).type_id
    artifact = schema.new("Artifact", type_id=type_id, uri="s3://elsewhere/table",
                          external_id="table-1")
    artifact.properties["size"].int_value = 3
    artifact.properties["score"].double_value = 1.0
    artifact.properties["label"].string_value = "t"
    artifact.custom_properties["flag"].bool_value = True
    artifact.custom_properties["meta"].struct_value.update({"a": [1, "x"], "b": None})
    execution_type = envoy.call("PutExecutionType", schema.request_class("PutExecutionType")(
        execution_type=schema.new("ExecutionType", name="custom.Step"))).type_id
    execution = schema.new("Execution", type_id=execution_type, name="step-1",
                           last_known_state=schema.enum_value("Execution.State", "RUNNING"))
    event = schema.new("Event", type=schema.enum_value("Event.Type", "INPUT"))
    event.path.steps.add().index = 2
    event.path.steps.add().key = "rows"
    pair = schema.message_class("PutExecutionRequest.ArtifactAndEvent")
    envoy.call("PutExecution", schema.request_class("PutExecution")(
        execution=execution, artifact_event_pairs=[pair(artifact=artifact, event=event)]))


# -- what a tenant reads --------------------------------------------------------------------------


def answers(side: Side, runs: dict[str, str]) -> dict[str, Any]:
    """Every read the test compares, by label: status and body (and the headers that matter)."""
    out: dict[str, Any] = {}

    def keep(label: str, response: requests.Response, *headers: str) -> None:
        try:
            body: Any = response.json()
        except ValueError:
            body = response.content
        out[label] = (response.status_code, body,
                      {h: response.headers.get(h) for h in headers})

    base = side.server.url
    keep("runs", requests.get(f"{base}{V2}/runs", params={"namespace": NS},
                              headers=side.owner, timeout=30))
    for name, run_id in runs.items():
        keep(f"run {name}", requests.get(f"{base}{V2}/runs/{run_id}", headers=side.owner,
                                         timeout=30))
        keep(f"v1 run {name}", requests.get(f"{base}{V1}/runs/{run_id}", headers=side.owner,
                                            timeout=30))
    keep("workflows", side.kube(f"/apis/argoproj.io/v1alpha1/namespaces/{NS}/workflows"))
    keep("workflows as bob", side.kube(f"/apis/argoproj.io/v1alpha1/namespaces/{NS}/workflows",
                                       STRANGER))
    pods = side.kube(f"/api/v1/namespaces/{NS}/pods", OWNER)
    keep("pods", pods)
    for pod in pods.json()["items"]:
        name = pod["metadata"]["name"]
        keep(f"pod {name}", side.kube(f"/api/v1/namespaces/{NS}/pods/{name}", OWNER))
        keep(f"log {name}", side.kube(f"/api/v1/namespaces/{NS}/pods/{name}/log", OWNER))
        query = {"podname": name, "podnamespace": NS}
        ui = side.server.gateway_url + "/pipeline"
        keep(f"ui log {name}", side.ui().get(f"{ui}/k8s/pod/logs", params=query, timeout=30))
        keep(f"ui pod {name}", side.ui().get(f"{ui}/k8s/pod", params=query, timeout=30))
    s3 = side.s3()
    out["buckets"] = [(b["Name"], b["CreationDate"]) for b in s3.list_buckets()["Buckets"]]
    for bucket, _ in out["buckets"]:
        listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
        out[f"list {bucket}"] = [(o["Key"], o["Size"], o["ETag"], o["LastModified"])
                                 for o in listed]
        for item in listed:
            got = s3.get_object(Bucket=bucket, Key=item["Key"])
            out[f"s3 {bucket}/{item['Key']}"] = (got["Body"].read(), got["ETag"],
                                                 got["ContentType"], got["LastModified"])
            if bucket == "mlpipeline":
                keep(f"ui artifact {item['Key']}", side.ui().get(
                    f"{side.server.gateway_url}/pipeline/artifacts/get", timeout=30,
                    params={"source": "minio", "bucket": bucket, "key": item["Key"],
                            "namespace": NS}), "content-type")
    out.update(metadata_answers(GrpcWebClient(side.server.metadata_url)))
    return out


def metadata_answers(envoy: GrpcWebClient) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def call(label: str, method: str, **fields: Any) -> Any:
        try:
            answer = envoy.call(method, schema.request_class(method)(**fields))
        except GrpcWebError as error:  # e.g. NOT_FOUND: compared too
            out[label] = (error.grpc_status, error.grpc_message)
            return None
        out[label] = answer.SerializeToString(deterministic=True)
        return answer

    for kind in ("Artifact", "Execution", "Context"):
        call(f"{kind} types", f"Get{kind}Types")
    artifacts = call("artifacts", "GetArtifacts").artifacts
    executions = call("executions", "GetExecutions").executions
    contexts = call("contexts", "GetContexts").contexts
    call("events", "GetEventsByExecutionIDs", execution_ids=[e.id for e in executions])
    for artifact in artifacts:
        call(f"contexts of artifact {artifact.id}", "GetContextsByArtifact",
             artifact_id=artifact.id)
    for context in contexts:
        call(f"artifacts of {context.name}", "GetArtifactsByContext", context_id=context.id)
        call(f"executions of {context.name}", "GetExecutionsByContext", context_id=context.id)
    return out


def _states(side: Side, runs: dict[str, str]) -> dict[str, str]:
    return {name: side.ok(requests.get(f"{side.server.url}{V2}/runs/{run_id}",
                                       headers=side.owner, timeout=30))["state"]
            for name, run_id in runs.items()}


# -- the tests ------------------------------------------------------------------------------------


def test_round_trip_answers_the_same_on_every_surface(sides: tuple[Side, Side]) -> None:
    source, target = sides
    runs = populate(source)
    assert _states(source, runs) == {"done": "SUCCEEDED", "failed": "FAILED", "v1": "SUCCEEDED",
                                     "held": "RUNNING", "running": "RUNNING"}
    before = answers(source, runs)
    # The fixture covers what it claims: pods in three phases, one deleted, Argo artifacts.
    phases = sorted(p["status"]["phase"] for p in before["pods"][1]["items"])
    assert phases == ["Failed", "Pending", "Running", "Succeeded", "Succeeded"], phases
    assert any(k.endswith("/out.tgz") for k in before if k.startswith("s3 mlpipeline/"))
    assert before["log " + before["pods"][1]["items"][0]["metadata"]["name"]][0] == 200

    snapshot = source.state()
    assert snapshot["format"] == 3
    ok = target.put_state(snapshot)
    assert ok.status_code == 200, ok.text
    after = answers(target, runs)
    assert sorted(after) == sorted(before)
    for label, answer in before.items():
        assert after[label] == answer, label
    # Export is the inverse of import.
    assert target.state() == snapshot

    # Time goes on in both alike: the held pod starts once its secret exists, runs finish.
    for side in sides:
        side.emulator.execution._random.seed(6)  # the engine's uids and name suffixes
        secret = {"apiVersion": "v1", "kind": "Secret",
                  "metadata": {"name": MISSING_SECRET, "namespace": NS},
                  "data": {"token": base64.b64encode(b"s3cr3t").decode()}}
        created = requests.post(f"{side.server.kube_url}/api/v1/namespaces/{NS}/secrets",
                                json=secret, verify=side.ca, timeout=30, headers={
                                    "Authorization": f"Bearer {side.emulator.admin_token()}"})
        assert created.status_code == 201, created.text
        side.emulator.advance(30)
    assert _states(target, runs) == {**_states(source, runs), "held": "SUCCEEDED",
                                     "running": "SUCCEEDED"}
    later = answers(source, runs)
    assert answers(target, runs) == later
    assert later != before


def test_format_2_imports_with_an_empty_data_plane(sides: tuple[Side, Side]) -> None:
    source, target = sides
    runs = populate(source)
    snapshot = source.state()
    old = {k: v for k, v in snapshot.items() if k not in ("workloads", "objects", "metadata")}
    old["format"] = 2
    ok = target.put_state(old)
    assert ok.status_code == 200, ok.text
    assert target.kube(f"/apis/argoproj.io/v1alpha1/namespaces/{NS}/workflows").json()[
        "items"] == []
    assert target.s3().list_objects_v2(Bucket="mlpipeline").get("Contents", []) == []
    assert metadata_answers(GrpcWebClient(target.server.metadata_url))["artifacts"] == b""
    # The control plane came back, and active runs go on (with a new workflow each).
    assert _states(target, runs) == _states(source, runs)
    target.emulator.advance(30)
    assert _states(target, runs)["running"] == "SUCCEEDED"
    names = [w["metadata"]["labels"]["pipeline/runid"] for w in target.kube(
        f"/apis/argoproj.io/v1alpha1/namespaces/{NS}/workflows").json()["items"]]
    assert runs["running"] in names and runs["done"] not in names


def test_per_namespace_keys_work_after_an_import(tmp_path: Path) -> None:
    """SeaweedFS mode: each namespace's IAM user travels with the snapshot (format 3) or is
    read back from the namespace's Secret (format 2), so the tenant's keys sign as before."""
    config = EmulatorConfig(artifact_credentials="per-namespace")
    key = f"private-artifacts/{NS}/mine.txt"
    with EmulatorServer(emulator(config)) as one, EmulatorServer(emulator(config)) as two, \
            EmulatorServer(emulator(config)) as three:
        source, target, old_target = (Side(s, tmp_path) for s in (one, two, three))
        alice_keys = source.tenant_keys(NS)
        source.s3(*alice_keys).put_object(Bucket="mlpipeline", Key=key, Body=b"mine")
        snapshot = source.state()
        assert [u["namespace"] for u in snapshot["objects"]["users"]] == [NS, "bob"]
        old = {**{k: v for k, v in snapshot.items() if k not in ("workloads", "objects",
                                                                  "metadata")}, "format": 2}
        for side, data in ((target, snapshot), (old_target, old)):
            assert side.put_state(data).status_code == 200
            assert side.tenant_keys(NS) == alice_keys
            s3 = side.s3(*alice_keys)
            s3.put_object(Bucket="mlpipeline", Key=key, Body=b"again")
            assert s3.get_object(Bucket="mlpipeline", Key=key)["Body"].read() == b"again"
            # Bob's keys still reach only bob's prefix.
            with pytest.raises(ClientError, match="AccessDenied"):
                side.s3(*side.tenant_keys("bob")).get_object(Bucket="mlpipeline", Key=key)


def test_secrets_policy_and_what_stays_out(sides: tuple[Side, Side]) -> None:
    """Object bytes are there (text readable, binary base64); the gateway's login sessions
    and the token signing key are not."""
    source, _ = sides
    populate(source)
    session_cookie = source.ui().cookies
    snapshot = source.state()
    text = json.dumps(snapshot)
    for value in session_cookie.values():
        assert value and value not in text
    key = source.emulator.cluster.tokens.key
    assert key.hex() not in text and base64.b64encode(key).decode() not in text
    user = next(b for b in snapshot["objects"]["buckets"] if b["name"] == USER_BUCKET)
    [blob] = user["objects"]
    assert base64.b64decode(blob["base64"]) == BINARY and blob["size"] == len(BINARY)
    logs = [(w["run_id"], t["log"]) for w in snapshot["workloads"]["workflows"]
            for t in w["tasks"] if "log" in t]
    assert logs and all(run_id in log for run_id, log in logs)


def spoil(snapshot: dict[str, Any], path: str, change: Any) -> dict[str, Any]:
    data = copy.deepcopy(snapshot)
    part = data
    for step in path.split("."):
        part = part[int(step)] if isinstance(part, list) else part[step]
    change(part)
    return data


def test_a_malformed_data_plane_is_refused_and_changes_nothing(
        sides: tuple[Side, Side]) -> None:
    source, target = sides
    populate(source)
    populate(target)
    good = source.state()
    before = target.state()
    bad = [
        spoil(good, "workloads.workflows.0", lambda w: w.update(run_id="no-such-run")),
        spoil(good, "workloads.workflows.0.tasks.0", lambda t: t.update(name="renamed")),
        spoil(good, "workloads.workflows.0", lambda w: w.update(phase=3)),
        spoil(good, "workloads", lambda w: w["workflows"].append(w["workflows"][0])),
        spoil(good, "objects.buckets.0.objects.0", lambda o: o.pop("text", None)),
        spoil(good, "objects.buckets", lambda b: b.append(b[0])),
        spoil(good, "metadata.events.0", lambda e: e.update(artifact_id=999)),
        spoil(good, "metadata.artifacts.0", lambda a: a.update(type_id=999)),
        spoil(good, "metadata.contexts.0", lambda c: c.update(custom_properties={"x": [1]})),
        spoil(good, "metadata", lambda m: m.pop("types")),
    ]
    for snapshot in bad:
        refused = target.put_state(snapshot)
        assert refused.status_code == 400, refused.text
        assert "malformed snapshot" in refused.json()["error"]
        assert target.state() == before
    with pytest.raises(SnapshotError):
        target.emulator.import_state({**good, "format": 4})

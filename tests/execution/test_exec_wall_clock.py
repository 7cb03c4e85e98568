"""With a clock that follows the wall clock (``kfp-isolation serve``), a run's data plane is
there for whoever looks first: the object store, ML Metadata and the Kubernetes API fire due
timers themselves, not only the KFP API."""

from __future__ import annotations

import time

import boto3
from botocore.config import Config

from conformance.pipeline_spec import producer_pipeline_spec
from emulator.clock import Clock
from emulator.config import EmulatorConfig
from emulator.core import Emulator, ProfileSpec
from emulator.mlmd import client, schema
from emulator.objectstore.models import DEFAULT_BUCKET, ROOT_ACCESS_KEY, ROOT_SECRET_KEY
from emulator.serving import EmulatorServer
from emulator.testing import IdentitySession


def test_the_data_plane_catches_up_without_an_api_call() -> None:
    emulator = Emulator(EmulatorConfig(run_pending_seconds=0.05, run_running_seconds=0.1),
                        clock=Clock(follow_wall_clock=True),
                        profiles=[ProfileSpec("alice", "alice@example.com")])
    with EmulatorServer(emulator) as server:
        alice = IdentitySession(server.url, {"kubeflow-userid": "alice@example.com"}, "alice")
        experiment = alice.post("/apis/v2beta1/experiments",
                                json={"display_name": "e", "namespace": "alice"})
        run = alice.post("/apis/v2beta1/runs", json={
            "display_name": "r", "experiment_id": experiment.json()["experiment_id"],
            "pipeline_spec": producer_pipeline_spec()})
        assert run.status_code == 200, run.text
        run_id = run.json()["run_id"]
        time.sleep(0.5)  # the run is due to have finished; nobody asked the KFP API since

        s3 = boto3.client("s3", endpoint_url=server.object_store_url, region_name="us-east-1",
                          aws_access_key_id=ROOT_ACCESS_KEY,
                          aws_secret_access_key=ROOT_SECRET_KEY,
                          config=Config(signature_version="s3v4",
                                        s3={"addressing_style": "path"}))
        listed = s3.list_objects_v2(Bucket=DEFAULT_BUCKET, Prefix="private-artifacts/alice/")
        assert any(run_id in item["Key"] for item in listed.get("Contents") or [])

        found = client.GrpcWebClient(server.metadata_url).call(
            "GetContextByTypeAndName",
            schema.new("GetContextByTypeAndNameRequest", type_name="system.PipelineRun",
                       context_name=run_id))
        assert found.HasField("context")
        with emulator.kfp.state.lock:
            assert emulator.kfp.state.runs.get(run_id).state.value == "SUCCEEDED"

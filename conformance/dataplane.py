"""The suite's view of a deployment's data plane: the object store, the workflows and pods a
run becomes, and where KFP puts a run's artifacts.

Everything here goes through the deployment's own surfaces, so the same code reads an emulator
and a real cluster: the Kubernetes API with the suite's admin credentials (what an operator sees;
a tenant's own view of its namespace is the same), and the S3 endpoint with the credentials a
tenant's namespace holds (Secret ``mlpipeline-minio-artifact``, which the pipelines profile
controller puts there and every pod of the namespace may read).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes import client as k8s

from conformance.outcomes import HarnessError, NotSupported
from conformance.targets import Connection

ARTIFACT_SECRET = "mlpipeline-minio-artifact"
LAUNCHER_CONFIG = "kfp-launcher"
# backend/src/v2/config/env.go: the root when kfp-launcher names none.
DEFAULT_PIPELINE_ROOT = "minio://mlpipeline/v2/artifacts"
RUN_ID_LABEL = "pipeline/runid"
WORKFLOW_LABEL = "workflows.argoproj.io/workflow"
ARGO = ("argoproj.io", "v1alpha1", "workflows")


@dataclass(frozen=True)
class Credentials:
    """An S3 access key pair (the secret never appears in reports: only the key id does)."""

    access_key: str
    secret_key: str

    def __repr__(self) -> str:
        return f"Credentials(access_key={self.access_key!r}, secret_key=<redacted>)"


@dataclass(frozen=True)
class StoreAnswer:
    """What the object store answered: a value, or the S3 error code and message."""

    ok: bool
    value: Any = None
    code: str = ""
    message: str = ""

    def describe(self) -> str:
        return "ok" if self.ok else f"{self.code}: {self.message}"


def _secret_text(data: Mapping[str, str | bytes] | None, key: str) -> str:
    raw = (data or {}).get(key)
    if raw is None:
        raise HarnessError(f"secret {ARTIFACT_SECRET} holds no {key!r}")
    return base64.b64decode(raw).decode()


def namespace_credentials(connection: Connection, namespace: str) -> Credentials:
    """The object-store credentials ``namespace`` holds, read as its pods would."""
    try:
        secret = k8s.CoreV1Api(connection.kube).read_namespaced_secret(ARTIFACT_SECRET, namespace)
    except k8s.ApiException as exc:
        if exc.status == 404:
            raise NotSupported(f"namespace {namespace} holds no {ARTIFACT_SECRET} secret: the "
                               "deployment gives its profiles no object-store credentials"
                               ) from None
        raise HarnessError(f"cannot read {namespace}/{ARTIFACT_SECRET}: {exc.status} "
                           f"{exc.reason}") from None
    return Credentials(_secret_text(secret.data, "accesskey"),
                       _secret_text(secret.data, "secretkey"))


def pipeline_root(connection: Connection, namespace: str) -> str:
    """The namespace's default pipeline root, as KFP's launcher resolves it (env.go)."""
    try:
        config = k8s.CoreV1Api(connection.kube).read_namespaced_config_map(LAUNCHER_CONFIG,
                                                                          namespace)
    except k8s.ApiException as exc:
        if exc.status == 404:
            return DEFAULT_PIPELINE_ROOT
        raise HarnessError(f"cannot read {namespace}/{LAUNCHER_CONFIG}: {exc.status}") from None
    return (config.data or {}).get("defaultPipelineRoot") or DEFAULT_PIPELINE_ROOT


def split_uri(uri: str) -> tuple[str, str]:
    """``minio://bucket/key`` (or ``s3://``) -> (bucket, key)."""
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme not in ("minio", "s3"):
        raise HarnessError(f"not an object-store URI: {uri!r}")
    bucket, _, key = rest.partition("/")
    return bucket, key


def run_prefix(connection: Connection, namespace: str, pipeline: str, run_id: str
               ) -> tuple[str, str]:
    """(bucket, key prefix) under which a v2 run's artifacts go (client.go GenerateOutputURI:
    ``<root>/<pipeline name>/<run id>/``)."""
    bucket, root = split_uri(pipeline_root(connection, namespace).split("?")[0])
    return bucket, f"{root.rstrip('/')}/{pipeline}/{run_id}/"


class ObjectStore:
    """S3 calls with one namespace's credentials, through the real ``boto3`` client."""

    def __init__(self, endpoint: str, credentials: Credentials) -> None:
        if not endpoint:
            raise NotSupported("the target names no object store (dataPlane.objectStore)")
        import boto3
        from botocore.config import Config

        self._client = boto3.client(
            "s3", endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id=credentials.access_key,
            aws_secret_access_key=credentials.secret_key,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                          retries={"max_attempts": 1}, connect_timeout=10, read_timeout=30))

    def _call(self, action: str, **kwargs: Any) -> StoreAnswer:
        from botocore.exceptions import ClientError, EndpointConnectionError

        try:
            return StoreAnswer(True, getattr(self._client, action)(**kwargs))
        except ClientError as exc:
            error = exc.response.get("Error", {})
            return StoreAnswer(False, code=str(error.get("Code", "")),
                               message=str(error.get("Message", "")))
        except EndpointConnectionError as exc:
            raise HarnessError(f"the object store cannot be reached: {exc}") from None

    def list_keys(self, bucket: str, prefix: str) -> StoreAnswer:
        answer = self._call("list_objects_v2", Bucket=bucket, Prefix=prefix)
        if not answer.ok:
            return answer
        keys = [item["Key"] for item in answer.value.get("Contents") or []]
        return StoreAnswer(True, keys)

    def read(self, bucket: str, key: str) -> StoreAnswer:
        answer = self._call("get_object", Bucket=bucket, Key=key)
        if not answer.ok:
            return answer
        return StoreAnswer(True, answer.value["Body"].read())

    def write(self, bucket: str, key: str, data: bytes) -> StoreAnswer:
        return self._call("put_object", Bucket=bucket, Key=key, Body=data)


# -- workflows and pods ---------------------------------------------------------------------------

def workflows_of_run(connection: Connection, namespace: str, run_id: str) -> list[dict[str, Any]]:
    """The Argo Workflows labelled with the run's id in ``namespace``."""
    group, version, plural = ARGO
    try:
        found: Any = k8s.CustomObjectsApi(connection.kube).list_namespaced_custom_object(
            group, version, namespace, plural, label_selector=f"{RUN_ID_LABEL}={run_id}")
    except k8s.ApiException as exc:
        if exc.status == 404:
            raise NotSupported("the cluster serves no argoproj.io Workflows") from None
        raise HarnessError(f"cannot list workflows in {namespace}: {exc.status}") from None
    return list(found.get("items") or [])


def all_workflows_of_run(connection: Connection, run_id: str) -> list[dict[str, Any]]:
    """The run's Workflows in every namespace (where a run executes is the question)."""
    group, version, plural = ARGO
    try:
        found: Any = k8s.CustomObjectsApi(connection.kube).list_cluster_custom_object(
            group, version, plural, label_selector=f"{RUN_ID_LABEL}={run_id}")
    except k8s.ApiException as exc:
        raise HarnessError(f"cannot list workflows: {exc.status}") from None
    return list(found.get("items") or [])


def pods_of_workflow(connection: Connection, namespace: str, workflow: str) -> list[Any]:
    """The pods of one workflow (``V1Pod`` objects)."""
    return _pods(connection, namespace, f"{WORKFLOW_LABEL}={workflow}")


def pods_of_run(connection: Connection, namespace: str, run_id: str) -> list[Any]:
    """The pods labelled with the run's id in ``namespace`` (podMetadata of KFP's workflows)."""
    return _pods(connection, namespace, f"{RUN_ID_LABEL}={run_id}")


def _pods(connection: Connection, namespace: str, selector: str) -> list[Any]:
    try:
        return list(k8s.CoreV1Api(connection.kube).list_namespaced_pod(
            namespace, label_selector=selector).items)
    except k8s.ApiException as exc:
        raise HarnessError(f"cannot list pods in {namespace}: {exc.status}") from None


def workflow_messages(workflow: dict[str, Any]) -> list[str]:
    """Every message the workflow and its nodes report."""
    status = workflow.get("status") or {}
    messages = [str(status.get("message") or "")]
    for node in (status.get("nodes") or {}).values():
        if isinstance(node, dict):
            messages.append(str(node.get("message") or ""))
    return [text for text in messages if text]


def waiting_reasons(pod: Any) -> list[tuple[str, str]]:
    """(reason, message) of every waiting container of a pod."""
    found = []
    for status in (pod.status.container_statuses or []) if pod.status else []:
        waiting = status.state.waiting if status.state else None
        if waiting is not None:
            found.append((str(waiting.reason or ""), str(waiting.message or "")))
    return found


"""Object-store test helpers: a served emulator, S3 clients (boto3, minio), tenant secrets."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from kubernetes import client as k8s
from minio import Minio

from emulator.core import Emulator
from emulator.kube.tokens import API_AUDIENCE
from emulator.objectstore.models import ROOT_ACCESS_KEY, ROOT_SECRET_KEY
from emulator.serving import EmulatorServer
from emulator.testing import OWNER, STRANGER

SECRET = "mlpipeline-minio-artifact"
OWNERS = {"alice": OWNER, "bob": STRANGER}


@dataclass
class Store:
    """One served emulator and ways to reach its object store."""

    emulator: Emulator
    server: EmulatorServer
    tmp: Path

    @property
    def url(self) -> str:
        return self.server.object_store_url

    def boto(self, access_key: str = ROOT_ACCESS_KEY, secret_key: str = ROOT_SECRET_KEY,
             **config: object) -> BaseClient:
        return boto3.client("s3", endpoint_url=self.url, aws_access_key_id=access_key,
                            aws_secret_access_key=secret_key, region_name="us-east-1",
                            config=Config(s3={"addressing_style": "path"},
                                          retries={"max_attempts": 1}, **config))

    def minio(self, access_key: str = ROOT_ACCESS_KEY,
              secret_key: str = ROOT_SECRET_KEY) -> Minio:
        return Minio(urlsplit(self.url).netloc, access_key=access_key, secret_key=secret_key,
                     secure=False)

    def kube_as(self, email: str) -> k8s.ApiClient:
        """The Kubernetes API as a person (an OIDC token for the API's audience)."""
        ca = self.tmp / "kube-ca.crt"
        if not ca.exists():
            self.server.write_kube_ca(ca)
        token = self.emulator.user_token(email, audiences=[API_AUDIENCE])
        configuration = k8s.Configuration(host=self.server.kube_url,
                                          api_key={"authorization": f"Bearer {token}"})
        configuration.ssl_ca_cert = str(ca)
        return k8s.ApiClient(configuration)

    def tenant_keys(self, namespace: str) -> tuple[str, str]:
        """What the namespace's owner reads from its ``mlpipeline-minio-artifact`` Secret
        through the Kubernetes API, as a notebook or pipeline step of theirs would."""
        with self.kube_as(OWNERS[namespace]) as api:
            secret = k8s.CoreV1Api(api).read_namespaced_secret(SECRET, namespace)
        return (base64.b64decode(secret.data["accesskey"]).decode(),
                base64.b64decode(secret.data["secretkey"]).decode())

    def tenant(self, namespace: str) -> BaseClient:
        return self.boto(*self.tenant_keys(namespace))

"""Helpers for the Kubernetes API tests: clients as the admin or a tenant, exact Status bodies."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from kubernetes import client, config

from emulator.core import Emulator
from emulator.kube.tokens import API_AUDIENCE
from emulator.serving import EmulatorServer
from emulator.testing import IdentitySession, KfpTestEnv


@dataclass
class KubeEnv:
    emulator: Emulator
    server: EmulatorServer
    kubeconfig: Path

    @property
    def ca_file(self) -> str:
        """The listener's certificate as a CA file, beside the kubeconfig."""
        path = self.kubeconfig.parent / "kube-ca.crt"
        if not path.exists():
            self.server.write_kube_ca(path)
        return str(path)

    def admin(self) -> client.ApiClient:
        """The official client configured from the kubeconfig the server wrote."""
        configuration = client.Configuration()
        config.load_kube_config(config_file=str(self.kubeconfig),
                                client_configuration=configuration)
        return client.ApiClient(configuration)

    def as_token(self, token: str) -> client.ApiClient:
        configuration = client.Configuration(host=self.server.kube_url,
                                             api_key={"authorization": f"Bearer {token}"})
        configuration.ssl_ca_cert = self.ca_file
        return client.ApiClient(configuration)

    def kube_token(self, email: str) -> str:
        """A person's token for the Kubernetes API (its audience), as an OIDC login gives."""
        return self.emulator.user_token(email, audiences=[API_AUDIENCE])

    def as_user(self, email: str) -> client.ApiClient:
        return self.as_token(self.kube_token(email))

    def raw(self, method: str, path: str, token: str | None = None,
            **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.server.kube_url + path, headers=headers,
                                verify=self.ca_file, timeout=10, **kwargs)

    def admin_token(self) -> str:
        return self.emulator.admin_token()

    def kfp_as(self, email: str) -> IdentitySession:
        """A KFP API caller the gateway authenticated as ``email``."""
        return KfpTestEnv(self.emulator, self.server).as_user(email)

    def kfp_bearer(self, token: str) -> IdentitySession:
        return IdentitySession(self.server.url, {"Authorization": f"Bearer {token}"}, "bearer")

    def snapshot(self) -> str:
        """The whole model (cluster and KFP), to prove a rejected request changed nothing."""
        state = self.emulator.export_state()
        state.pop("now", None)
        return json.dumps(state, sort_keys=True, default=str)


def status_of(error: client.ApiException) -> dict[str, Any]:
    body = json.loads(error.body)
    assert isinstance(body, dict)
    return body


def status_body(code: int, reason: str, message: str,
                details: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Kubernetes ``Status`` failure body, field for field."""
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                            "status": "Failure", "message": message, "reason": reason}
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body

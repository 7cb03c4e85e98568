"""End-to-end helpers: an emulator with no Profiles, provisioned through its Kubernetes API.

A :class:`Platform` is one running emulator (all three listeners) plus an admin ``kubernetes``
client built from the kubeconfig the server writes; the tenants are provisioned with
:func:`tests.e2e.provisioning.provision_tenants`, which knows nothing about the emulator.

An :class:`Actor` is one identity on one endpoint, driven either by the real ``kfp.Client``
(login cookie, bearer token) or by raw ``requests`` where the SDK cannot express the identity
(the ``kubeflow-userid`` header of the direct endpoint).  Every operation returns the result on
success and raises on an HTTP error, so a test reads the same for both.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kfp
import pytest
import requests
import yaml
from kfp_server_api.exceptions import ApiException as KfpApiException
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from emulator.core import Emulator
from emulator.modes import Mode
from emulator.serving import EmulatorServer
from emulator.testing import assert_denied, assert_unauthenticated
from tests.e2e.provisioning import (
    ANN,
    ANN_NS,
    BEN,
    EVE,
    PIPELINES_GROUP,
    RITA,
    VAL,
    Provisioned,
    provision_tenants,
)

V2 = "/apis/v2beta1"
ENDPOINTS = ["direct", "gateway"]  # ml-pipeline:8888, and the gateway's /pipeline
USERID_HEADER = "kubeflow-userid"
PASSWORDS = {ANN: "ann-secret-1", BEN: "ben-secret-2", EVE: "eve-secret-3",
             VAL: "val-secret-4", RITA: "rita-secret-5"}
# kfp 2.x warns on every Client(); the warning says nothing about the server.
SDK_WARNING = pytest.mark.filterwarnings(
    "ignore:This client only works with Kubeflow Pipeline:FutureWarning")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# -- the login client (conformance/login.py) ---------------------------------------------------


def login(pipeline_url: str, email: str, password: str) -> str:
    """The Dex/oauth2-proxy login flow of ``conformance.login``: the cookie string for kfp."""
    from conformance.login import login_cookies

    cookie = login_cookies(pipeline_url, email, password)
    assert isinstance(cookie, str) and "oauth2_proxy_kubeflow=" in cookie, cookie
    return cookie


# -- errors ------------------------------------------------------------------------------------


HttpFailure = (KfpApiException, requests.HTTPError)


def failure_response(exc: BaseException) -> requests.Response:
    """The HTTP answer behind an SDK ``ApiException`` or a ``requests.HTTPError``."""
    if isinstance(exc, requests.HTTPError):
        assert exc.response is not None
        return exc.response
    assert isinstance(exc, KfpApiException), exc
    response = requests.Response()
    response.status_code = int(exc.status)
    body = exc.body or b""
    response._content = body.encode() if isinstance(body, str) else body
    response.headers.update(dict(exc.headers or {}))
    return response


def assert_denied_to(exc: BaseException, identity: str, verb: str, resource: str,
                     namespace: str) -> dict[str, Any]:
    """Exactly the API server's 403 PermissionDenied for this SubjectAccessReview."""
    body = assert_denied(failure_response(exc))
    detail = body["details"][0]["message"]
    assert detail.startswith(f"User '{identity}' is not authorized with reason:"), detail
    for attribute in (f"Namespace:{namespace},", f"Verb:{verb},", f"Group:{PIPELINES_GROUP},",
                      f"Resource:{resource},"):
        assert attribute in detail, f"{attribute!r} not in {detail!r}"
    return body


def expect_denied(actor: Actor, verb: str, resource: str, namespace: str,
                  call: Callable[[], object]) -> None:
    with pytest.raises(HttpFailure) as info:
        call()
    assert_denied_to(info.value, actor.identity, verb, resource, namespace)


def assert_refused_anonymous(endpoint: str, response: requests.Response) -> None:
    if endpoint == "direct":  # KFP's own 401 Unauthenticated (spec 2.3)
        assert_unauthenticated(response)
    else:  # oauth2-proxy via ext_authz on an API route: 401 with the JSON body {}
        assert response.status_code == 401, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert response.json() == {}


# -- actors ------------------------------------------------------------------------------------


class Actor:
    """One identity on one endpoint.  ``identity`` is the user KFP's SAR names."""

    identity: str
    label: str

    def create_experiment(self, namespace: str, name: str) -> str:
        raise NotImplementedError

    def list_experiments(self, namespace: str) -> dict[str, str]:
        """experiment id -> display name"""
        raise NotImplementedError

    def get_experiment(self, experiment_id: str) -> str:
        raise NotImplementedError

    def delete_experiment(self, experiment_id: str) -> None:
        raise NotImplementedError

    def create_run(self, experiment_id: str, name: str) -> str:
        raise NotImplementedError

    def list_runs(self, namespace: str) -> dict[str, str]:
        """run id -> display name"""
        raise NotImplementedError


class SdkActor(Actor):
    """The real kfp 2.x client."""

    def __init__(self, client: kfp.Client, identity: str, label: str, package: Path) -> None:
        self.client = client
        self.identity = identity
        self.label = label
        self.package = package

    def create_experiment(self, namespace: str, name: str) -> str:
        return str(self.client.create_experiment(name, namespace=namespace).experiment_id)

    def list_experiments(self, namespace: str) -> dict[str, str]:
        listed = self.client.list_experiments(namespace=namespace, page_size=100)
        return {e.experiment_id: e.display_name for e in listed.experiments or []}

    def get_experiment(self, experiment_id: str) -> str:
        return str(self.client.get_experiment(experiment_id=experiment_id).display_name)

    def delete_experiment(self, experiment_id: str) -> None:
        self.client.delete_experiment(experiment_id)

    def create_run(self, experiment_id: str, name: str) -> str:
        return str(self.client.run_pipeline(experiment_id, name,
                                            pipeline_package_path=str(self.package)).run_id)

    def list_runs(self, namespace: str) -> dict[str, str]:
        listed = self.client.list_runs(namespace=namespace, page_size=100)
        return {r.run_id: r.display_name for r in listed.runs or []}


class RawActor(Actor):
    """Plain HTTP with fixed headers: what the SDK cannot send (a bare identity header)."""

    def __init__(self, base_url: str, headers: dict[str, str], identity: str, label: str,
                 package: Path) -> None:
        self.base = base_url.rstrip("/") + V2
        self.session = requests.Session()
        self.session.headers.update(headers)
        self.identity = identity
        self.label = label
        self.pipeline_spec = yaml.safe_load(package.read_text())

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.session.request(method, self.base + path, timeout=30, **kwargs)
        response.raise_for_status()
        body = response.json()
        assert isinstance(body, dict), body
        return body

    def create_experiment(self, namespace: str, name: str) -> str:
        body = self._call("POST", "/experiments",
                          json={"display_name": name, "namespace": namespace})
        return str(body["experiment_id"])

    def list_experiments(self, namespace: str) -> dict[str, str]:
        body = self._call("GET", "/experiments", params={"namespace": namespace,
                                                         "page_size": 100})
        return {e["experiment_id"]: e["display_name"] for e in body.get("experiments", [])}

    def get_experiment(self, experiment_id: str) -> str:
        return str(self._call("GET", f"/experiments/{experiment_id}")["display_name"])

    def delete_experiment(self, experiment_id: str) -> None:
        self._call("DELETE", f"/experiments/{experiment_id}")

    def create_run(self, experiment_id: str, name: str) -> str:
        body = self._call("POST", "/runs", json={"display_name": name,
                                                 "experiment_id": experiment_id,
                                                 "pipeline_spec": self.pipeline_spec})
        return str(body["run_id"])

    def list_runs(self, namespace: str) -> dict[str, str]:
        body = self._call("GET", "/runs", params={"namespace": namespace, "page_size": 100})
        return {r["run_id"]: r["display_name"] for r in body.get("runs", [])}


# -- the platform ------------------------------------------------------------------------------


@dataclass
class Platform:
    """A running emulator provisioned only through its Kubernetes API."""

    server: EmulatorServer
    kubeconfig: Path
    kube: k8s.ApiClient
    package: Path
    tenants: Provisioned = field(default_factory=lambda: Provisioned([]))
    _cookies: dict[str, str] = field(default_factory=dict)

    @property
    def emulator(self) -> Emulator:
        return self.server.emulator

    @property
    def pipeline_url(self) -> str:
        """The KFP host behind the gateway (the ``/pipeline`` VirtualService)."""
        return self.server.gateway_url + "/pipeline"

    def provision(self) -> Platform:
        self.tenants = provision_tenants(self.kube)
        return self

    def cookie(self, email: str) -> str:
        """A login session for ``email`` (Dex password login through oauth2-proxy), cached."""
        if email not in self._cookies:
            self._cookies[email] = login(self.pipeline_url, email, PASSWORDS[email])
        return self._cookies[email]

    def sdk(self, host: str, namespace: str, **auth: Any) -> kfp.Client:
        # An explicit namespace keeps Client() from probing healthz (which it retries for 25 s
        # on failure); HOME is isolated by the kfp_home fixture of every test using this.
        return kfp.Client(host=host, namespace=namespace, **auth)

    def person(self, endpoint: str, email: str) -> Actor:
        """``email`` on the direct endpoint (identity header) or the gateway (login session)."""
        if endpoint == "direct":
            return RawActor(self.server.url, {USERID_HEADER: email}, email,
                            f"{email} via kubeflow-userid", self.package)
        client = self.sdk(self.pipeline_url, ANN_NS, cookies=self.cookie(email))
        return SdkActor(client, email, f"{email} via login session", self.package)

    def service_account(self, endpoint: str, namespace: str,
                        token: str | None = None) -> Actor:
        """``namespace``'s default-editor with a TokenRequest token, on either endpoint."""
        host = self.server.url if endpoint == "direct" else self.pipeline_url
        token = token or self.tenants.tokens[namespace]
        client = self.sdk(host, namespace, existing_token=token)
        return SdkActor(client, self.tenants.service_account_user(namespace),
                        f"{namespace}/default-editor token", self.package)

    def actor(self, endpoint: str, who: str) -> Actor:
        """``who`` is an email or ``<namespace>-sa``."""
        if who.endswith("-sa"):
            return self.service_account(endpoint, who.removesuffix("-sa"))
        return self.person(endpoint, who)


@dataclass
class PlatformFactory:
    tmp: Path
    package: Path
    _servers: list[EmulatorServer] = field(default_factory=list)

    def start(self, mode: Mode = Mode.FULL_OUTSIDE, *, provision: bool = True) -> Platform:
        emulator = Emulator(profiles=[], login_users=dict(PASSWORDS), mode=mode)
        server = EmulatorServer(emulator).start()
        self._servers.append(server)
        kubeconfig = server.write_kubeconfig(self.tmp / f"kubeconfig-{len(self._servers)}")
        kube = k8s_config.new_client_from_config(config_file=str(kubeconfig))
        platform = Platform(server, kubeconfig, kube, self.package)
        return platform.provision() if provision else platform

    def close(self) -> None:
        for server in self._servers:
            server.stop()

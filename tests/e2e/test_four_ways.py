"""The four ways users reach KFP, each with the real SDK pointed at ``server.entry_url``.

* full Kubeflow from inside: a ServiceAccount token to ml-pipeline:8888 (the direct endpoint);
* full Kubeflow from outside: a Dex login session through the gateway's ``/pipeline``;
* standalone KFP from inside / outside: no identity at all; the single-user server ignores
  namespaces (spec 3.2: the namespace is forced to ``""``, lists ignore it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kfp
import pytest
import requests

from emulator.modes import MODE_HEADER, Mode
from emulator.testing import assert_unauthenticated
from tests.e2e.provisioning import ANN, ANN_NS, BEN, BEN_NS
from tests.e2e.support import (
    SDK_WARNING,
    V2,
    HttpFailure,
    PlatformFactory,
    SdkActor,
    assert_refused_anonymous,
    expect_denied,
    failure_response,
    unique,
)

pytestmark = SDK_WARNING


def healthz(url: str, headers: dict[str, str]) -> tuple[dict[str, Any], str]:
    response = requests.get(url + V2 + "/healthz", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.json(), response.headers.get(MODE_HEADER, "")


@pytest.mark.parametrize("mode", [Mode.FULL_INSIDE, Mode.FULL_OUTSIDE], ids=lambda m: m.value)
def test_full_kubeflow_modes_isolate_tenants(platforms: PlatformFactory, kfp_home: Path,
                                             mode: Mode) -> None:
    platform = platforms.start(mode)
    server = platform.server
    inside = mode is Mode.FULL_INSIDE
    assert server.entry_url == (server.url if inside else server.gateway_url + "/pipeline")
    entry = server.entry_url

    def credentials(namespace: str, email: str) -> tuple[dict[str, Any], dict[str, str]]:
        """(kfp.Client kwargs, the same credential as HTTP headers)"""
        if inside:
            token = platform.tenants.tokens[namespace]
            return {"existing_token": token}, {"Authorization": f"Bearer {token}"}
        cookie = platform.cookie(email)
        return {"cookies": cookie}, {"Cookie": cookie}

    ann_auth, ann_headers = credentials(ANN_NS, ANN)
    # No namespace given: Client() probes healthz, which must answer with the credential.
    client = kfp.Client(host=entry, **ann_auth)
    assert client.get_kfp_healthz().multi_user is True
    body, named_mode = healthz(entry, ann_headers)
    assert (body["multi_user"], named_mode) == (True, mode.value)

    name = unique("exp")
    experiment = client.create_experiment(name, namespace=ANN_NS)
    assert experiment.namespace == ANN_NS
    listed = client.list_experiments(namespace=ANN_NS).experiments or []
    assert [e.display_name for e in listed] == [name]
    run = client.run_pipeline(experiment.experiment_id, unique("run"),
                              pipeline_package_path=str(platform.package))
    assert run.run_id in {r.run_id for r in client.list_runs(namespace=ANN_NS).runs or []}

    ben_auth, _ = credentials(BEN_NS, BEN)
    ben = SdkActor(kfp.Client(host=entry, namespace=BEN_NS, **ben_auth),
                   platform.tenants.service_account_user(BEN_NS) if inside else BEN, "ben",
                   platform.package)
    assert ben.list_experiments(BEN_NS) == {}  # positive control: his own, empty namespace
    expect_denied(ben, "list", "experiments", ANN_NS, lambda: ben.list_experiments(ANN_NS))

    anonymous = requests.get(entry + V2 + "/experiments", params={"namespace": ANN_NS},
                             timeout=30)
    assert_refused_anonymous("direct" if inside else "gateway", anonymous)


@pytest.mark.parametrize("mode", [Mode.STANDALONE_INSIDE, Mode.STANDALONE_OUTSIDE],
                         ids=lambda m: m.value)
def test_standalone_modes_need_no_identity_and_ignore_namespaces(
        platforms: PlatformFactory, kfp_home: Path, mode: Mode) -> None:
    platform = platforms.start(mode, provision=False)
    server = platform.server
    inside = mode is Mode.STANDALONE_INSIDE
    assert server.entry_url == (server.url if inside else server.gateway_url + "/pipeline")
    entry = server.entry_url

    client = kfp.Client(host=entry)  # no credentials, no namespace
    assert client.get_kfp_healthz().multi_user is False
    body, named_mode = healthz(entry, {})
    assert (body["multi_user"], named_mode) == (False, mode.value)

    name = unique("exp")
    experiment = client.create_experiment(name, namespace=ANN_NS)
    assert not experiment.namespace  # the single-user server drops it
    for namespace in (None, ANN_NS, BEN_NS):  # lists ignore the namespace
        listed = client.list_experiments(namespace=namespace).experiments or []
        assert experiment.experiment_id in {e.experiment_id for e in listed}
    run = client.run_pipeline(experiment.experiment_id, unique("run"),
                              pipeline_package_path=str(platform.package))
    assert run.run_id in {r.run_id for r in client.list_runs().runs or []}

    # Any identity is irrelevant: a stranger's header is neither needed nor checked.
    stranger = requests.get(entry + V2 + f"/experiments/{experiment.experiment_id}",
                            headers={"kubeflow-userid": BEN}, timeout=30)
    assert stranger.status_code == 200 and stranger.json()["display_name"] == name


def test_full_inside_refuses_the_sdk_without_credentials(platforms: PlatformFactory,
                                                         kfp_home: Path) -> None:
    platform = platforms.start(Mode.FULL_INSIDE)
    owner = kfp.Client(host=platform.server.entry_url, namespace=ANN_NS,
                       existing_token=platform.tenants.tokens[ANN_NS])
    owner.list_experiments(namespace=ANN_NS)  # positive control
    anonymous = kfp.Client(host=platform.server.entry_url, namespace=ANN_NS)
    with pytest.raises(HttpFailure) as info:
        anonymous.list_experiments(namespace=ANN_NS)
    assert_unauthenticated(failure_response(info.value))

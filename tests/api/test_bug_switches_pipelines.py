"""The historical bug switches of pipelines and of runs that name a stored pipeline
(isolation-bugs ISO-004, ISO-005, ISO-006, ISO-007, ISO-012), through HTTP.

Each test drives the same requests against an emulator with the switch on and one without: on,
the bug reproduces as the catalog describes it (status and side effect); off, the request is
refused exactly and nothing changes.  ISO-005 and ISO-006 share one branch of the pipeline
authorizer; each switch must open only its own path (JSON writes, multipart uploads).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
import requests

from emulator.config import EmulatorConfig
from emulator.core import Emulator
from emulator.testing import (
    OWNER,
    STRANGER,
    KfpTestEnv,
    assert_denied,
    assert_unauthenticated,
    running_env,
    standard_profiles,
)
from tests.support.api import PACKAGE_URL, SPEC, V1, V2, ok

NS = "alice"
SYSTEM_NS = "kubeflow"
SHARED_ADMIN = "pipeline-admin@example.com"  # kubeflow-edit in the KFP system namespace
CLUSTER_ADMIN = "root@example.com"  # cluster-admin
SWITCHES = ("ISO-004", "ISO-005", "ISO-006", "ISO-007", "ISO-012")
# Bob's private pipeline definition, recognisable when it comes back to someone else.
SECRET_SPEC: dict[str, Any] = {**SPEC, "pipelineInfo": {"name": "bobs-secret-flow"}}
SECRET_PACKAGE = ("data:application/json;base64,"
                  + base64.b64encode(json.dumps(SECRET_SPEC).encode()).decode())
UPLOAD = {"uploadfile": ("pipeline.json", json.dumps(SPEC).encode(), "application/json")}
UPLOAD_DENIED = "Failed to create a pipeline"
UPLOAD_VERSION_DENIED = "Failed to create a pipeline version"


@pytest.fixture(scope="module")
def envs() -> Iterator[dict[str, KfpTestEnv]]:
    """One emulator per switch, and one with none ("off"); each test resets the ones it uses."""
    with ExitStack() as stack:
        found = {}
        for name in ("off", *SWITCHES, "ISO-004+ISO-012"):
            bugs = frozenset() if name == "off" else frozenset(name.split("+"))
            emulator = Emulator(EmulatorConfig(bugs=bugs), profiles=standard_profiles())
            found[name] = stack.enter_context(running_env(emulator))
        yield found


def env_for(envs: dict[str, KfpTestEnv], name: str) -> KfpTestEnv:
    env = envs[name]
    env.reset()
    with env.emulator.kfp.state.lock:
        env.emulator.cluster.add_contributor(SYSTEM_NS, SHARED_ADMIN, "edit")
        env.emulator.cluster.make_cluster_admin(CLUSTER_ADMIN)
    return env


def pipeline(env: KfpTestEnv, session: requests.Session, name: str, namespace: str,
             package: str = PACKAGE_URL) -> tuple[str, str]:
    """(pipeline id, first version id) of a new pipeline; namespace "" makes a shared one."""
    made = ok(session.post(f"{V2}/pipelines/create", json={
        "pipeline": {"name": name, "display_name": name, "namespace": namespace},
        "pipeline_version": {"name": f"{name}-v1", "package_url": {"pipeline_url": package}}}))
    versions = ok(env.as_user(CLUSTER_ADMIN).get(f"{V2}/pipelines/{made['pipeline_id']}/versions"))
    return str(made["pipeline_id"]), str(versions["pipeline_versions"][0]["pipeline_version_id"])


def version_names(env: KfpTestEnv, pipeline_id: str) -> list[str]:
    """The versions of a pipeline as the cluster admin sees them."""
    listed = ok(env.as_user(CLUSTER_ADMIN).get(f"{V2}/pipelines/{pipeline_id}/versions"))
    return sorted(v["name"] for v in listed.get("pipeline_versions") or [])


def shared_names(env: KfpTestEnv) -> list[str]:
    listed = ok(env.as_user(CLUSTER_ADMIN).get(f"{V2}/pipelines"))
    return sorted(p["name"] for p in listed.get("pipelines") or [])


def experiment(env: KfpTestEnv, session: requests.Session, namespace: str) -> str:
    return str(ok(session.post(f"{V2}/experiments", json={
        "display_name": f"plans-{namespace}", "namespace": namespace}))["experiment_id"])


def assert_upload_refused(response: requests.Response, message: str) -> None:
    """The upload handlers' own answer to an authorization failure (spec 5.5)."""
    assert response.status_code == 400, f"expected 400, got {response.status_code}: " \
                                        f"{response.text}"
    assert response.json()["error_message"] == message, response.text


# -- ISO-004: v1 CreatePipelineVersion authorized against namespace "" ---------------------------

@pytest.mark.parametrize("switch", ["ISO-004", "ISO-004+ISO-012", "off"])
def test_iso_004_v1_create_version_in_a_foreign_private_pipeline(
        envs: dict[str, KfpTestEnv], switch: str) -> None:
    env = env_for(envs, switch)
    bob = env.as_stranger()
    pipeline_id, _ = pipeline(env, env.as_owner(), "flow", NS)
    v1_body = {"name": "evil", "package_url": {"pipeline_url": PACKAGE_URL},
               "resource_references": [{"key": {"type": "PIPELINE", "id": pipeline_id},
                                        "relationship": "OWNER"}]}
    v2_body = {"pipeline_id": pipeline_id, "name": "evil-v2",
               "package_url": {"pipeline_url": PACKAGE_URL}}
    # Positive control: the owner adds a version through the same v1 call.
    ok(env.as_owner().post(f"{V1}/pipeline_versions", json={**v1_body, "name": "own"}))

    answer = bob.post(f"{V1}/pipeline_versions", json=v1_body)
    # v2 CreatePipelineVersion was never affected.
    assert_denied(bob.post(f"{V2}/pipelines/{pipeline_id}/versions", json=v2_body))
    if switch.startswith("ISO-004"):  # ISO-012's cluster-scope SAR does not close it
        assert ok(answer)["name"] == "evil"
        assert version_names(env, pipeline_id) == ["evil", "flow-v1", "own"]
        # "namespace == "" is checked before the identity": no identity is needed either.
        ok(env.as_anonymous().post(f"{V1}/pipeline_versions", json={**v1_body, "name": "anon"}))
    else:
        assert_denied(answer)
        assert_unauthenticated(env.as_anonymous().post(f"{V1}/pipeline_versions",
                                                       json={**v1_body, "name": "anon"}))
        assert version_names(env, pipeline_id) == ["flow-v1", "own"]


# -- ISO-005: JSON writes to shared pipelines ----------------------------------------------------

@pytest.mark.parametrize("switch", ["ISO-005", "ISO-006", "off"])
def test_iso_005_json_writes_to_a_shared_pipeline(envs: dict[str, KfpTestEnv],
                                                  switch: str) -> None:
    """On ISO-005 every JSON write of a tenant to a shared pipeline is allowed; ISO-006 (the
    uploads' bug) and the secure server refuse each one exactly."""
    env = env_for(envs, switch)
    alice = env.as_owner()
    shared_id, version_id = pipeline(env, env.as_user(SHARED_ADMIN), "common", "")
    spare_id, _ = pipeline(env, env.as_user(SHARED_ADMIN), "spare", "")
    # Positive control: the system namespace's editor renames it.
    ok(env.as_user(SHARED_ADMIN).patch(f"{V2}/pipelines/{shared_id}",
                                       json={"display_name": "by the admin"}))
    calls = [
        lambda: alice.post(f"{V2}/pipelines", json={"name": "intruder"}),
        lambda: alice.patch(f"{V2}/pipelines/{shared_id}", json={"display_name": "alice's"}),
        lambda: alice.post(f"{V2}/pipelines/{shared_id}/versions", json={
            "pipeline_id": shared_id, "name": "evil",
            "package_url": {"pipeline_url": PACKAGE_URL}}),
        lambda: alice.patch(f"{V2}/pipelines/{shared_id}/versions/{version_id}",
                            json={"display_name": "alice's"}),
        lambda: alice.post(f"{V1}/pipelines/{shared_id}/default_version/{version_id}"),
        lambda: alice.delete(f"{V2}/pipelines/{shared_id}/versions/{version_id}"),
        lambda: alice.delete(f"{V2}/pipelines/{shared_id}", params={"cascade": "true"}),
        lambda: alice.delete(f"{V1}/pipelines/{spare_id}"),
    ]
    answers = [call() for call in calls]
    if switch == "ISO-005":
        for answer in answers:
            ok(answer)
        assert shared_names(env) == ["intruder"]  # common and spare are gone
    else:
        for answer in answers:
            body = assert_denied(answer)
            assert f"User '{OWNER}'" in body["details"][0]["message"]
        assert shared_names(env) == ["common", "spare"]
        assert version_names(env, shared_id) == ["common-v1"]
        got = ok(env.as_user(CLUSTER_ADMIN).get(f"{V2}/pipelines/{shared_id}"))
        assert got["display_name"] == "by the admin"


def test_iso_005_leaves_shared_uploads_closed(envs: dict[str, KfpTestEnv]) -> None:
    """KFP 2.17.0 fixed the JSON path only: ISO-005 alone does not open the uploads."""
    env = env_for(envs, "ISO-005")
    shared_id, _ = pipeline(env, env.as_user(SHARED_ADMIN), "common", "")
    alice = env.as_owner()
    for api in (V1, V2):
        assert_upload_refused(alice.post(f"{api}/pipelines/upload", params={"name": "x"},
                                         files=UPLOAD), UPLOAD_DENIED)
        assert_upload_refused(alice.post(f"{api}/pipelines/upload_version",
                                         params={"pipelineid": shared_id, "name": "evil"},
                                         files=UPLOAD), UPLOAD_VERSION_DENIED)
    assert shared_names(env) == ["common"]
    assert version_names(env, shared_id) == ["common-v1"]


# -- ISO-006: multipart uploads of shared pipelines ----------------------------------------------

@pytest.mark.parametrize("api", [V1, V2])
@pytest.mark.parametrize("switch", ["ISO-006", "ISO-005", "off"])
def test_iso_006_uploads_of_shared_pipelines(envs: dict[str, KfpTestEnv], switch: str,
                                             api: str) -> None:
    env = env_for(envs, switch)
    shared_id, _ = pipeline(env, env.as_user(SHARED_ADMIN), "common", "")
    admin = env.as_user(SHARED_ADMIN)
    alice = env.as_owner()
    # Positive controls: the system namespace's editor uploads both.
    ok(admin.post(f"{api}/pipelines/upload", params={"name": "published"}, files=UPLOAD))
    ok(admin.post(f"{api}/pipelines/upload_version",
                  params={"pipelineid": shared_id, "name": "v2"}, files=UPLOAD))

    published = alice.post(f"{api}/pipelines/upload", params={"name": "intruder"},
                           files=UPLOAD)
    added = alice.post(f"{api}/pipelines/upload_version",
                       params={"pipelineid": shared_id, "name": "evil"}, files=UPLOAD)
    # Namespaced uploads keep their check: the switch is about the shared scope only.
    assert_upload_refused(env.as_stranger().post(
        f"{api}/pipelines/upload", params={"name": "x", "namespace": NS}, files=UPLOAD),
        UPLOAD_DENIED)
    if switch == "ISO-006":
        ok(published)
        ok(added)
        assert shared_names(env) == ["common", "intruder", "published"]
        assert version_names(env, shared_id) == ["common-v1", "evil", "v2"]
        # The JSON path stays closed (KFP 2.17 fixed it).
        assert_denied(alice.patch(f"{V2}/pipelines/{shared_id}",
                                  json={"display_name": "alice's"}))
    else:
        assert_upload_refused(published, UPLOAD_DENIED)
        assert_upload_refused(added, UPLOAD_VERSION_DENIED)
        assert shared_names(env) == ["common", "published"]
        assert version_names(env, shared_id) == ["common-v1", "v2"]


# -- ISO-007: runs and recurring runs of another tenant's private pipeline -----------------------

def _v2_run(experiment_id: str, pipeline_id: str, version_id: str, name: str) -> dict[str, Any]:
    return {"display_name": name, "experiment_id": experiment_id,
            "pipeline_version_reference": {"pipeline_id": pipeline_id,
                                           "pipeline_version_id": version_id}}


@pytest.mark.parametrize("switch", ["ISO-007", "off"])
def test_iso_007_runs_of_a_foreign_private_pipeline(envs: dict[str, KfpTestEnv],
                                                    switch: str) -> None:
    env = env_for(envs, switch)
    alice, bob = env.as_owner(), env.as_stranger()
    bob_pipeline, bob_version = pipeline(env, bob, "secret-flow", "bob", SECRET_PACKAGE)
    alice_exp = experiment(env, alice, NS)
    bob_exp = experiment(env, bob, "bob")
    # Positive control: bob runs his own version.
    ok(bob.post(f"{V2}/runs", json=_v2_run(bob_exp, bob_pipeline, bob_version, "own")))

    v2 = alice.post(f"{V2}/runs", json=_v2_run(alice_exp, bob_pipeline, bob_version, "r-v2"))
    v1 = alice.post(f"{V1}/runs", json={"name": "r-v1", "resource_references": [
        {"key": {"type": "EXPERIMENT", "id": alice_exp}, "relationship": "OWNER"},
        {"key": {"type": "PIPELINE_VERSION", "id": bob_version}, "relationship": "CREATOR"}]})
    recurring = alice.post(f"{V2}/recurringruns", json={
        **_v2_run(alice_exp, bob_pipeline, bob_version, "rr"), "mode": "DISABLE",
        "trigger": {"periodic_schedule": {"interval_second": "3600"}}})
    runs = ok(alice.get(f"{V2}/runs", params={"experiment_id": alice_exp})).get("runs") or []
    scheduled = ok(alice.get(f"{V2}/recurringruns",
                             params={"experiment_id": alice_exp})).get("recurringRuns") or []
    if switch == "ISO-007":
        run_ids = [ok(v2)["run_id"], ok(v1)["run"]["id"]]
        ok(recurring)
        assert sorted(r["display_name"] for r in runs) == ["r-v1", "r-v2"]
        assert [r["display_name"] for r in scheduled] == ["rr"]
        for run_id in run_ids:  # bob's private definition, returned to alice
            got = ok(alice.get(f"{V1}/runs/{run_id}"))
            manifest = json.loads(got["pipeline_runtime"]["pipeline_manifest"])
            assert manifest["pipelineInfo"]["name"] == "bobs-secret-flow", got
    else:
        for answer in (v2, v1, recurring):
            body = assert_denied(answer)
            assert "Namespace:bob,Verb:get" in body["details"][0]["message"]
        assert runs == [] and scheduled == []


# -- ISO-012: a cluster-scope SAR for shared reads -----------------------------------------------

@pytest.mark.parametrize("switch", ["ISO-012", "off"])
def test_iso_012_shared_reads_need_a_cluster_scope_grant(envs: dict[str, KfpTestEnv],
                                                         switch: str) -> None:
    env = env_for(envs, switch)
    shared_id, version_id = pipeline(env, env.as_user(SHARED_ADMIN), "common", "")
    own_id, _ = pipeline(env, env.as_owner(), "flow", NS)
    reads = [f"{V2}/pipelines", f"{V2}/pipelines/{shared_id}",
             f"{V2}/pipelines/{shared_id}/versions",
             f"{V2}/pipelines/{shared_id}/versions/{version_id}", f"{V2}/pipelines/names/common",
             f"{V1}/pipelines", f"{V1}/pipelines/{shared_id}"]
    for path in reads:  # the cluster admin reads them either way
        ok(env.as_user(CLUSTER_ADMIN).get(path))
    for user in (OWNER, STRANGER, "system:serviceaccount:bob:default-editor"):
        session = env.as_user(user)
        for path in reads:
            answer = session.get(path)
            if switch == "ISO-012":
                body = assert_denied(answer)
                assert "Namespace:," in body["details"][0]["message"], body
            else:
                ok(answer)
    anonymous = env.as_anonymous().get(f"{V2}/pipelines/{shared_id}")
    if switch == "ISO-012":
        assert_unauthenticated(anonymous)
    else:
        ok(anonymous)
    # Namespaced pipelines are read in their namespace, unchanged by the switch.
    ok(env.as_owner().get(f"{V2}/pipelines/{own_id}"))
    ok(env.as_owner().get(f"{V2}/pipelines", params={"namespace": NS}))
    assert_denied(env.as_stranger().get(f"{V2}/pipelines/{own_id}"))

"""Deployment switches: single-user mode, MULTIUSER_SHARED_READ, REQUIRE_NAMESPACE_FOR_PIPELINES.

Spec sections 1, 3.1 (step 4, the shared-read bypass), 4.4 and 4.6.  Each mode runs in its own
emulator server with the standard Profiles.
"""

from __future__ import annotations

from collections.abc import Iterator
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
    assert_error,
    assert_unauthenticated,
    running_env,
    standard_profiles,
)
from tests.support.api import PACKAGE_URL, SPEC, SPEC_TEXT, V1, V2, ok

NS = "alice"
SYSTEM_NS = "kubeflow"
SHARED_ADMIN = "pipeline-admin@example.com"
DEFAULT_DESCRIPTION = "All runs created without specifying an experiment will be grouped here."
NAMESPACE_REQUIRED = "Namespace is required for pipeline operations"

PERIODIC = {"periodic_schedule": {"interval_second": "3600"}}


def decisions(env: KfpTestEnv) -> list[dict[str, Any]]:
    return list(ok(requests.get(f"{env.url}/_emulator/decisions"))["decisions"])


def upload(session: requests.Session, path: str, params: dict[str, str]) -> requests.Response:
    return session.post(path, params=params, files={
        "uploadfile": ("pipeline.yaml", SPEC_TEXT.encode(), "application/octet-stream")})


def start(config: EmulatorConfig) -> Iterator[KfpTestEnv]:
    with running_env(Emulator(config, profiles=standard_profiles())) as env:
        yield env


# ---------------------------------------------------------------------------------------------
# Single-user mode


@pytest.fixture(scope="module")
def su_server() -> Iterator[KfpTestEnv]:
    yield from start(EmulatorConfig(multiuser=False))


@pytest.fixture
def su(su_server: KfpTestEnv) -> KfpTestEnv:
    su_server.reset()
    return su_server


def default_experiment(env: KfpTestEnv) -> dict[str, Any]:
    listed = ok(env.as_anonymous().get(f"{V2}/experiments"))
    defaults = [e for e in listed.get("experiments", []) if e["display_name"] == "Default"]
    assert len(defaults) == 1, listed
    return defaults[0]


def test_single_user_healthz_reports_the_mode(su: KfpTestEnv) -> None:
    anonymous = su.as_anonymous()
    assert ok(anonymous.get(f"{V2}/healthz"))["multi_user"] is False
    assert ok(anonymous.get(f"{V1}/healthz"))["multi_user"] is False


def test_single_user_has_a_global_default_experiment(su: KfpTestEnv) -> None:
    listed = ok(su.as_anonymous().get(f"{V2}/experiments"))
    assert [e["display_name"] for e in listed["experiments"]] == ["Default"]
    default = listed["experiments"][0]
    assert default["description"] == DEFAULT_DESCRIPTION
    assert "namespace" not in default  # stored with namespace "" (a zero value is omitted)
    assert default["storage_state"] == "AVAILABLE"
    ok(su.as_anonymous().get(f"{V2}/experiments/{default['experiment_id']}"))


def test_default_experiment_cannot_be_deleted(su: KfpTestEnv) -> None:
    default = default_experiment(su)
    anonymous = su.as_anonymous()
    other = ok(anonymous.post(f"{V2}/experiments", json={"display_name": "other"}))
    ok(anonymous.delete(f"{V2}/experiments/{other['experiment_id']}"))  # control
    for path in (f"{V2}/experiments/{default['experiment_id']}",
                 f"{V1}/experiments/{default['experiment_id']}"):
        body = assert_error(anonymous.delete(path), 409, 10,
                            f"Failed to delete experiment {default['experiment_id']}. The "
                            "default experiment cannot be deleted")
        top = "Failed to delete experiment" if path.startswith(V2) else \
            "Failed to delete v1beta1 experiment"
        assert body["message"].startswith(f"{top}: "), body
    assert default_experiment(su)["experiment_id"] == default["experiment_id"]


def test_single_user_ignores_namespaces_and_identity(su: KfpTestEnv) -> None:
    anonymous = su.as_anonymous()
    created = ok(anonymous.post(f"{V2}/experiments", json={"display_name": "mine",
                                                           "namespace": NS}))
    assert "namespace" not in created
    # Namespace filters are ignored: every namespace lists every experiment.
    for params in ({}, {"namespace": NS}, {"namespace": "bob"}, {"namespace": "-"}):
        listed = ok(anonymous.get(f"{V2}/experiments", params=params))
        assert sorted(e["display_name"] for e in listed["experiments"]) == ["Default", "mine"]
    # Names are unique in the one namespace "" now.
    assert_error(anonymous.post(f"{V2}/experiments", json={"display_name": "mine",
                                                           "namespace": "bob"}), 409, 6,
                 "Failed to create a new experiment. The name mine already exists. Please "
                 "specify a new name")
    # Nobody is authenticated or authorized: a stranger may archive and delete.
    stranger = su.as_stranger()
    ok(stranger.post(f"{V2}/experiments/{created['experiment_id']}:archive"))
    ok(stranger.delete(f"{V2}/experiments/{created['experiment_id']}"))
    assert decisions(su) == []


def test_runs_without_experiment_go_to_default(su: KfpTestEnv) -> None:
    default = default_experiment(su)
    anonymous = su.as_anonymous()
    run = ok(anonymous.post(f"{V2}/runs", json={"display_name": "r", "pipeline_spec": SPEC}))
    assert run["experiment_id"] == default["experiment_id"]
    v1_run = ok(anonymous.post(f"{V1}/runs", json={
        "name": "r1", "pipeline_spec": {"pipeline_manifest": SPEC_TEXT}}))["run"]
    experiment_refs = [r["key"]["id"] for r in v1_run["resource_references"]
                       if r["key"]["type"] == "EXPERIMENT"]
    assert experiment_refs == [default["experiment_id"]]
    assert not [r for r in v1_run["resource_references"] if r["key"]["type"] == "NAMESPACE"]
    recurring = ok(anonymous.post(f"{V2}/recurringruns", json={
        "display_name": "rr", "pipeline_spec": SPEC, "trigger": PERIODIC}))
    assert recurring["experiment_id"] == default["experiment_id"]
    assert "namespace" not in recurring
    # Run lists need neither namespace nor experiment.
    listed = ok(anonymous.get(f"{V2}/runs"))
    assert sorted(r["run_id"] for r in listed["runs"]) == sorted([run["run_id"], v1_run["id"]])
    ok(anonymous.get(f"{V2}/recurringruns"))
    by_experiment = ok(anonymous.get(f"{V2}/runs", params={
        "experiment_id": default["experiment_id"], "namespace": "bob"}))
    assert by_experiment["total_size"] == 2


def test_single_user_pipelines_are_all_shared(su: KfpTestEnv) -> None:
    anonymous = su.as_anonymous()
    pipeline = ok(anonymous.post(f"{V2}/pipelines", json={"name": "p", "namespace": NS}))
    assert "namespace" not in pipeline
    for params in ({}, {"namespace": NS}, {"namespace": "bob"}):
        listed = ok(anonymous.get(f"{V2}/pipelines", params=params))
        assert [p["pipeline_id"] for p in listed["pipelines"]] == [pipeline["pipeline_id"]]
    uploaded = ok(upload(anonymous, f"{V2}/pipelines/upload", {"name": "u", "namespace": "bob"}))
    assert "namespace" not in uploaded
    ok(anonymous.delete(f"{V2}/pipelines/{pipeline['pipeline_id']}"))
    assert decisions(su) == []


def test_single_user_not_found_chain(su: KfpTestEnv) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    body = assert_error(su.as_anonymous().get(f"{V2}/experiments/{missing}"), 404, 5,
                        f"Experiment {missing} not found")
    assert body["message"] == (f"Failed to fetch experiment: ResourceNotFoundError: "
                               f"Experiment {missing} not found")


# ---------------------------------------------------------------------------------------------
# MULTIUSER_SHARED_READ


@pytest.fixture(scope="module")
def shared_read_server() -> Iterator[KfpTestEnv]:
    yield from start(EmulatorConfig(shared_read=True))


@pytest.fixture
def shared_read(shared_read_server: KfpTestEnv) -> KfpTestEnv:
    shared_read_server.reset()
    return shared_read_server


def populate(env: KfpTestEnv) -> dict[str, Any]:
    owner = env.as_owner()
    exp = ok(owner.post(f"{V2}/experiments", json={"display_name": "e", "namespace": NS}))
    run = ok(owner.post(f"{V2}/runs", json={"display_name": "r",
                                            "experiment_id": exp["experiment_id"],
                                            "pipeline_spec": SPEC}))
    recurring = ok(owner.post(f"{V2}/recurringruns", json={
        "display_name": "rr", "experiment_id": exp["experiment_id"], "pipeline_spec": SPEC,
        "trigger": PERIODIC}))
    pipeline = ok(owner.post(f"{V2}/pipelines/create", json={
        "pipeline": {"name": "private", "namespace": NS},
        "pipeline_version": {"name": "v1", "package_url": {"pipeline_url": PACKAGE_URL}}}))
    return {"exp": exp, "run": run, "rr": recurring, "pipeline": pipeline}


def read_paths(objs: dict[str, Any]) -> list[str]:
    exp_id = objs["exp"]["experiment_id"]
    return [
        f"{V2}/experiments/{exp_id}",
        f"{V2}/experiments?namespace={NS}",
        f"{V1}/experiments/{exp_id}",
        f"{V2}/runs/{objs['run']['run_id']}",
        f"{V2}/runs?namespace={NS}",
        f"{V2}/runs?experiment_id={exp_id}",
        f"{V1}/runs/{objs['run']['run_id']}",
        f"{V2}/recurringruns/{objs['rr']['recurring_run_id']}",
        f"{V2}/recurringruns?namespace={NS}",
        f"{V2}/pipelines/{objs['pipeline']['pipeline_id']}",
        f"{V2}/pipelines?namespace={NS}",
        f"{V2}/pipelines/names/private?namespace={NS}",
        f"{V2}/pipelines/{objs['pipeline']['pipeline_id']}/versions",
    ]


def test_shared_read_lets_anyone_get_and_list(shared_read: KfpTestEnv) -> None:
    objs = populate(shared_read)
    owner_view = {path: ok(shared_read.as_owner().get(path)) for path in read_paths(objs)}
    mark = shared_read.emulator.cluster.authorizer.last_seq()
    for session in (shared_read.as_anonymous(), shared_read.as_stranger()):
        for path in read_paths(objs):
            assert ok(session.get(path)) == owner_view[path], path
    # The bypass skips authentication and the SubjectAccessReview altogether.
    assert shared_read.emulator.cluster.authorizer.last_seq() == mark


def test_shared_read_still_requires_identity_for_writes(shared_read: KfpTestEnv) -> None:
    objs = populate(shared_read)
    exp_path = f"{V2}/experiments/{objs['exp']['experiment_id']}"
    run_path = f"{V2}/runs/{objs['run']['run_id']}"
    anonymous, stranger, owner = (shared_read.as_anonymous(), shared_read.as_stranger(),
                                  shared_read.as_owner())
    writes = [
        ("POST", f"{V2}/experiments", {"display_name": "x", "namespace": NS}),
        ("POST", f"{exp_path}:archive", None),
        ("POST", f"{run_path}:terminate", None),
        ("POST", f"{V2}/runs", {"display_name": "r2", "pipeline_spec": SPEC,
                                "experiment_id": objs["exp"]["experiment_id"]}),
        ("POST", f"{V2}/recurringruns/{objs['rr']['recurring_run_id']}:disable", None),
        ("DELETE", f"{V2}/pipelines/{objs['pipeline']['pipeline_id']}?cascade=true", None),
    ]
    for method, path, body in writes:
        assert_unauthenticated(anonymous.request(method, path, json=body))
        assert_denied(stranger.request(method, path, json=body))
    after = {path: ok(owner.get(path)) for path in (exp_path, run_path)}
    assert after[exp_path]["storage_state"] == "AVAILABLE"
    assert after[run_path]["state"] == "PENDING"
    assert ok(owner.get(f"{V2}/experiments?namespace={NS}"))["total_size"] == 1
    # Positive control: the owner's writes go through.
    for method, path, body in writes:
        ok(owner.request(method, path, json=body))


def test_shared_read_keeps_the_empty_scope_and_not_found_checks(
        shared_read: KfpTestEnv) -> None:
    populate(shared_read)
    anonymous = shared_read.as_anonymous()
    ok(anonymous.get(f"{V2}/experiments", params={"namespace": NS}))
    assert_error(anonymous.get(f"{V2}/experiments"), 400, 3,
                 "An experiment cannot have an empty namespace in multi-user mode")
    assert_error(anonymous.get(f"{V2}/runs"), 400, 3,
                 "A run cannot have an empty namespace in multi-user mode")
    missing = "00000000-0000-4000-8000-000000000000"
    assert_error(anonymous.get(f"{V2}/experiments/{missing}"), 404, 5,
                 f"Experiment {missing} not found")


# ---------------------------------------------------------------------------------------------
# REQUIRE_NAMESPACE_FOR_PIPELINES


@pytest.fixture(scope="module")
def require_ns_server() -> Iterator[KfpTestEnv]:
    yield from start(EmulatorConfig(require_namespace_for_pipelines=True))


@pytest.fixture
def require_ns(require_ns_server: KfpTestEnv, kfp_env: KfpTestEnv) -> dict[str, Any]:
    """The require-namespace server, seeded (by state import) with a shared pipeline that an
    ordinary deployment created -- this server itself refuses to create one."""
    bind_admin(kfp_env)
    admin = kfp_env.as_user(SHARED_ADMIN)
    shared = ok(admin.post(f"{V2}/pipelines/create", json={
        "pipeline": {"name": "shared"},
        "pipeline_version": {"name": "v1", "package_url": {"pipeline_url": PACKAGE_URL}}}))
    snapshot = ok(requests.get(f"{kfp_env.url}/_emulator/state"))
    require_ns_server.reset()
    ok(requests.put(f"{require_ns_server.url}/_emulator/state", json=snapshot))
    return {"env": require_ns_server, "shared": shared}


def bind_admin(env: KfpTestEnv) -> None:
    with env.emulator.kfp.state.lock:
        env.emulator.cluster.add_contributor(SYSTEM_NS, SHARED_ADMIN, "edit")


def assert_namespace_required(response: requests.Response) -> None:
    assert_error(response, 400, 3, NAMESPACE_REQUIRED)


def assert_plain_namespace_required(response: requests.Response) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("text/plain"), response.headers
    assert response.text == f"Invalid input error: {NAMESPACE_REQUIRED}\n"


def test_require_namespace_rejects_shared_scope(require_ns: dict[str, Any]) -> None:
    env: KfpTestEnv = require_ns["env"]
    owner, admin = env.as_owner(), env.as_user(SHARED_ADMIN)
    # Controls: with a namespace everything works.
    ok(owner.get(f"{V2}/pipelines", params={"namespace": NS}))
    created = ok(owner.post(f"{V2}/pipelines", json={"name": "mine", "namespace": NS}))
    ok(owner.get(f"{V2}/pipelines/names/mine", params={"namespace": NS}))
    ok(upload(owner, f"{V2}/pipelines/upload", {"name": "up", "namespace": NS}))
    ok(upload(owner, f"{V2}/pipelines/upload_version",
              {"pipelineid": created["pipeline_id"], "name": "v2"}))
    before = ok(admin.get(f"{V2}/pipelines/{require_ns['shared']['pipeline_id']}"))

    for session in (env.as_anonymous(), owner, admin):
        assert_namespace_required(session.get(f"{V2}/pipelines"))
        assert_namespace_required(session.get(f"{V1}/pipelines"))
        assert_namespace_required(session.post(f"{V2}/pipelines", json={"name": "s"}))
        assert_namespace_required(session.post(f"{V2}/pipelines/create", json={
            "pipeline": {"name": "s2"},
            "pipeline_version": {"name": "v", "package_url": {"pipeline_url": PACKAGE_URL}}}))
        assert_namespace_required(session.get(f"{V2}/pipelines/names/shared"))
        assert_plain_namespace_required(upload(session, f"{V2}/pipelines/upload",
                                               {"name": "s3"}))
        assert_plain_namespace_required(upload(session, f"{V1}/pipelines/upload",
                                               {"name": "s4"}))
        assert_plain_namespace_required(upload(session, f"{V2}/pipelines/upload_version", {
            "pipelineid": require_ns["shared"]["pipeline_id"], "name": "v9"}))
    # Nothing was created in the shared scope.
    assert ok(admin.get(f"{V2}/pipelines/{require_ns['shared']['pipeline_id']}")) == before
    with env.emulator.kfp.state.lock:
        shared_ids = [p.id for p in env.emulator.kfp.state.pipelines.in_namespace("")]
    assert shared_ids == [require_ns["shared"]["pipeline_id"]]


def test_require_namespace_keeps_by_id_access_to_shared_pipelines(
        require_ns: dict[str, Any]) -> None:
    env: KfpTestEnv = require_ns["env"]
    shared_id = require_ns["shared"]["pipeline_id"]
    anonymous = env.as_anonymous()
    got = ok(anonymous.get(f"{V2}/pipelines/{shared_id}"))
    assert got["name"] == "shared" and "namespace" not in got
    versions = ok(anonymous.get(f"{V2}/pipelines/{shared_id}/versions"))
    assert len(versions["pipeline_versions"]) == 1
    ok(anonymous.get(f"{V1}/pipelines/{shared_id}"))
    # By-ID writes are still authorized in the system namespace, not blocked by the switch.
    assert_denied(env.as_stranger().patch(f"{V2}/pipelines/{shared_id}", json={
        "pipeline_id": shared_id, "description": "hijacked"}))
    updated = ok(env.as_user(SHARED_ADMIN).patch(f"{V2}/pipelines/{shared_id}", json={
        "pipeline_id": shared_id, "description": "curated"}))
    assert updated["description"] == "curated"
    ok(env.as_user(SHARED_ADMIN).delete(f"{V2}/pipelines/{shared_id}",
                                        params={"cascade": "true"}))
    assert_error(anonymous.get(f"{V2}/pipelines/{shared_id}"), 404, 5)


def test_require_namespace_does_not_touch_other_resources(require_ns: dict[str, Any]) -> None:
    env: KfpTestEnv = require_ns["env"]
    owner = env.as_owner()
    exp = ok(owner.post(f"{V2}/experiments", json={"display_name": "e", "namespace": NS}))
    shared = require_ns["shared"]
    versions = ok(owner.get(f"{V2}/pipelines/{shared['pipeline_id']}/versions"))
    # A run may still reference the (readable) shared pipeline.
    run = ok(owner.post(f"{V2}/runs", json={
        "display_name": "from-shared", "experiment_id": exp["experiment_id"],
        "pipeline_version_reference": {
            "pipeline_id": shared["pipeline_id"],
            "pipeline_version_id": versions["pipeline_versions"][0]["pipeline_version_id"]}}))
    assert run["pipeline_version_reference"]["pipeline_id"] == shared["pipeline_id"]
    assert_denied(env.as_user(STRANGER).get(f"{V2}/runs/{run['run_id']}"))
    assert OWNER in {d["user"] for d in decisions(env)}

"""Who may do what: the authorization matrix, the check order and the exact denial bodies.

Spec sections 3 (authorization per operation), 5.2 (error bodies), 10 (Profile RBAC) and
isolation-bugs.md ISO-005/006/007/027 (shared pipelines, cross-namespace pipeline references).

Every operation is tried by every caller of the standard cast.  Each test first lets a caller
who is entitled perform the same operation on a twin object (the positive control), then asks as
the caller under test and checks the status, the exact error body, the authorization decision
the emulator recorded, and -- for writes -- that a denied request changed nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from emulator.kube.rbac import (
    ClusterRoleBinding,
    PolicyRule,
    Role,
    RoleBinding,
    RoleRef,
    Subject,
)
from emulator.testing import (
    CONTRIBUTOR,
    OWNER,
    STRANGER,
    VIEWER,
    KfpTestEnv,
    assert_denied,
    assert_error,
    assert_unauthenticated,
)
from tests.support.api import PACKAGE_URL, SPEC, SPEC_TEXT, V1, V2, ok

NS = "alice"
SYSTEM_NS = "kubeflow"
SHARED_ADMIN = "pipeline-admin@example.com"  # kubeflow-edit in the KFP system namespace
GROUP = "pipelines.kubeflow.org"
EMPTY_IDENTITY = "Failed to check authorization. User identity is empty in the request header"
NO_HEADER = "Request header error: there is no user identity header."


_serial = itertools.count(1)

Ctx = dict[str, Any]


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_serial)}"


def v1_ref(kind: str, ref_id: str, relationship: str = "OWNER") -> dict[str, Any]:
    return {"key": {"type": kind, "id": ref_id}, "relationship": relationship}


def sar_text(namespace: str, verb: str, resource: str, name: str) -> str:
    """The k8s.io/api v0.36 ``%+v`` rendering of ResourceAttributes (spec 5.2)."""
    return (f"&ResourceAttributes{{Namespace:{namespace},Verb:{verb},Group:{GROUP},"
            f"Version:v1beta1,Resource:{resource},Subresource:,Name:{name},"
            "FieldSelector:nil,LabelSelector:nil,}")


def denial_detail(user: str, namespace: str, verb: str, resource: str, name: str) -> str:
    # A plain RBAC denial has an empty SAR reason, hence the two spaces after "reason:".
    return (f"User '{user}' is not authorized with reason:  "
            f"(request: {sar_text(namespace, verb, resource, name)})")


class World:
    """Objects created through the API as the namespace owner, plus emulator controls."""

    def __init__(self, env: KfpTestEnv) -> None:
        self.env = env
        self.owner = env.as_owner()
        self.admin = env.as_user(SHARED_ADMIN)
        self.control = requests.Session()
        # Bind the shared-pipeline administrator the way CI's shared-pipeline-rbac.yaml does.
        with env.emulator.kfp.state.lock:
            env.emulator.cluster.add_contributor(SYSTEM_NS, SHARED_ADMIN, "edit")

    # -- emulator controls ---------------------------------------------------------------------

    def decisions(self, since: int = 0) -> list[dict[str, Any]]:
        body = ok(self.control.get(f"{self.env.url}/_emulator/decisions",
                                   params={"since": since}))
        return list(body["decisions"])

    def mark(self) -> int:
        """The sequence number of the newest decision so far."""
        return self.env.emulator.cluster.authorizer.last_seq()

    def advance(self, seconds: float) -> None:
        ok(self.control.post(f"{self.env.url}/_emulator/clock:advance",
                             json={"seconds": seconds}))

    def finish(self, run_id: str, outcome: str = "FAILED") -> None:
        ok(self.control.post(f"{self.env.url}/_emulator/runs/{run_id}/outcome",
                             json={"outcome": outcome}))
        self.advance(10)

    # -- objects -------------------------------------------------------------------------------

    def experiment(self, namespace: str = NS, session: requests.Session | None = None
                   ) -> dict[str, Any]:
        return ok((session or self.owner).post(f"{V2}/experiments", json={
            "display_name": unique("exp"), "namespace": namespace}))

    def run(self, experiment_id: str, session: requests.Session | None = None
            ) -> dict[str, Any]:
        return ok((session or self.owner).post(f"{V2}/runs", json={
            "display_name": unique("run"), "experiment_id": experiment_id,
            "pipeline_spec": SPEC}))

    def recurring(self, experiment_id: str, enabled: bool = True) -> dict[str, Any]:
        return ok(self.owner.post(f"{V2}/recurringruns", json={
            "display_name": unique("rr"), "experiment_id": experiment_id,
            "pipeline_spec": SPEC, "mode": "ENABLE" if enabled else "DISABLE",
            "trigger": {"periodic_schedule": {"interval_second": "3600"}}}))

    def job(self, experiment_id: str, enabled: bool = True) -> dict[str, Any]:
        return ok(self.owner.post(f"{V1}/jobs", json={
            "name": unique("job"), "enabled": enabled,
            "resource_references": [v1_ref("EXPERIMENT", experiment_id)],
            "pipeline_spec": {"pipeline_manifest": SPEC_TEXT},
            "trigger": {"periodic_schedule": {"interval_second": "3600"}}}))

    def pipeline(self, shared: bool = False, namespace: str = NS,
                 session: requests.Session | None = None) -> tuple[dict[str, Any],
                                                                   dict[str, Any]]:
        """A pipeline with one version; shared ones are created by the system-namespace editor."""
        author = session or (self.admin if shared else self.owner)
        name = unique("pipe")
        pipeline = ok(author.post(f"{V2}/pipelines/create", json={
            "pipeline": {"name": name, "display_name": name,
                         "namespace": "" if shared else namespace},
            "pipeline_version": {"name": f"{name}-v1",
                                 "package_url": {"pipeline_url": PACKAGE_URL}}}))
        versions = ok(author.get(f"{V2}/pipelines/{pipeline['pipeline_id']}/versions"))
        return pipeline, versions["pipeline_versions"][0]

    # -- what the owner (or anyone, for shared pipelines) observes ------------------------------

    def total(self, path: str, session: requests.Session | None = None) -> int:
        return int(ok((session or self.owner).get(path)).get("total_size", 0))

    def status_and(self, path: str, *keys: str) -> tuple[Any, ...]:
        response = self.owner.get(path)
        body = response.json() if response.status_code == 200 else {}
        return (response.status_code, *(body.get(k) for k in keys))


# ---------------------------------------------------------------------------------------------
# The cast


@dataclass(frozen=True)
class Caller:
    key: str
    user: str  # the SubjectAccessReview user; "" = no identity at all
    alice_read: bool
    alice_write: bool
    shared_write: bool = False
    service_account: tuple[str, str] | None = None

    def session(self, env: KfpTestEnv) -> requests.Session:
        if self.service_account is not None:
            return env.as_service_account(*self.service_account)
        if not self.user:
            return env.as_anonymous()
        return env.as_user(self.user)


CALLERS = [
    Caller("owner", OWNER, True, True),
    Caller("contributor", CONTRIBUTOR, True, True),
    Caller("viewer", VIEWER, True, False),
    Caller("stranger", STRANGER, False, False),
    Caller("anonymous", "", False, False),
    Caller("editor-sa", "system:serviceaccount:alice:default-editor", True, True,
           service_account=(NS, "default-editor")),
    Caller("viewer-sa", "system:serviceaccount:alice:default-viewer", True, False,
           service_account=(NS, "default-viewer")),
    Caller("stranger-sa", "system:serviceaccount:bob:default-editor", False, False,
           service_account=("bob", "default-editor")),
    Caller("shared-admin", SHARED_ADMIN, False, False, shared_write=True),
]


# ---------------------------------------------------------------------------------------------
# The operations


@dataclass(frozen=True)
class Op:
    id: str
    verb: str
    resource: str
    top: str  # first segment of the error's ``message`` ("" = not asserted)
    setup: Callable[[World], Ctx]
    call: Callable[[requests.Session, Ctx], requests.Response]
    # SAR name; None = the run's workflow name, which the API never exposes.
    name: Callable[[Ctx], str | None] = lambda ctx: ""
    observe: Callable[[World, Ctx], Any] | None = None
    shared: bool = False
    upload_failure: str = ""  # uploads answer authz failures with 400 and this error_message
    wrap: Callable[[Ctx], str] | None = None  # layer right above the PermissionDenied cause

    @property
    def write(self) -> bool:
        return self.verb not in ("get", "list")

    def allowed_for(self, caller: Caller) -> bool:
        if self.shared:
            return True if not self.write else caller.shared_write
        return caller.alice_write if self.write else caller.alice_read

    @property
    def namespace(self) -> str:
        return SYSTEM_NS if self.shared else NS


def exp_ctx(w: World) -> Ctx:
    return {"exp": w.experiment()}


def archived_exp_ctx(w: World) -> Ctx:
    exp = w.experiment()
    ok(w.owner.post(f"{V2}/experiments/{exp['experiment_id']}:archive"))
    return {"exp": exp}


def exp_id(ctx: Ctx) -> str:
    return str(ctx["exp"]["experiment_id"])


def exp_name(ctx: Ctx) -> str:
    return str(ctx["exp"]["display_name"])


def exp_state(w: World, ctx: Ctx) -> Any:
    return w.status_and(f"{V2}/experiments/{exp_id(ctx)}", "storage_state")


def exp_count(w: World, ctx: Ctx) -> Any:
    return w.total(f"{V2}/experiments?namespace={NS}")


def new_run_ctx(w: World) -> Ctx:
    return {"exp": w.experiment(), "name": unique("run")}


def run_ctx(w: World) -> Ctx:
    exp = w.experiment()
    return {"exp": exp, "run": w.run(exp["experiment_id"])}


def archived_run_ctx(w: World) -> Ctx:
    ctx = run_ctx(w)
    ok(w.owner.post(f"{V2}/runs/{run_id(ctx)}:archive"))
    return ctx


def failed_run_ctx(w: World) -> Ctx:
    ctx = run_ctx(w)
    w.finish(run_id(ctx))
    return ctx


def run_id(ctx: Ctx) -> str:
    return str(ctx["run"]["run_id"])


def run_state(w: World, ctx: Ctx) -> Any:
    return w.status_and(f"{V2}/runs/{run_id(ctx)}", "state", "storage_state")


def run_count(w: World, ctx: Ctx) -> Any:
    return w.total(f"{V2}/runs?experiment_id={exp_id(ctx)}")


def run_wrap(ctx: Ctx) -> str:
    return f"Failed to access run {run_id(ctx)}. Check if you have access to namespace {NS}"


def rr_ctx(w: World) -> Ctx:
    exp = w.experiment()
    return {"exp": exp, "rr": w.recurring(exp["experiment_id"])}


def disabled_rr_ctx(w: World) -> Ctx:
    exp = w.experiment()
    return {"exp": exp, "rr": w.recurring(exp["experiment_id"], enabled=False)}


def rr_id(ctx: Ctx) -> str:
    return str(ctx["rr"]["recurring_run_id"])


def rr_state(w: World, ctx: Ctx) -> Any:
    return w.status_and(f"{V2}/recurringruns/{rr_id(ctx)}", "status")


def rr_count(w: World, ctx: Ctx) -> Any:
    return w.total(f"{V2}/recurringruns?experiment_id={exp_id(ctx)}")


def job_ctx(w: World) -> Ctx:
    exp = w.experiment()
    return {"exp": exp, "job": w.job(exp["experiment_id"])}


def disabled_job_ctx(w: World) -> Ctx:
    exp = w.experiment()
    return {"exp": exp, "job": w.job(exp["experiment_id"], enabled=False)}


def job_state(w: World, ctx: Ctx) -> Any:
    return w.status_and(f"{V1}/jobs/{ctx['job']['id']}", "status")


def new_pipe_ctx(w: World) -> Ctx:
    return {"name": unique("pipe")}


def pipe_ctx(w: World) -> Ctx:
    pipeline, version = w.pipeline()
    return {"p": pipeline, "v": version, "name": unique("ver"), "text": unique("text")}


def shared_pipe_ctx(w: World) -> Ctx:
    pipeline, version = w.pipeline(shared=True)
    return {"p": pipeline, "v": version, "name": unique("ver"), "text": unique("text")}


def pid(ctx: Ctx) -> str:
    return str(ctx["p"]["pipeline_id"])


def vid(ctx: Ctx) -> str:
    return str(ctx["v"]["pipeline_version_id"])


def pipe_name(ctx: Ctx) -> str:
    return str(ctx["p"]["name"])


def pipe_count(namespace: str) -> Callable[[World, Ctx], Any]:
    def observe(w: World, ctx: Ctx) -> Any:
        return w.total(f"{V2}/pipelines?namespace={namespace}")
    return observe


def pipe_state(w: World, ctx: Ctx) -> Any:
    return w.status_and(f"{V2}/pipelines/{pid(ctx)}", "description")


def version_count(w: World, ctx: Ctx) -> Any:
    return w.total(f"{V2}/pipelines/{pid(ctx)}/versions")


def version_state(w: World, ctx: Ctx) -> Any:
    return w.status_and(f"{V2}/pipelines/{pid(ctx)}/versions/{vid(ctx)}", "description")


def pipe_wrap(ctx: Ctx) -> str:
    return f"Failed to access pipeline {pid(ctx)}. Check if you have access to namespace {NS}"


def shared_wrap(verb: str) -> Callable[[Ctx], str]:
    def wrap(ctx: Ctx) -> str:
        return (f"Failed to access shared pipeline {pid(ctx)}. Check if you have permission "
                f"to {verb} shared pipelines")
    return wrap


def upload(session: requests.Session, path: str, params: dict[str, str]) -> requests.Response:
    return session.post(path, params=params,
                        files={"uploadfile": ("pipeline.yaml", SPEC_TEXT.encode(),
                                              "application/octet-stream")})


def v1_exp_body(ctx: Ctx) -> dict[str, Any]:
    return {"name": ctx["name"], "resource_references": [v1_ref("NAMESPACE", NS)]}


def v1_run_body(ctx: Ctx) -> dict[str, Any]:
    return {"name": ctx["name"], "resource_references": [v1_ref("EXPERIMENT", exp_id(ctx))],
            "pipeline_spec": {"pipeline_manifest": SPEC_TEXT}}


def v1_job_body(ctx: Ctx) -> dict[str, Any]:
    return {"name": ctx["name"], "enabled": True,
            "resource_references": [v1_ref("EXPERIMENT", exp_id(ctx))],
            "pipeline_spec": {"pipeline_manifest": SPEC_TEXT},
            "trigger": {"periodic_schedule": {"interval_second": "3600"}}}


def v2_rr_body(ctx: Ctx) -> dict[str, Any]:
    return {"display_name": ctx["name"], "experiment_id": exp_id(ctx), "pipeline_spec": SPEC,
            "trigger": {"periodic_schedule": {"interval_second": "3600"}}}


def new_named(prefix: str) -> Callable[[World], Ctx]:
    def setup(w: World) -> Ctx:
        return {"exp": w.experiment(), "name": unique(prefix)}
    return setup


EXPERIMENT_OPS = [
    Op("v2-experiment-create", "create", "experiments", "Failed to create a experiment",
       lambda w: {"name": unique("exp")},
       lambda s, c: s.post(f"{V2}/experiments", json={"display_name": c["name"],
                                                       "namespace": NS}),
       name=lambda c: c["name"], observe=exp_count),
    Op("v2-experiment-get", "get", "experiments", "Failed to fetch experiment", exp_ctx,
       lambda s, c: s.get(f"{V2}/experiments/{exp_id(c)}"), name=exp_name),
    Op("v2-experiment-list", "list", "experiments", "List experiments failed", exp_ctx,
       lambda s, c: s.get(f"{V2}/experiments", params={"namespace": NS})),
    Op("v2-experiment-delete", "delete", "experiments", "Failed to delete experiment", exp_ctx,
       lambda s, c: s.delete(f"{V2}/experiments/{exp_id(c)}"), name=exp_name,
       observe=exp_state),
    Op("v2-experiment-archive", "archive", "experiments", "Failed to archive experiment",
       exp_ctx, lambda s, c: s.post(f"{V2}/experiments/{exp_id(c)}:archive"), name=exp_name,
       observe=exp_state),
    Op("v2-experiment-unarchive", "unarchive", "experiments", "Failed to unarchive experiment",
       archived_exp_ctx, lambda s, c: s.post(f"{V2}/experiments/{exp_id(c)}:unarchive"),
       name=exp_name, observe=exp_state),
    Op("v1-experiment-create", "create", "experiments", "Failed to create a v1beta1 experiment",
       lambda w: {"name": unique("exp")},
       lambda s, c: s.post(f"{V1}/experiments", json=v1_exp_body(c)),
       name=lambda c: c["name"], observe=exp_count),
    Op("v1-experiment-get", "get", "experiments", "Failed to fetch v1beta1 experiment", exp_ctx,
       lambda s, c: s.get(f"{V1}/experiments/{exp_id(c)}"), name=exp_name),
    Op("v1-experiment-list", "list", "experiments", "List v1beta1 experiments failed", exp_ctx,
       lambda s, c: s.get(f"{V1}/experiments", params={
           "resource_reference_key.type": "NAMESPACE", "resource_reference_key.id": NS})),
    Op("v1-experiment-delete", "delete", "experiments", "Failed to delete v1beta1 experiment",
       exp_ctx, lambda s, c: s.delete(f"{V1}/experiments/{exp_id(c)}"), name=exp_name,
       observe=exp_state),
    Op("v1-experiment-archive", "archive", "experiments", "Failed to archive v1beta1 experiment",
       exp_ctx, lambda s, c: s.post(f"{V1}/experiments/{exp_id(c)}:archive"), name=exp_name,
       observe=exp_state),
    Op("v1-experiment-unarchive", "unarchive", "experiments",
       "Failed to unarchive v1beta1 experiment", archived_exp_ctx,
       lambda s, c: s.post(f"{V1}/experiments/{exp_id(c)}:unarchive"), name=exp_name,
       observe=exp_state),
]

RUN_OPS = [
    Op("v2-run-create", "create", "runs", "Failed to create a new run", new_run_ctx,
       lambda s, c: s.post(f"{V2}/runs", json={"display_name": c["name"],
                                                "experiment_id": exp_id(c),
                                                "pipeline_spec": SPEC}),
       observe=run_count),
    Op("v2-run-get", "get", "runs", "Failed to get a run", run_ctx,
       lambda s, c: s.get(f"{V2}/runs/{run_id(c)}"), name=lambda c: None, wrap=run_wrap),
    Op("v2-run-list-namespace", "list", "runs", "Failed to list runs", run_ctx,
       lambda s, c: s.get(f"{V2}/runs", params={"namespace": NS})),
    Op("v2-run-list-experiment", "list", "runs", "Failed to list runs", run_ctx,
       lambda s, c: s.get(f"{V2}/runs", params={"experiment_id": exp_id(c)})),
    Op("v2-run-delete", "delete", "runs", "Failed to delete a run", run_ctx,
       lambda s, c: s.delete(f"{V2}/runs/{run_id(c)}"), name=lambda c: None,
       observe=run_state, wrap=run_wrap),
    Op("v2-run-archive", "archive", "runs", "Failed to archive a run", run_ctx,
       lambda s, c: s.post(f"{V2}/runs/{run_id(c)}:archive"), name=lambda c: None,
       observe=run_state, wrap=run_wrap),
    Op("v2-run-unarchive", "unarchive", "runs", "Failed to unarchive a run", archived_run_ctx,
       lambda s, c: s.post(f"{V2}/runs/{run_id(c)}:unarchive"), name=lambda c: None,
       observe=run_state, wrap=run_wrap),
    Op("v2-run-terminate", "terminate", "runs", "Failed to terminate a run", run_ctx,
       lambda s, c: s.post(f"{V2}/runs/{run_id(c)}:terminate"), name=lambda c: None,
       observe=run_state, wrap=run_wrap),
    Op("v2-run-retry", "retry", "runs", "Failed to retry a run", failed_run_ctx,
       lambda s, c: s.post(f"{V2}/runs/{run_id(c)}:retry"), name=lambda c: None,
       observe=run_state, wrap=run_wrap),
    Op("v1-run-create", "create", "runs", "Failed to create a new v1beta1 run", new_run_ctx,
       lambda s, c: s.post(f"{V1}/runs", json=v1_run_body(c)), observe=run_count),
    Op("v1-run-get", "get", "runs", "Failed to get a v1beta1 run", run_ctx,
       lambda s, c: s.get(f"{V1}/runs/{run_id(c)}"), name=lambda c: None, wrap=run_wrap),
    Op("v1-run-list-namespace", "list", "runs", "Failed to list v1beta1 runs", run_ctx,
       lambda s, c: s.get(f"{V1}/runs", params={"resource_reference_key.type": "NAMESPACE",
                                                "resource_reference_key.id": NS})),
    Op("v1-run-list-experiment", "list", "runs", "Failed to list v1beta1 runs", run_ctx,
       lambda s, c: s.get(f"{V1}/runs", params={"resource_reference_key.type": "EXPERIMENT",
                                                "resource_reference_key.id": exp_id(c)})),
    Op("v1-run-delete", "delete", "runs", "Failed to delete a v1beta1 run", run_ctx,
       lambda s, c: s.delete(f"{V1}/runs/{run_id(c)}"), name=lambda c: None,
       observe=run_state, wrap=run_wrap),
    Op("v1-run-archive", "archive", "runs", "Failed to archive a v1beta1 run", run_ctx,
       lambda s, c: s.post(f"{V1}/runs/{run_id(c)}:archive"), name=lambda c: None,
       observe=run_state, wrap=run_wrap),
    Op("v1-run-unarchive", "unarchive", "runs", "Failed to unarchive a v1beta1 run",
       archived_run_ctx, lambda s, c: s.post(f"{V1}/runs/{run_id(c)}:unarchive"),
       name=lambda c: None, observe=run_state, wrap=run_wrap),
    Op("v1-run-terminate", "terminate", "runs", "Failed to terminate a v1beta1 run", run_ctx,
       lambda s, c: s.post(f"{V1}/runs/{run_id(c)}/terminate"), name=lambda c: None,
       observe=run_state, wrap=run_wrap),
    # RetryRunV1 wraps with the v2 text (run_server.go), unlike every other v1 run call.
    Op("v1-run-retry", "retry", "runs", "Failed to retry a run", failed_run_ctx,
       lambda s, c: s.post(f"{V1}/runs/{run_id(c)}/retry"), name=lambda c: None,
       observe=run_state, wrap=run_wrap),
]

RECURRING_OPS = [
    Op("v2-recurring-create", "create", "jobs", "Failed to create a recurring run",
       new_named("rr"), lambda s, c: s.post(f"{V2}/recurringruns", json=v2_rr_body(c)),
       name=lambda c: c["name"], observe=rr_count),
    Op("v2-recurring-get", "get", "jobs", "Failed to fetch a recurring run", rr_ctx,
       lambda s, c: s.get(f"{V2}/recurringruns/{rr_id(c)}"),
       name=lambda c: c["rr"]["display_name"]),
    Op("v2-recurring-list-namespace", "list", "jobs", "Failed to list jobs", rr_ctx,
       lambda s, c: s.get(f"{V2}/recurringruns", params={"namespace": NS})),
    Op("v2-recurring-list-experiment", "list", "jobs", "Failed to list jobs", rr_ctx,
       lambda s, c: s.get(f"{V2}/recurringruns", params={"experiment_id": exp_id(c)})),
    Op("v2-recurring-enable", "enable", "jobs", "Failed to enable a recurring run",
       disabled_rr_ctx, lambda s, c: s.post(f"{V2}/recurringruns/{rr_id(c)}:enable"),
       name=lambda c: c["rr"]["display_name"], observe=rr_state),
    Op("v2-recurring-disable", "disable", "jobs", "Failed to disable a recurring run", rr_ctx,
       lambda s, c: s.post(f"{V2}/recurringruns/{rr_id(c)}:disable"),
       name=lambda c: c["rr"]["display_name"], observe=rr_state),
    Op("v2-recurring-delete", "delete", "jobs", "Failed to delete a recurring run", rr_ctx,
       lambda s, c: s.delete(f"{V2}/recurringruns/{rr_id(c)}"),
       name=lambda c: c["rr"]["display_name"], observe=rr_state),
    Op("v1-job-create", "create", "jobs", "Failed to create a recurring run", new_named("job"),
       lambda s, c: s.post(f"{V1}/jobs", json=v1_job_body(c)), name=lambda c: c["name"],
       observe=rr_count),
    Op("v1-job-get", "get", "jobs", "Failed to fetch a v1beta1 recurring run", job_ctx,
       lambda s, c: s.get(f"{V1}/jobs/{c['job']['id']}"), name=lambda c: c["job"]["name"]),
    Op("v1-job-list-namespace", "list", "jobs", "Failed to list jobs", job_ctx,
       lambda s, c: s.get(f"{V1}/jobs", params={"resource_reference_key.type": "NAMESPACE",
                                                "resource_reference_key.id": NS})),
    Op("v1-job-list-experiment", "list", "jobs", "Failed to list jobs", job_ctx,
       lambda s, c: s.get(f"{V1}/jobs", params={"resource_reference_key.type": "EXPERIMENT",
                                                "resource_reference_key.id": exp_id(c)})),
    Op("v1-job-enable", "enable", "jobs", "Failed to enable a v1beta1 recurring run",
       disabled_job_ctx, lambda s, c: s.post(f"{V1}/jobs/{c['job']['id']}/enable"),
       name=lambda c: c["job"]["name"], observe=job_state),
    Op("v1-job-disable", "disable", "jobs", "Failed to disable a v1beta1 recurring run",
       job_ctx, lambda s, c: s.post(f"{V1}/jobs/{c['job']['id']}/disable"),
       name=lambda c: c["job"]["name"], observe=job_state),
    # v1 DeleteJob wraps with "disable" (sic, job_server.go).
    Op("v1-job-delete", "delete", "jobs", "Failed to disable a recurring run", job_ctx,
       lambda s, c: s.delete(f"{V1}/jobs/{c['job']['id']}"), name=lambda c: c["job"]["name"],
       observe=job_state),
]


def pipeline_ops(shared: bool) -> list[Op]:
    """The same pipeline/version operations against a namespaced or a shared pipeline."""
    kind = "shared" if shared else "namespaced"
    ns = "" if shared else NS
    setup = shared_pipe_ctx if shared else pipe_ctx

    def by_id_wrap(verb: str) -> Callable[[Ctx], str]:
        return shared_wrap(verb) if shared else pipe_wrap

    ops = [
        Op(f"v2-{kind}-pipeline-create", "create", "pipelines", "", new_pipe_ctx,
           lambda s, c: s.post(f"{V2}/pipelines", json={"name": c["name"],
                                                         "display_name": c["name"],
                                                         "namespace": ns}),
           name=lambda c: c["name"], observe=pipe_count(ns)),
        Op(f"v2-{kind}-pipeline-and-version-create", "create", "pipelines", "", new_pipe_ctx,
           lambda s, c: s.post(f"{V2}/pipelines/create", json={
               "pipeline": {"name": c["name"], "namespace": ns},
               "pipeline_version": {"name": c["name"],
                                    "package_url": {"pipeline_url": PACKAGE_URL}}}),
           name=lambda c: c["name"], observe=pipe_count(ns)),
        Op(f"v2-{kind}-pipeline-get", "get", "pipelines", "", setup,
           lambda s, c: s.get(f"{V2}/pipelines/{pid(c)}"), name=pipe_name,
           wrap=by_id_wrap("get")),
        Op(f"v2-{kind}-pipeline-get-by-name", "get", "pipelines", "", setup,
           lambda s, c: s.get(f"{V2}/pipelines/names/{pipe_name(c)}",
                              params={"namespace": ns} if ns else None),
           name=pipe_name),
        Op(f"v2-{kind}-pipeline-list", "list", "pipelines", "", setup,
           lambda s, c: s.get(f"{V2}/pipelines", params={"namespace": ns} if ns else None)),
        Op(f"v2-{kind}-pipeline-update", "update", "pipelines", "", setup,
           lambda s, c: s.patch(f"{V2}/pipelines/{pid(c)}", json={
               "pipeline_id": pid(c), "description": c["text"]}),
           name=pipe_name, observe=pipe_state, wrap=by_id_wrap("update")),
        Op(f"v2-{kind}-pipeline-delete", "delete", "pipelines", "", setup,
           lambda s, c: s.delete(f"{V2}/pipelines/{pid(c)}", params={"cascade": "true"}),
           name=pipe_name, observe=pipe_state, wrap=by_id_wrap("delete")),
        Op(f"v2-{kind}-version-create", "create", "pipelines", "", setup,
           lambda s, c: s.post(f"{V2}/pipelines/{pid(c)}/versions", json={
               "pipeline_id": pid(c), "name": c["name"],
               "package_url": {"pipeline_url": PACKAGE_URL}}),
           name=lambda c: c["name"], observe=version_count, wrap=by_id_wrap("create")),
        Op(f"v2-{kind}-version-get", "get", "pipelines", "", setup,
           lambda s, c: s.get(f"{V2}/pipelines/{pid(c)}/versions/{vid(c)}"), name=pipe_name,
           wrap=by_id_wrap("get")),
        # ListPipelineVersions authorizes without a pipeline id: the SAR carries no name.
        Op(f"v2-{kind}-version-list", "list", "pipelines", "", setup,
           lambda s, c: s.get(f"{V2}/pipelines/{pid(c)}/versions")),
        Op(f"v2-{kind}-version-update", "update", "pipelines", "", setup,
           lambda s, c: s.patch(f"{V2}/pipelines/{pid(c)}/versions/{vid(c)}", json={
               "pipeline_id": pid(c), "pipeline_version_id": vid(c),
               "description": c["text"]}),
           name=pipe_name, observe=version_state, wrap=by_id_wrap("update")),
        Op(f"v2-{kind}-version-delete", "delete", "pipelines", "", setup,
           lambda s, c: s.delete(f"{V2}/pipelines/{pid(c)}/versions/{vid(c)}"),
           name=pipe_name, observe=version_state, wrap=by_id_wrap("delete")),
        Op(f"v1-{kind}-pipeline-get", "get", "pipelines", "", setup,
           lambda s, c: s.get(f"{V1}/pipelines/{pid(c)}"), name=pipe_name),
        Op(f"v1-{kind}-pipeline-list", "list", "pipelines", "", setup,
           lambda s, c: s.get(f"{V1}/pipelines", params={
               "resource_reference_key.type": "NAMESPACE", "resource_reference_key.id": ns}
               if ns else None)),
        Op(f"v1-{kind}-pipeline-template", "get", "pipelines", "", setup,
           lambda s, c: s.get(f"{V1}/pipelines/{pid(c)}/templates"), name=pipe_name),
        Op(f"v1-{kind}-pipeline-delete", "delete", "pipelines", "", setup,
           lambda s, c: s.delete(f"{V1}/pipelines/{pid(c)}"), name=pipe_name,
           observe=pipe_state),
        Op(f"v1-{kind}-pipeline-default-version", "update", "pipelines", "", setup,
           lambda s, c: s.post(f"{V1}/pipelines/{pid(c)}/default_version/{vid(c)}"),
           name=pipe_name, observe=None),
        Op(f"v1-{kind}-version-create", "create", "pipelines", "", setup,
           lambda s, c: s.post(f"{V1}/pipeline_versions", json={
               "name": c["name"], "package_url": {"pipeline_url": PACKAGE_URL},
               "resource_references": [v1_ref("PIPELINE", pid(c))]}),
           name=lambda c: c["name"], observe=version_count),
        Op(f"v1-{kind}-version-get", "get", "pipelines", "", setup,
           lambda s, c: s.get(f"{V1}/pipeline_versions/{vid(c)}"), name=pipe_name),
        Op(f"v1-{kind}-version-list", "list", "pipelines", "", setup,
           lambda s, c: s.get(f"{V1}/pipeline_versions", params={
               "resource_key.type": "PIPELINE", "resource_key.id": pid(c)})),
        Op(f"v1-{kind}-version-delete", "delete", "pipelines", "", setup,
           lambda s, c: s.delete(f"{V1}/pipeline_versions/{vid(c)}"), name=pipe_name,
           observe=version_state),
        Op(f"v2-{kind}-upload", "create", "pipelines", "", new_pipe_ctx,
           lambda s, c: upload(s, f"{V2}/pipelines/upload",
                               {"name": c["name"], **({"namespace": ns} if ns else {})}),
           observe=pipe_count(ns), upload_failure="Failed to create a pipeline"),
        Op(f"v2-{kind}-upload-version", "create", "pipelines", "", setup,
           lambda s, c: upload(s, f"{V2}/pipelines/upload_version",
                               {"pipelineid": pid(c), "name": c["name"]}),
           observe=version_count, upload_failure="Failed to create a pipeline version"),
        Op(f"v1-{kind}-upload", "create", "pipelines", "", new_pipe_ctx,
           lambda s, c: upload(s, f"{V1}/pipelines/upload",
                               {"name": c["name"], **({"namespace": ns} if ns else {})}),
           observe=pipe_count(ns), upload_failure="Failed to create a pipeline"),
        Op(f"v1-{kind}-upload-version", "create", "pipelines", "", setup,
           lambda s, c: upload(s, f"{V1}/pipelines/upload_version",
                               {"pipelineid": pid(c), "name": c["name"]}),
           observe=version_count, upload_failure="Failed to create a pipeline version"),
    ]
    if not shared:
        # v1 by-name takes the namespace as a path segment; it cannot address shared pipelines.
        ops.append(Op("v1-namespaced-pipeline-get-by-name", "get", "pipelines", "", setup,
                      lambda s, c: s.get(f"{V1}/namespaces/{NS}/pipelines/{pipe_name(c)}"),
                      name=pipe_name))
    return [Op(**{**op.__dict__, "shared": shared}) for op in ops]


OPS = EXPERIMENT_OPS + RUN_OPS + RECURRING_OPS + pipeline_ops(False) + pipeline_ops(True)


BY_KEY = {caller.key: caller for caller in CALLERS}


def entitled(op: Op) -> Caller:
    """Who performs the positive control."""
    return BY_KEY["shared-admin" if op.shared and op.write else "owner"]


def callers_for(op: Op) -> list[Caller]:
    """Namespaced operations: the cast of alice plus outsiders; shared ones add the admin."""
    skip = "stranger-sa" if op.shared else "shared-admin"
    return [caller for caller in CALLERS if caller.key != skip]


MATRIX = [pytest.param(op, caller, id=f"{op.id}-{caller.key}")
          for op in OPS for caller in callers_for(op)]


def check_decision(decisions: list[dict[str, Any]], caller: Caller, op: Op,
                   name: str | None, allowed: bool) -> dict[str, Any]:
    assert decisions, f"no authorization decision was recorded for {caller.key} / {op.id}"
    last = decisions[-1]
    expected = {"user": caller.user, "verb": op.verb, "group": GROUP,
                "resource": op.resource, "namespace": op.namespace, "allowed": allowed}
    assert {k: last[k] for k in expected} == expected, last
    if name is None:  # a run's workflow name: not exposed by the API, but never empty
        assert last["name"], last
    else:
        assert last["name"] == name, last
    assert all(d["user"] == caller.user for d in decisions), decisions
    return last


@pytest.mark.parametrize("op,caller", MATRIX)
def test_authorization_matrix(kfp_env: KfpTestEnv, op: Op, caller: Caller) -> None:
    world = World(kfp_env)
    allowed = op.allowed_for(caller)

    # Positive control: an entitled caller performs the same operation on a twin object.
    control = op.setup(world)
    ok(op.call(entitled(op).session(kfp_env), control))

    ctx = op.setup(world)
    before = op.observe(world, ctx) if op.observe else None
    since = world.mark()
    response = op.call(caller.session(kfp_env), ctx)
    decisions = world.decisions(since)
    after = op.observe(world, ctx) if op.observe else None

    if op.shared and not op.write:
        ok(response)
        assert decisions == [], "shared-pipeline reads must not be authorized at all"
        return

    if allowed:
        ok(response)
        check_decision(decisions, caller, op, op.name(ctx), True)
        if op.observe is not None:
            assert after != before, f"{op.id} by {caller.key} succeeded but changed nothing"
        return

    # Denied (or unauthenticated): nothing changed.
    assert after == before, f"denied {op.id} by {caller.key} changed state: {before} -> {after}"
    if op.upload_failure:
        # Upload handlers report any authorization failure as 400 {error_message, ...}.
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["error_message"] == op.upload_failure, body
        # Since KFP 2.15 the details are the message and a stack trace: the cause is only
        # logged (kubeflow/pipelines#12295); the decision log below says who was refused.
        assert body["error_details"].startswith(op.upload_failure + "\n"), body
        assert "not authorized" not in body["error_details"], body
        if caller.user:
            check_decision(decisions, caller, op, "", False)
        else:
            assert decisions == []
        return

    if not caller.user:
        body = assert_unauthenticated(response)
        assert decisions == [], "no SubjectAccessReview without an identity"
        assert body["message"].endswith(f"Unauthenticated: {EMPTY_IDENTITY}: Unauthenticated: "
                                        f"{NO_HEADER}: {NO_HEADER}"), body
        assert response.headers.get("WWW-Authenticate") == body["message"]
    else:
        body = assert_denied(response)
        decision = check_decision(decisions, caller, op, op.name(ctx), False)
        detail = denial_detail(caller.user, op.namespace, op.verb, op.resource,
                               decision["name"])
        assert body["details"][0]["message"] == detail
        assert body["message"].endswith(f"PermissionDenied: {detail}: Unauthorized access"), body
        if op.wrap is not None:
            assert f"{op.wrap(ctx)}: PermissionDenied: " in body["message"], body
    if op.top:
        assert body["message"].startswith(op.top + ": "), body


# ---------------------------------------------------------------------------------------------
# Exact bodies from the spec's worked examples (section 5.2)


def test_denial_body_matches_the_worked_example(kfp_env: KfpTestEnv) -> None:
    world = World(kfp_env)
    exp = world.experiment()
    ok(world.owner.get(f"{V2}/experiments/{exp['experiment_id']}"))
    response = kfp_env.as_stranger().get(f"{V2}/experiments/{exp['experiment_id']}")
    detail = denial_detail(STRANGER, NS, "get", "experiments", exp["display_name"])
    body = assert_error(response, 403, 7, detail)
    assert body == {
        "code": 7,
        "message": ("Failed to fetch experiment: Failed to authorize the request: Failed to "
                    f"authorize with API: PermissionDenied: {detail}: Unauthorized access"),
        "details": [{"@type": "type.googleapis.com/google.rpc.Status", "code": 7,
                     "message": detail}],
    }
    assert response.headers["content-type"].startswith("application/json")
    assert "WWW-Authenticate" not in response.headers


def test_unauthenticated_body_matches_the_worked_example(kfp_env: KfpTestEnv) -> None:
    world = World(kfp_env)
    exp = world.experiment()
    ok(world.owner.get(f"{V2}/experiments/{exp['experiment_id']}"))
    response = kfp_env.as_anonymous().get(f"{V2}/experiments/{exp['experiment_id']}")
    body = assert_unauthenticated(response)
    assert body["message"] == (
        "Failed to fetch experiment: Failed to authorize the request: Failed to authorize with "
        f"API: Unauthenticated: {EMPTY_IDENTITY}: Unauthenticated: {NO_HEADER}: {NO_HEADER}")
    assert response.headers["WWW-Authenticate"] == body["message"]


# ---------------------------------------------------------------------------------------------
# Check order: 404 before 401, 400 before 401, 401 before 403 (spec 3.1 and 3.8)

MISSING = "00000000-0000-4000-8000-000000000000"

NOT_FOUND_CASES = [
    ("GET", f"{V2}/experiments/{MISSING}", "Experiment", "Failed to fetch experiment"),
    ("DELETE", f"{V2}/experiments/{MISSING}", "Experiment", "Failed to delete experiment"),
    ("POST", f"{V2}/experiments/{MISSING}:archive", "Experiment",
     "Failed to archive experiment"),
    ("POST", f"{V2}/experiments/{MISSING}:unarchive", "Experiment",
     "Failed to unarchive experiment"),
    ("GET", f"{V1}/experiments/{MISSING}", "Experiment", "Failed to fetch v1beta1 experiment"),
    ("GET", f"{V2}/runs/{MISSING}", "Run", "Failed to get a run"),
    ("DELETE", f"{V2}/runs/{MISSING}", "Run", "Failed to delete a run"),
    ("POST", f"{V2}/runs/{MISSING}:archive", "Run", "Failed to archive a run"),
    ("POST", f"{V2}/runs/{MISSING}:unarchive", "Run", "Failed to unarchive a run"),
    ("POST", f"{V2}/runs/{MISSING}:terminate", "Run", "Failed to terminate a run"),
    ("POST", f"{V2}/runs/{MISSING}:retry", "Run", "Failed to retry a run"),
    ("GET", f"{V1}/runs/{MISSING}", "Run", "Failed to get a v1beta1 run"),
    ("GET", f"{V2}/recurringruns/{MISSING}", "Job", "Failed to fetch a recurring run"),
    ("POST", f"{V2}/recurringruns/{MISSING}:enable", "Job", "Failed to enable a recurring run"),
    ("POST", f"{V2}/recurringruns/{MISSING}:disable", "Job",
     "Failed to disable a recurring run"),
    ("DELETE", f"{V2}/recurringruns/{MISSING}", "Job", "Failed to delete a recurring run"),
    ("GET", f"{V1}/jobs/{MISSING}", "Job", "Failed to fetch a v1beta1 recurring run"),
    ("GET", f"{V2}/pipelines/{MISSING}", "Pipeline", ""),
    ("DELETE", f"{V2}/pipelines/{MISSING}", "Pipeline", ""),
    ("GET", f"{V2}/pipelines/any/versions/{MISSING}", "PipelineVersion", ""),
    ("DELETE", f"{V2}/pipelines/any/versions/{MISSING}", "PipelineVersion", ""),
]


@pytest.mark.parametrize("caller", ["anonymous", "stranger", "owner"])
@pytest.mark.parametrize("method,path,kind,top", NOT_FOUND_CASES,
                         ids=[f"{c[0]} {c[1].replace(MISSING, '{missing}')}"
                              for c in NOT_FOUND_CASES])
def test_unknown_ids_are_404_before_authentication(kfp_env: KfpTestEnv, method: str, path: str,
                                                   kind: str, top: str, caller: str) -> None:
    world = World(kfp_env)
    session = {"anonymous": kfp_env.as_anonymous(), "stranger": kfp_env.as_stranger(),
               "owner": kfp_env.as_owner()}[caller]
    since = world.mark()
    body = assert_error(session.request(method, path), 404, 5, f"{kind} {MISSING} not found")
    if top:
        assert body["message"].startswith(top + ": "), body
    assert world.decisions(since) == []


def test_existing_ids_answer_401_where_unknown_ones_answer_404(kfp_env: KfpTestEnv) -> None:
    """The existence oracle of spec section 14: without credentials, 404 vs 401."""
    world = World(kfp_env)
    exp = world.experiment()
    anonymous = kfp_env.as_anonymous()
    assert_error(anonymous.get(f"{V2}/experiments/{MISSING}"), 404, 5)
    assert_unauthenticated(anonymous.get(f"{V2}/experiments/{exp['experiment_id']}"))
    assert_denied(kfp_env.as_stranger().get(f"{V2}/experiments/{exp['experiment_id']}"))


def test_unknown_parent_experiment_is_404_before_authentication(kfp_env: KfpTestEnv) -> None:
    world = World(kfp_env)
    exp = world.experiment()
    anonymous = kfp_env.as_anonymous()
    # Positive control: the same requests with an existing experiment reach authentication.
    assert_unauthenticated(anonymous.get(f"{V2}/runs", params={
        "experiment_id": exp["experiment_id"]}))
    cases = [
        anonymous.post(f"{V2}/runs", json={"display_name": "r", "experiment_id": MISSING,
                                           "pipeline_spec": SPEC}),
        anonymous.get(f"{V2}/runs", params={"experiment_id": MISSING}),
        anonymous.post(f"{V2}/recurringruns", json={
            "display_name": "rr", "experiment_id": MISSING, "pipeline_spec": SPEC,
            "trigger": {"periodic_schedule": {"interval_second": "60"}}}),
        anonymous.get(f"{V2}/recurringruns", params={"experiment_id": MISSING}),
        anonymous.get(f"{V1}/runs", params={"resource_reference_key.type": "EXPERIMENT",
                                            "resource_reference_key.id": MISSING}),
    ]
    for response in cases:
        assert_error(response, 404, 5, f"Experiment {MISSING} not found")


EMPTY_SCOPE_CASES = [
    ("GET", f"{V2}/experiments", None, None,
     "An experiment cannot have an empty namespace in multi-user mode",
     "List experiments failed: Failed to authorize with API: Invalid input error: An experiment "
     "cannot have an empty namespace in multi-user mode"),
    ("GET", f"{V2}/experiments", {"namespace": "-"}, None,
     "An experiment cannot have an empty namespace in multi-user mode", None),
    ("POST", f"{V2}/experiments", None, {"display_name": "e"},
     "An experiment cannot have an empty namespace in multi-user mode", None),
    ("GET", f"{V1}/experiments", None, None,
     "An experiment cannot have an empty namespace in multi-user mode", None),
    ("GET", f"{V2}/runs", None, None, "A run cannot have an empty namespace in multi-user mode",
     "Failed to list runs: Failed to list runs due to authorization error. Check if you have "
     "permission to access namespace : Invalid input error: A run cannot have an empty "
     "namespace in multi-user mode"),
    ("GET", f"{V2}/runs", {"namespace": "-"}, None,
     "A run cannot have an empty namespace in multi-user mode", None),
    ("GET", f"{V1}/runs", {"resource_reference_key.type": "JOB",
                           "resource_reference_key.id": "x"}, None,
     "A run cannot have an empty namespace in multi-user mode", None),
    ("POST", f"{V2}/runs", None, {"display_name": "r", "pipeline_spec": SPEC},
     "Experiment id can not be empty in multi-user mode",
     "Failed to create a new run: Failed to create a run due to invalid experimentId and "
     "namespace combination: Invalid input error: Experiment id can not be empty in multi-user "
     "mode"),
    ("GET", f"{V2}/recurringruns", None, None,
     "a recurring run cannot have an empty namespace in multi-user mode", None),
    ("POST", f"{V2}/recurringruns", None, {
        "display_name": "rr", "pipeline_spec": SPEC,
        "trigger": {"periodic_schedule": {"interval_second": "60"}}},
     "Experiment id can not be empty in multi-user mode", None),
    ("GET", f"{V1}/jobs", None, None,
     "a recurring run cannot have an empty namespace in multi-user mode", None),
]


@pytest.mark.parametrize("caller", ["anonymous", "stranger", "owner"])
@pytest.mark.parametrize("method,path,params,body,detail,message", EMPTY_SCOPE_CASES,
                         ids=[f"{c[0]} {c[1]} {sorted((c[2] or c[3] or {}).items())[:1]}"
                              for c in EMPTY_SCOPE_CASES])
def test_missing_scope_is_400_before_authentication(
        kfp_env: KfpTestEnv, method: str, path: str, params: dict[str, str] | None,
        body: dict[str, Any] | None, detail: str, message: str | None, caller: str) -> None:
    world = World(kfp_env)
    session = {"anonymous": kfp_env.as_anonymous(), "stranger": kfp_env.as_stranger(),
               "owner": kfp_env.as_owner()}[caller]
    since = world.mark()
    error = assert_error(session.request(method, path, params=params, json=body), 400, 3,
                         detail)
    if message is not None:
        assert error["message"] == message
    assert world.decisions(since) == []


def test_mismatched_v1_namespace_reference_is_400_before_authentication(
        kfp_env: KfpTestEnv) -> None:
    world = World(kfp_env)
    exp = world.experiment()
    body = {"name": "r", "pipeline_spec": {"pipeline_manifest": SPEC_TEXT},
            "resource_references": [v1_ref("EXPERIMENT", exp["experiment_id"]),
                                    v1_ref("NAMESPACE", "bob")]}
    for session in (kfp_env.as_anonymous(), kfp_env.as_stranger(), kfp_env.as_owner()):
        assert_error(session.post(f"{V1}/runs", json=body), 400, 3,
                     f"Experiment {exp['experiment_id']} belongs to namespace '{NS}' instead "
                     "of 'bob'")
    # Positive control: the matching reference is accepted for the owner.
    body["resource_references"][1] = v1_ref("NAMESPACE", NS)
    ok(kfp_env.as_owner().post(f"{V1}/runs", json=body))


def test_unauthenticated_comes_before_permission_denied(kfp_env: KfpTestEnv) -> None:
    """Bob's namespace and an unknown identity: the missing identity is reported, not 403."""
    world = World(kfp_env)
    bob = kfp_env.as_stranger()
    exp = world.experiment(namespace="bob", session=bob)
    ok(bob.get(f"{V2}/experiments/{exp['experiment_id']}"))
    assert_denied(kfp_env.as_owner().get(f"{V2}/experiments/{exp['experiment_id']}"))
    garbage = requests.Session()
    garbage.headers["Authorization"] = "Bearer not-a-token"
    assert_unauthenticated(garbage.get(f"{kfp_env.url}{V2}/experiments/"
                                       f"{exp['experiment_id']}"))
    assert_unauthenticated(kfp_env.as_anonymous().get(
        f"{V2}/experiments", params={"namespace": "bob"}))


# ---------------------------------------------------------------------------------------------
# RBAC variations: custom Roles, Group subjects, ClusterRoleBindings, removed contributors

CAROL2 = "carol2@example.com"


def test_custom_role_with_partial_verbs(kfp_env: KfpTestEnv) -> None:
    world = World(kfp_env)
    exps = [world.experiment() for _ in range(4)]
    ok(world.owner.post(f"{V2}/experiments/{exps[3]['experiment_id']}:archive"))
    run = world.run(exps[0]["experiment_id"])
    carol2 = kfp_env.as_user(CAROL2)
    # Before any binding she is a stranger.
    assert_denied(carol2.get(f"{V2}/experiments/{exps[0]['experiment_id']}"))

    rbac = kfp_env.emulator.cluster.rbac
    with kfp_env.emulator.kfp.state.lock:
        rbac.put_role(Role(NS, "experiment-archiver", [
            PolicyRule((GROUP,), ("experiments",), ("get", "list", "archive"))]))
        rbac.put_binding(RoleBinding(NS, "carol2-archiver",
                                     RoleRef("Role", "experiment-archiver"),
                                     [Subject("User", CAROL2)]))

    ok(carol2.get(f"{V2}/experiments/{exps[0]['experiment_id']}"))
    listed = ok(carol2.get(f"{V2}/experiments", params={"namespace": NS}))
    assert len(listed["experiments"]) == 4
    ok(carol2.post(f"{V2}/experiments/{exps[1]['experiment_id']}:archive"))
    assert ok(world.owner.get(f"{V2}/experiments/{exps[1]['experiment_id']}"))[
        "storage_state"] == "ARCHIVED"

    # Delete: the owner can (control), carol2 cannot, and the experiment survives.
    ok(world.owner.delete(f"{V2}/experiments/{exps[2]['experiment_id']}"))
    since = world.mark()
    body = assert_denied(carol2.delete(f"{V2}/experiments/{exps[0]['experiment_id']}"))
    assert body["details"][0]["message"] == denial_detail(
        CAROL2, NS, "delete", "experiments", exps[0]["display_name"])
    assert [(d["user"], d["verb"], d["allowed"]) for d in world.decisions(since)] == [
        (CAROL2, "delete", False)]
    ok(world.owner.get(f"{V2}/experiments/{exps[0]['experiment_id']}"))

    # Verbs and resources outside the rule stay denied.
    assert_denied(carol2.post(f"{V2}/experiments/{exps[3]['experiment_id']}:unarchive"))
    assert_denied(carol2.post(f"{V2}/experiments", json={"display_name": "x",
                                                          "namespace": NS}))
    ok(world.owner.get(f"{V2}/runs/{run['run_id']}"))
    assert_denied(carol2.get(f"{V2}/runs/{run['run_id']}"))
    assert_denied(carol2.get(f"{V2}/experiments", params={"namespace": "bob"}))


def test_role_restricted_to_resource_names(kfp_env: KfpTestEnv) -> None:
    world = World(kfp_env)
    first, second = world.experiment(), world.experiment()
    with kfp_env.emulator.kfp.state.lock:
        kfp_env.emulator.cluster.rbac.put_role(Role(NS, "one-experiment", [
            PolicyRule((GROUP,), ("experiments",), ("get",),
                       resource_names=(first["display_name"],))]))
        kfp_env.emulator.cluster.rbac.put_binding(RoleBinding(
            NS, "carol2-one", RoleRef("Role", "one-experiment"), [Subject("User", CAROL2)]))
    carol2 = kfp_env.as_user(CAROL2)
    ok(carol2.get(f"{V2}/experiments/{first['experiment_id']}"))
    ok(world.owner.get(f"{V2}/experiments/{second['experiment_id']}"))
    assert_denied(carol2.get(f"{V2}/experiments/{second['experiment_id']}"))
    # A list SAR carries no name, so a resourceNames rule never grants it.
    assert_denied(carol2.get(f"{V2}/experiments", params={"namespace": NS}))


def test_group_subjects_never_match(kfp_env: KfpTestEnv) -> None:
    world = World(kfp_env)
    exp = world.experiment()
    path = f"{V2}/experiments/{exp['experiment_id']}"
    ok(world.owner.get(path))
    with kfp_env.emulator.kfp.state.lock:
        kfp_env.emulator.cluster.rbac.put_binding(RoleBinding(
            NS, "team-edit", RoleRef("ClusterRole", "kubeflow-edit"),
            [Subject("Group", "team@example.com"), Subject("Group", "system:authenticated"),
             Subject("Group", "system:serviceaccounts:bob"),
             Subject("Group", "system:serviceaccounts")]))
    # Bob's SA token carries the groups system:serviceaccounts[:bob]; SARs send no groups.
    assert_denied(kfp_env.as_service_account("bob").get(path))
    assert_denied(kfp_env.as_user("team@example.com").get(path))
    assert_denied(kfp_env.as_user(CAROL2).get(path))
    # The same ClusterRole bound to the User subject does grant access (the binding is sound).
    with kfp_env.emulator.kfp.state.lock:
        kfp_env.emulator.cluster.rbac.put_binding(RoleBinding(
            NS, "carol2-edit", RoleRef("ClusterRole", "kubeflow-edit"),
            [Subject("User", CAROL2)]))
    ok(kfp_env.as_user(CAROL2).get(path))


def test_cluster_role_binding_grants_in_every_namespace(kfp_env: KfpTestEnv) -> None:
    world = World(kfp_env)
    alice_exp = world.experiment()
    bob_exp = world.experiment(namespace="bob", session=kfp_env.as_stranger())
    auditor = kfp_env.as_user("auditor@example.com")
    assert_denied(auditor.get(f"{V2}/experiments/{alice_exp['experiment_id']}"))
    with kfp_env.emulator.kfp.state.lock:
        kfp_env.emulator.cluster.rbac.put_cluster_binding(ClusterRoleBinding(
            "auditors", RoleRef("ClusterRole", "kubeflow-view"),
            [Subject("User", "auditor@example.com")]))
    ok(auditor.get(f"{V2}/experiments/{alice_exp['experiment_id']}"))
    ok(auditor.get(f"{V2}/experiments/{bob_exp['experiment_id']}"))
    ok(kfp_env.as_stranger().post(f"{V2}/experiments/{bob_exp['experiment_id']}:archive"))
    assert_denied(auditor.post(f"{V2}/experiments/{alice_exp['experiment_id']}:archive"))
    assert ok(world.owner.get(f"{V2}/experiments/{alice_exp['experiment_id']}"))[
        "storage_state"] == "AVAILABLE"


def test_removed_contributor_loses_access(kfp_env: KfpTestEnv) -> None:
    world = World(kfp_env)
    exp = world.experiment()
    path = f"{V2}/experiments/{exp['experiment_id']}"
    carol = kfp_env.as_contributor()
    ok(carol.get(path))
    ok(world.control.delete(f"{kfp_env.url}/_emulator/profiles/{NS}/contributors",
                            json={"email": CONTRIBUTOR, "role": "edit"}))
    ok(world.owner.get(path))
    assert_denied(carol.get(path))
    assert_denied(carol.delete(path))
    ok(world.owner.get(path))


# ---------------------------------------------------------------------------------------------
# Shared pipelines and cross-namespace pipeline references


def test_shared_pipelines_are_readable_without_identity(kfp_env: KfpTestEnv) -> None:
    world = World(kfp_env)
    pipeline, version = world.pipeline(shared=True)
    private, _ = world.pipeline()
    anonymous = kfp_env.as_anonymous()
    since = world.mark()
    got = ok(anonymous.get(f"{V2}/pipelines/{pipeline['pipeline_id']}"))
    assert got["pipeline_id"] == pipeline["pipeline_id"] and "namespace" not in got
    ok(anonymous.get(f"{V2}/pipelines/{pipeline['pipeline_id']}/versions/"
                     f"{version['pipeline_version_id']}"))
    listed = ok(anonymous.get(f"{V2}/pipelines"))
    # The shared listing holds shared pipelines only; the namespaced one is not in it.
    assert [p["pipeline_id"] for p in listed["pipelines"]] == [pipeline["pipeline_id"]]
    assert world.decisions(since) == []
    # The private pipeline is not readable anonymously (control for the leak check above).
    ok(world.owner.get(f"{V2}/pipelines/{private['pipeline_id']}"))
    assert_unauthenticated(anonymous.get(f"{V2}/pipelines/{private['pipeline_id']}"))
    assert_unauthenticated(anonymous.get(f"{V2}/pipelines", params={"namespace": NS}))


def test_shared_pipeline_writes_are_authorized_in_the_system_namespace(
        kfp_env: KfpTestEnv) -> None:
    world = World(kfp_env)
    pipeline, _ = world.pipeline(shared=True)
    path = f"{V2}/pipelines/{pipeline['pipeline_id']}"
    # The namespace owner has no rights in "kubeflow": her shared write is denied there.
    since = world.mark()
    body = assert_denied(world.owner.delete(path, params={"cascade": "true"}))
    assert body["details"][0]["message"] == denial_detail(
        OWNER, SYSTEM_NS, "delete", "pipelines", pipeline["name"])
    assert [(d["namespace"], d["verb"], d["allowed"]) for d in world.decisions(since)] == [
        (SYSTEM_NS, "delete", False)]
    ok(kfp_env.as_anonymous().get(path))
    # A second user bound to kubeflow-edit in "kubeflow" may write shared pipelines.
    with kfp_env.emulator.kfp.state.lock:
        kfp_env.emulator.cluster.rbac.put_binding(RoleBinding(
            SYSTEM_NS, "ops-edit", RoleRef("ClusterRole", "kubeflow-edit"),
            [Subject("User", "ops@example.com")]))
    ok(kfp_env.as_user("ops@example.com").delete(path, params={"cascade": "true"}))
    assert_error(kfp_env.as_anonymous().get(path), 404, 5,
                 f"Pipeline {pipeline['pipeline_id']} not found")


def test_get_by_name_without_namespace_never_returns_a_namespaced_pipeline(
        kfp_env: KfpTestEnv) -> None:
    """ISO-027 secure default: the no-namespace lookup is restricted to shared pipelines."""
    world = World(kfp_env)
    private, _ = world.pipeline()
    name = private["name"]
    got = ok(world.owner.get(f"{V2}/pipelines/names/{name}", params={"namespace": NS}))
    assert got["pipeline_id"] == private["pipeline_id"]
    for session in (kfp_env.as_anonymous(), kfp_env.as_stranger(), world.owner):
        assert_error(session.get(f"{V2}/pipelines/names/{name}"), 404, 5)
    # A shared pipeline of the same name is what the no-namespace lookup finds.
    shared = ok(world.admin.post(f"{V2}/pipelines", json={"name": name, "display_name": name}))
    for session in (kfp_env.as_anonymous(), kfp_env.as_stranger(), world.owner):
        got = ok(session.get(f"{V2}/pipelines/names/{name}"))
        assert got["pipeline_id"] == shared["pipeline_id"] and "namespace" not in got


def _v2_run_from(experiment_id: str, pipeline: dict[str, Any],
                 version: dict[str, Any]) -> dict[str, Any]:
    return {"display_name": unique("run"), "experiment_id": experiment_id,
            "pipeline_version_reference": {"pipeline_id": pipeline["pipeline_id"],
                                           "pipeline_version_id":
                                               version["pipeline_version_id"]}}


def test_run_cannot_reference_another_namespaces_private_pipeline(kfp_env: KfpTestEnv) -> None:
    """ISO-007 secure default (KFP 2.18): the referenced pipeline must be readable too."""
    world = World(kfp_env)
    bob = kfp_env.as_stranger()
    bob_pipeline, bob_version = world.pipeline(namespace="bob", session=bob)
    bob_exp = world.experiment(namespace="bob", session=bob)
    alice_exp = world.experiment()
    alice_pipeline, alice_version = world.pipeline()
    shared_pipeline, shared_version = world.pipeline(shared=True)
    runs_of_alice = f"{V2}/runs?experiment_id={alice_exp['experiment_id']}"

    # Controls: Bob runs his own pipeline; Alice runs hers and a shared one.
    ok(bob.post(f"{V2}/runs", json=_v2_run_from(bob_exp["experiment_id"], bob_pipeline,
                                                bob_version)))
    ok(world.owner.post(f"{V2}/runs", json=_v2_run_from(alice_exp["experiment_id"],
                                                        alice_pipeline, alice_version)))
    ok(world.owner.post(f"{V2}/runs", json=_v2_run_from(alice_exp["experiment_id"],
                                                        shared_pipeline, shared_version)))
    assert world.total(runs_of_alice) == 2

    since = world.mark()
    body = assert_denied(world.owner.post(f"{V2}/runs", json=_v2_run_from(
        alice_exp["experiment_id"], bob_pipeline, bob_version)))
    assert body["details"][0]["message"] == denial_detail(OWNER, "bob", "get", "pipelines",
                                                          bob_pipeline["name"])
    assert world.decisions(since)[-1]["namespace"] == "bob"
    # v1 form and recurring runs are checked the same way.
    assert_denied(world.owner.post(f"{V1}/runs", json={
        "name": unique("run"),
        "resource_references": [v1_ref("EXPERIMENT", alice_exp["experiment_id"]),
                                v1_ref("PIPELINE_VERSION", bob_version["pipeline_version_id"],
                                       "CREATOR")]}))
    recurring = _v2_run_from(alice_exp["experiment_id"], bob_pipeline, bob_version)
    recurring["trigger"] = {"periodic_schedule": {"interval_second": "3600"}}
    assert_denied(world.owner.post(f"{V2}/recurringruns", json=recurring))
    assert world.total(runs_of_alice) == 2
    assert world.total(f"{V2}/recurringruns?experiment_id={alice_exp['experiment_id']}") == 0

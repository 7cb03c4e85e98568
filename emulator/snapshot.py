"""Export and import the whole emulator state as JSON (a portable reproduction of a scenario).

The token signing key is deliberately not exported: tokens are credentials, and a snapshot is
meant to be attached to bug reports.  Tokens must be minted again after an import.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from emulator.kfp.models import (
    Experiment,
    Pipeline,
    PipelineSource,
    PipelineVersion,
    RecurringRun,
    Run,
    RunMetric,
    RuntimeState,
    StateChange,
    StorageState,
    Trigger,
)
from emulator.kfp.server import KfpApiServer
from emulator.kube.cluster import Cluster, Namespace, Profile, ServiceAccount
from emulator.kube.rbac import (
    ClusterRole,
    ClusterRoleBinding,
    PolicyRule,
    RbacStore,
    Role,
    RoleBinding,
    RoleRef,
    Subject,
)

FORMAT_VERSION = 1


class SnapshotError(ValueError):
    pass


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (StorageState, RuntimeState)):
        return obj.value
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def export_state(cluster: Cluster, kfp: KfpApiServer, now: float) -> dict[str, Any]:
    state = kfp.state
    with state.lock:
        return {
            "format": FORMAT_VERSION,
            "clock": now,
            "config": state.config.as_dict(),
            "cluster": {
                "namespaces": [_plain(n) for n in cluster.namespaces.values()],
                "service_accounts": [_plain(a) for accounts in cluster.service_accounts.values()
                                     for a in accounts.values()],
                "profiles": [_plain(p) for p in cluster.profiles.values()],
                "cluster_roles": [_role(r) for r in cluster.rbac.cluster_roles.values()],
                "roles": [_role(r) for roles in cluster.rbac.roles.values()
                          for r in roles.values()],
                "role_bindings": [_plain(b) for bindings in cluster.rbac.bindings.values()
                                  for b in bindings.values()],
                "cluster_role_bindings": [_plain(b) for b in
                                          cluster.rbac.cluster_bindings.values()],
            },
            "kfp": {
                "experiments": [_plain(e) for e in state.experiments],
                "runs": [_plain(r) for r in state.runs],
                "recurring_runs": [_plain(j) for j in state.recurring_runs],
                "pipelines": [_plain(p) for p in state.pipelines],
                "pipeline_versions": [_plain(v) for v in state.versions.by_id.values()],
                "default_experiment_id": state.default_experiment_id,
            },
        }


def _role(role: ClusterRole | Role) -> dict[str, Any]:
    data = _plain(role)
    data["rules"] = [rule.to_k8s() for rule in role.rules]
    return data


def import_state(cluster: Cluster, kfp: KfpApiServer, data: Any) -> float:
    """Replace everything with ``data``; returns the snapshot's clock. All-or-nothing."""
    if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
        raise SnapshotError(f"not a kfp-isolation snapshot of format {FORMAT_VERSION}")
    try:
        built = _build(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SnapshotError(f"malformed snapshot: {exc!r}") from None
    state = kfp.state
    with state.lock:
        state.clear()
        cluster.namespaces = built["namespaces"]
        cluster.service_accounts = built["service_accounts"]
        cluster.profiles = built["profiles"]
        rbac = RbacStore()
        rbac.cluster_roles, rbac.roles = built["cluster_roles"], built["roles"]
        rbac.bindings, rbac.cluster_bindings = built["bindings"], built["cluster_bindings"]
        cluster.rbac.replace_all(rbac)
        for collection, store in (("experiments", state.experiments), ("runs", state.runs),
                                  ("recurring_runs", state.recurring_runs),
                                  ("pipelines", state.pipelines)):
            for obj in built[collection]:
                store.add(obj)
        for version in built["versions"]:
            state.versions.add(version)
        state.default_experiment_id = built["default_experiment_id"]
    return float(data.get("clock", 0.0))


def resume_timers(kfp: KfpApiServer) -> None:
    """Re-arm the lifecycle of active runs and the triggers of enabled recurring runs."""
    for run in kfp.state.runs:
        kfp.lifecycle.resume(run)
    for recurring in kfp.state.recurring_runs:
        kfp.lifecycle.arm(recurring)


def _source(d: dict[str, Any]) -> PipelineSource:
    return PipelineSource(**d)


def _build(data: dict[str, Any]) -> dict[str, Any]:
    c, k = data["cluster"], data["kfp"]
    accounts: dict[str, dict[str, ServiceAccount]] = {}
    for a in c["service_accounts"]:
        accounts.setdefault(a["namespace"], {})[a["name"]] = ServiceAccount(**a)
    roles: dict[str, dict[str, Role]] = {}
    for r in c["roles"]:
        roles.setdefault(r["namespace"], {})[r["name"]] = Role(
            r["namespace"], r["name"], [PolicyRule.from_k8s(x) for x in r["rules"]])
    bindings: dict[str, dict[str, RoleBinding]] = {}
    for b in c["role_bindings"]:
        bindings.setdefault(b["namespace"], {})[b["name"]] = RoleBinding(
            b["namespace"], b["name"], RoleRef(**b["role_ref"]),
            [Subject(**s) for s in b["subjects"]], dict(b["annotations"]), dict(b["labels"]))
    runs = []
    for r in k["runs"]:
        r = dict(r)
        r["source"] = _source(r["source"])
        r["state"] = RuntimeState(r["state"])
        r["outcome"] = RuntimeState(r["outcome"])
        r["storage_state"] = StorageState(r["storage_state"])
        r["state_history"] = [StateChange(s["at"], RuntimeState(s["state"]))
                              for s in r["state_history"]]
        r["metrics"] = [RunMetric(**m) for m in r["metrics"]]
        runs.append(Run(**r))
    recurring = []
    for j in k["recurring_runs"]:
        j = dict(j)
        j["source"] = _source(j["source"])
        j["trigger"] = Trigger(**j["trigger"])
        recurring.append(RecurringRun(**j))
    experiments = []
    for e in k["experiments"]:
        e = dict(e)
        e["storage_state"] = StorageState(e["storage_state"])
        experiments.append(Experiment(**e))
    return {
        "namespaces": {n["name"]: Namespace(**n) for n in c["namespaces"]},
        "service_accounts": accounts,
        "profiles": {p["name"]: Profile(**p) for p in c["profiles"]},
        "cluster_roles": {r["name"]: ClusterRole(
            r["name"], [PolicyRule.from_k8s(x) for x in r["rules"]], dict(r["labels"]),
            [dict(s) for s in r["aggregate_from"]]) for r in c["cluster_roles"]},
        "roles": roles,
        "bindings": bindings,
        "cluster_bindings": {b["name"]: ClusterRoleBinding(
            b["name"], RoleRef(**b["role_ref"]), [Subject(**s) for s in b["subjects"]])
            for b in c["cluster_role_bindings"]},
        "experiments": experiments,
        "runs": runs,
        "recurring_runs": recurring,
        "pipelines": [Pipeline(**p) for p in k["pipelines"]],
        "versions": [PipelineVersion(**v) for v in k["pipeline_versions"]],
        "default_experiment_id": str(k.get("default_experiment_id", "")),
    }

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
from emulator.kube.cluster import Cluster, ClusterError
from emulator.kube.manifests import BY_KIND, from_manifest, to_manifest

FORMAT_VERSION = 2


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
                "resource_version": cluster.resource_version,
                "objects": [to_manifest(obj) for obj in cluster_objects(cluster)],
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


def cluster_objects(cluster: Cluster) -> list[Any]:
    """Every stored object, in an order a restore can follow (namespaces first)."""
    rbac = cluster.rbac
    return [
        *cluster.namespaces.values(),
        *(a for accounts in cluster.service_accounts.values() for a in accounts.values()),
        *(s for secrets in cluster.secrets.values() for s in secrets.values()),
        *(c for config_maps in cluster.config_maps.values() for c in config_maps.values()),
        *rbac.cluster_roles.values(),
        *rbac.cluster_bindings.values(),
        *(r for roles in rbac.roles.values() for r in roles.values()),
        *(b for bindings in rbac.bindings.values() for b in bindings.values()),
        *cluster.profiles.values(),
    ]


def import_state(cluster: Cluster, kfp: KfpApiServer, data: Any) -> float:
    """Replace everything with ``data``; returns the snapshot's clock. All-or-nothing."""
    if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
        raise SnapshotError(f"not a kfp-isolation snapshot of format {FORMAT_VERSION}")
    try:
        # Read everything before anything changes: a bad entry leaves the state untouched.
        built = _build(data)
        objects = [from_manifest(entry, BY_KIND[entry["kind"]][0], restore=True)
                   for entry in data["cluster"]["objects"]]
        resource_version = int(data["cluster"].get("resource_version", 0))
        clock = float(data.get("clock", 0.0))
    except (KeyError, TypeError, ValueError, AttributeError, ClusterError) as exc:
        raise SnapshotError(f"malformed snapshot: {exc!r}") from None
    state = kfp.state
    with state.lock:
        state.clear()
        cluster.restore(objects, resource_version)
        for collection, store in (("experiments", state.experiments), ("runs", state.runs),
                                  ("recurring_runs", state.recurring_runs),
                                  ("pipelines", state.pipelines)):
            for obj in built[collection]:
                store.add(obj)
        for version in built["versions"]:
            state.versions.add(version)
        state.default_experiment_id = built["default_experiment_id"]
    return clock


def resume_timers(kfp: KfpApiServer) -> None:
    """Re-arm the lifecycle of active runs and the triggers of enabled recurring runs."""
    for run in kfp.state.runs:
        kfp.lifecycle.resume(run)
    for recurring in kfp.state.recurring_runs:
        kfp.lifecycle.arm(recurring)


def _source(d: dict[str, Any]) -> PipelineSource:
    return PipelineSource(**d)


def _build(data: dict[str, Any]) -> dict[str, Any]:
    k = data["kfp"]
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
        "experiments": experiments,
        "runs": runs,
        "recurring_runs": recurring,
        "pipelines": [Pipeline(**p) for p in k["pipelines"]],
        "versions": [PipelineVersion(**v) for v in k["pipeline_versions"]],
        "default_experiment_id": str(k.get("default_experiment_id", "")),
    }

"""Export and import the whole emulator state as JSON (a portable reproduction of a scenario).

Format 3 holds the control plane (cluster objects, KFP's records) and the data plane a tenant
can read: ``workloads`` (the execution engine's workflow records, their pods and the pods' log
text), ``objects`` (the object store's buckets, every object's bytes, the per-namespace IAM
users) and ``metadata`` (the ML Metadata store).  Format 2 (no data plane) still imports: the
data plane is then empty, and the IAM users are read back from the namespaces' Secrets.

The token signing key and the gateway's login sessions are deliberately not exported: tokens
are credentials, and a snapshot is meant to be attached to bug reports.  Tokens must be minted
again after an import.  Secrets are exported with their data, and so are the IAM users' keys
(the same keys those Secrets hold).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emulator.execution.engine import ExecutionEngine
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
from emulator.kube.cluster import Cluster, ClusterError, Secret
from emulator.kube.manifests import BY_KIND, from_manifest, to_manifest
from emulator.mlmd.store import MetadataStore
from emulator.objectstore.models import ROOT_ACCESS_KEY, ObjectStore
from emulator.objectstore.provisioning import SECRET_NAME, secret_credentials

FORMAT_VERSION = 3
# Formats import_state reads (2: without the data plane).
READABLE_FORMATS = (2, 3)


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


@dataclass(frozen=True)
class DataPlane:
    """The emulator's parts beside the API server and the cluster (None: not attached)."""

    engine: ExecutionEngine | None = None
    object_store: ObjectStore | None = None
    metadata: MetadataStore | None = None


def data_plane(kfp: KfpApiServer) -> DataPlane:
    """Found from the execution engine attached to ``kfp`` (it knows its emulator)."""
    engine = kfp.state.executor
    if not isinstance(engine, ExecutionEngine):
        return DataPlane()
    emulator = engine.emulator
    return DataPlane(engine, getattr(emulator, "object_store", None),
                     getattr(emulator, "metadata", None))


def export_state(cluster: Cluster, kfp: KfpApiServer, now: float,
                 plane: DataPlane | None = None) -> dict[str, Any]:
    """Everything as plain JSON, in time linear in the state's size."""
    plane = plane or data_plane(kfp)
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
            "workloads": (plane.engine.export_workloads() if plane.engine is not None
                          else {"workflows": []}),
            "objects": (plane.object_store.export() if plane.object_store is not None
                        else {"buckets": [], "users": []}),
            "metadata": (plane.metadata if plane.metadata is not None
                         else MetadataStore(lambda: now)).export(),
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


def import_state(cluster: Cluster, kfp: KfpApiServer, data: Any,
                 plane: DataPlane | None = None) -> float:
    """Replace everything with ``data``; returns the snapshot's clock. All-or-nothing."""
    if not isinstance(data, dict) or data.get("format") not in READABLE_FORMATS:
        raise SnapshotError(f"not a kfp-isolation snapshot of format {FORMAT_VERSION} "
                            f"(or {READABLE_FORMATS[0]})")
    plane = plane or data_plane(kfp)
    try:
        # Read everything before anything changes: a bad entry leaves the state untouched.
        built = _build(data)
        objects = [from_manifest(entry, BY_KIND[entry["kind"]][0], restore=True)
                   for entry in data["cluster"]["objects"]]
        resource_version = int(data["cluster"].get("resource_version", 0))
        clock = float(data.get("clock", 0.0))
        installs = _data_plane_installs(data, plane, built, objects)
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
        for install in installs:
            install()
    return clock


def _data_plane_installs(data: dict[str, Any], plane: DataPlane, built: dict[str, Any],
                         objects: list[Any]) -> list[Callable[[], None]]:
    """The calls that put the snapshot's data plane in place (read and checked now).  A format 2
    snapshot has none: the stores are emptied, and the IAM users come from the Secrets."""
    installs: list[Callable[[], None]] = []
    current = data["format"] == FORMAT_VERSION
    if plane.engine is not None and current:
        runs = {run.id: run for run in built["runs"]}
        installs.append(plane.engine.workloads_restorer(data["workloads"], runs))
    if plane.object_store is not None:
        stored = data["objects"] if current else {"buckets": [],
                                                  "users": _users_of_secrets(objects)}
        installs.append(plane.object_store.restorer(stored))
    if plane.metadata is not None:
        installs.append(plane.metadata.restorer(data["metadata"]) if current
                        else plane.metadata.clear)
    return installs


def _users_of_secrets(objects: list[Any]) -> list[dict[str, str]]:
    """Per-namespace IAM users as the profile controller left them in each namespace's
    ``mlpipeline-minio-artifact`` (none where it holds the shared root pair)."""
    users = []
    for obj in objects:
        if isinstance(obj, Secret) and obj.name == SECRET_NAME:
            try:
                access_key, secret_key = secret_credentials(obj)
            except ValueError:  # not text (e.g. a redacted value): no user
                continue
            if access_key and access_key != ROOT_ACCESS_KEY:
                users.append({"namespace": obj.namespace, "username": obj.namespace,
                              "access_key": access_key, "secret_key": secret_key})
    return users


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

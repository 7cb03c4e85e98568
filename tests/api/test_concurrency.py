"""Concurrent clients against one emulator server leave a consistent state.

Eight client threads (each with its own HTTP session, identity and name prefix) perform 1,000
mixed operations each: creates, archives, unarchives, deletes, reads and lists of experiments and
runs in two namespaces, while one of them also moves the clock. Each thread owns what it creates,
so it can predict every answer exactly and keeps a model of its objects. At the end the exported
state must equal the union of the models (no lost or phantom write, every storage state right),
and list totals must equal what exists.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

import requests

from emulator.testing import (
    CONTRIBUTOR,
    OWNER,
    OWNER_NAMESPACE,
    STRANGER,
    STRANGER_NAMESPACE,
    KfpTestEnv,
)

V2 = "/apis/v2beta1"
THREADS = 8
OPS_PER_THREAD = 1000
SPEC = {"pipelineInfo": {"name": "busy"}, "root": {"dag": {"tasks": {}}},
        "schemaVersion": "2.1.0", "sdkVersion": "kfp-2.17.3"}
# (operation, weight)
MIX = [("create_experiment", 20), ("create_run", 20), ("archive_experiment", 4),
       ("unarchive_experiment", 3), ("archive_run", 7), ("unarchive_run", 6),
       ("delete_experiment", 6), ("delete_run", 8), ("get", 10), ("list", 14), ("walk", 2)]


@dataclass
class Model:
    """What one client thread believes about the objects it owns."""

    namespace: str
    experiments: dict[str, bool] = field(default_factory=dict)  # id -> archived
    runs: dict[str, tuple[str, bool]] = field(default_factory=dict)  # id -> (exp, archived)
    deleted_experiments: set[str] = field(default_factory=set)
    deleted_runs: set[str] = field(default_factory=set)


class Client(threading.Thread):
    def __init__(self, env: KfpTestEnv, index: int, user: str, namespace: str,
                 barrier: threading.Barrier) -> None:
        super().__init__(name=f"client-{index}", daemon=True)
        self.env = env
        self.index = index
        self.user = user
        self.prefix = f"c{index}x"
        self.model = Model(namespace)
        self.random = random.Random(1000 + index)
        self.barrier = barrier
        self.failures: list[str] = []
        self.counter = 0
        self.session: requests.Session | None = None

    # -- plumbing ------------------------------------------------------------------------------

    def call(self, method: str, path: str, expected: int = 200, **kwargs: Any) -> Any:
        assert self.session is not None
        response = self.session.request(method, path, timeout=30, **kwargs)
        if response.status_code != expected:
            raise AssertionError(f"{method} {path} {kwargs.get('params', '')}: expected "
                                 f"{expected}, got {response.status_code}: {response.text[:300]}")
        return response.json()

    def run(self) -> None:
        self.session = self.env.as_user(self.user)
        operations = [name for name, _ in MIX]
        weights = [weight for _, weight in MIX]
        self.barrier.wait()
        try:
            for step in range(OPS_PER_THREAD):
                getattr(self, self.random.choices(operations, weights)[0])()
                if self.index == 0 and step % 100 == 99:
                    self.env.advance(1)  # run lifecycles and created_at move on
        except Exception as exc:  # reported by the test, with the thread's name
            self.failures.append(f"{self.name}: {type(exc).__name__}: {exc}")
        finally:
            self.session.close()

    def pick(self, pool: dict[str, Any]) -> str | None:
        return self.random.choice(sorted(pool)) if pool else None

    # -- operations ----------------------------------------------------------------------------

    def create_experiment(self) -> None:
        self.counter += 1
        body = self.call("POST", f"{V2}/experiments", json={
            "display_name": f"{self.prefix}{self.counter}", "namespace": self.model.namespace})
        assert body["namespace"] == self.model.namespace and body["storage_state"] == "AVAILABLE"
        self.model.experiments[body["experiment_id"]] = False

    def create_run(self) -> None:
        experiment = self.pick(self.model.experiments)
        if experiment is None:
            self.create_experiment()
            return
        self.counter += 1
        body = self.call("POST", f"{V2}/runs", json={
            "display_name": f"{self.prefix}{self.counter}", "experiment_id": experiment,
            "pipeline_spec": SPEC})
        assert body["experiment_id"] == experiment and body["storage_state"] == "AVAILABLE"
        self.model.runs[body["run_id"]] = (experiment, False)

    def archive_experiment(self) -> None:
        experiment = self.pick(self.model.experiments)
        if experiment is None:
            return
        self.call("POST", f"{V2}/experiments/{experiment}:archive")
        self.model.experiments[experiment] = True
        for run, (parent, _) in list(self.model.runs.items()):
            if parent == experiment:
                self.model.runs[run] = (parent, True)

    def unarchive_experiment(self) -> None:
        experiment = self.pick(self.model.experiments)
        if experiment is None:
            return
        self.call("POST", f"{V2}/experiments/{experiment}:unarchive")
        self.model.experiments[experiment] = False  # its runs stay archived

    def archive_run(self) -> None:
        run = self.pick(self.model.runs)
        if run is None:
            return
        self.call("POST", f"{V2}/runs/{run}:archive")
        self.model.runs[run] = (self.model.runs[run][0], True)

    def unarchive_run(self) -> None:
        run = self.pick(self.model.runs)
        if run is None:
            return
        parent = self.model.runs[run][0]
        if self.model.experiments.get(parent, False):
            body = self.call("POST", f"{V2}/runs/{run}:unarchive", expected=400)
            assert body["code"] == 9, body
            return
        self.call("POST", f"{V2}/runs/{run}:unarchive")
        self.model.runs[run] = (parent, False)

    def delete_experiment(self) -> None:
        experiment = self.pick(self.model.experiments)
        if experiment is None:
            return
        self.call("DELETE", f"{V2}/experiments/{experiment}")
        del self.model.experiments[experiment]
        self.model.deleted_experiments.add(experiment)
        # Its runs remain, as in the SQL store.

    def delete_run(self) -> None:
        run = self.pick(self.model.runs)
        if run is None:
            return
        self.call("DELETE", f"{V2}/runs/{run}")
        del self.model.runs[run]
        self.model.deleted_runs.add(run)

    def get(self) -> None:
        """Reads see this client's own writes, and deletions stay deleted."""
        choice = self.random.random()
        if choice < 0.4 and self.model.experiments:
            experiment = self.pick(self.model.experiments)
            body = self.call("GET", f"{V2}/experiments/{experiment}")
            archived = self.model.experiments[str(experiment)]
            assert body["storage_state"] == ("ARCHIVED" if archived else "AVAILABLE"), body
        elif choice < 0.8 and self.model.runs:
            run = self.pick(self.model.runs)
            body = self.call("GET", f"{V2}/runs/{run}")
            archived = self.model.runs[str(run)][1]
            assert body["storage_state"] == ("ARCHIVED" if archived else "AVAILABLE"), body
        elif self.model.deleted_runs:
            gone = self.random.choice(sorted(self.model.deleted_runs))
            body = self.call("GET", f"{V2}/runs/{gone}", expected=404)
            assert body["code"] == 5

    def list(self) -> None:
        kind = self.random.choice(("experiments", "runs"))
        body = self.call("GET", f"{V2}/{kind}", params={
            "namespace": self.model.namespace, "page_size": self.random.randint(1, 50)})
        items = body.get(kind, [])
        mine = self.model.experiments if kind == "experiments" else self.model.runs
        # Others only add or remove their own objects: all of mine are counted.
        assert body.get("total_size", 0) >= len(mine), (kind, body.get("total_size"), len(mine))
        if kind == "experiments":
            assert all(e["namespace"] == self.model.namespace for e in items)

    def walk(self) -> None:
        """A filtered page-token walk returns exactly my live experiments, once each."""
        flt = ('{"predicates":[{"key":"name","operation":"IS_SUBSTRING",'
               f'"string_value":"{self.prefix}"}}]}}')
        seen: list[str] = []
        token = ""
        while True:
            params = {"namespace": self.model.namespace, "page_size": 25, "filter": flt}
            if token:
                params["page_token"] = token
            body = self.call("GET", f"{V2}/experiments", params=params)
            seen += [e["experiment_id"] for e in body.get("experiments", [])]
            token = body.get("next_page_token", "")
            if not token:
                break
        assert len(seen) == len(set(seen)), "a page-token walk returned an item twice"
        assert set(seen) == set(self.model.experiments), "walk differs from my experiments"


def test_concurrent_clients_leave_a_consistent_state(kfp_env: KfpTestEnv) -> None:
    identities = [(OWNER, OWNER_NAMESPACE), (CONTRIBUTOR, OWNER_NAMESPACE)] * 3 + \
                 [(STRANGER, STRANGER_NAMESPACE)] * 2
    barrier = threading.Barrier(THREADS)
    clients = [Client(kfp_env, i, user, namespace, barrier)
               for i, (user, namespace) in enumerate(identities)]
    for client in clients:
        client.start()
    for client in clients:
        client.join(timeout=300)
        assert not client.is_alive(), f"{client.name} did not finish"
    failures = [failure for client in clients for failure in client.failures]
    assert not failures, "\n".join(failures)

    state = requests.get(f"{kfp_env.url}/_emulator/state", timeout=30).json()["kfp"]
    experiments = {e["id"]: e for e in state["experiments"]}
    runs = {r["id"]: r for r in state["runs"]}

    expected_experiments: dict[str, tuple[str, bool]] = {}
    expected_runs: dict[str, tuple[str, str, bool]] = {}
    for client in clients:
        model = client.model
        expected_experiments.update(
            {eid: (model.namespace, archived) for eid, archived in model.experiments.items()})
        expected_runs.update({rid: (model.namespace, parent, archived)
                              for rid, (parent, archived) in model.runs.items()})
        back = sorted(model.deleted_experiments & set(experiments))
        assert not back, f"deleted experiments are back: {back[:5]}"
        back = sorted(model.deleted_runs & set(runs))
        assert not back, f"deleted runs are back: {back[:5]}"
    assert len(expected_experiments) > 500 and len(expected_runs) > 500, "too little traffic"

    # No lost and no phantom write: the state holds exactly what the clients believe exists.
    for kind, stored, expected in (("experiments", experiments, expected_experiments),
                                   ("runs", runs, expected_runs)):
        lost = sorted(set(expected) - set(stored))
        phantom = sorted(set(stored) - set(expected))
        assert not lost and not phantom, f"{kind}: lost {lost[:5]}, phantom {phantom[:5]}"
    for eid, (namespace, archived) in expected_experiments.items():
        stored = experiments[eid]
        assert (stored["namespace"], stored["storage_state"]) == (
            namespace, "ARCHIVED" if archived else "AVAILABLE"), stored
    for rid, (namespace, parent, archived) in expected_runs.items():
        stored = runs[rid]
        assert (stored["namespace"], stored["experiment_id"], stored["storage_state"]) == (
            namespace, parent, "ARCHIVED" if archived else "AVAILABLE"), stored

    # List totals equal the objects that exist, per namespace and per storage state.
    with kfp_env.as_owner() as alice, kfp_env.as_stranger() as bob:
        for session, namespace in ((alice, OWNER_NAMESPACE), (bob, STRANGER_NAMESPACE)):
            for kind, stored_items in (("experiments", experiments), ("runs", runs)):
                in_namespace = [o for o in stored_items.values() if o["namespace"] == namespace]
                assert _total(session, kind, namespace) == len(in_namespace)
                archived = [o for o in in_namespace if o["storage_state"] == "ARCHIVED"]
                assert _total(session, kind, namespace, "ARCHIVED") == len(archived)
                assert set(_walk_ids(session, kind, namespace)) == \
                    {o["id"] for o in in_namespace}


def _total(session: requests.Session, kind: str, namespace: str,
           storage_state: str | None = None) -> int:
    params = {"namespace": namespace, "page_size": 1}
    if storage_state:
        params["filter"] = ('{"predicates":[{"key":"storage_state","operation":"EQUALS",'
                            f'"string_value":"{storage_state}"}}]}}')
    response = session.get(f"{V2}/{kind}", params=params)
    assert response.status_code == 200, response.text
    return int(response.json().get("total_size", 0))


def _walk_ids(session: requests.Session, kind: str, namespace: str) -> list[str]:
    key = "experiment_id" if kind == "experiments" else "run_id"
    found: list[str] = []
    token = ""
    while True:
        params = {"namespace": namespace, "page_size": 200}
        if token:
            params["page_token"] = token
        body = session.get(f"{V2}/{kind}", params=params).json()
        found += [item[key] for item in body.get(kind, [])]
        token = body.get("next_page_token", "")
        if not token:
            break
    assert len(found) == len(set(found))
    return found

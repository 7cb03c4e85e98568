"""Memoized encodings must never serve a stale page: every change shows on the next list."""

from __future__ import annotations

import copy

from emulator.testing import KfpTestEnv

SPEC = {"pipelineInfo": {"name": "p"}, "root": {}}


def _seed(env: KfpTestEnv, runs: int = 3) -> tuple[str, list[str]]:
    owner = env.as_owner()
    experiment = owner.post("/apis/v2beta1/experiments",
                            json={"display_name": "e", "namespace": "alice"}).json()
    ids = [owner.post("/apis/v2beta1/runs", json={
        "display_name": f"r{i}", "experiment_id": experiment["experiment_id"],
        "pipeline_spec": SPEC}).json()["run_id"] for i in range(runs)]
    return experiment["experiment_id"], ids


def _states(env: KfpTestEnv) -> dict[str, tuple[str, str]]:
    body = env.as_owner().get("/apis/v2beta1/runs?namespace=alice").json()
    return {r["run_id"]: (r["state"], r["storage_state"]) for r in body.get("runs", [])}


def test_lists_follow_state_changes_archives_and_deletes(kfp_env: KfpTestEnv) -> None:
    _, ids = _seed(kfp_env)
    assert set(_states(kfp_env).values()) == {("PENDING", "AVAILABLE")}
    assert _states(kfp_env) == _states(kfp_env)  # served twice, identical

    kfp_env.advance(2)
    assert set(_states(kfp_env).values()) == {("RUNNING", "AVAILABLE")}

    assert kfp_env.as_owner().post(f"/apis/v2beta1/runs/{ids[0]}:archive").ok
    assert _states(kfp_env)[ids[0]] == ("RUNNING", "ARCHIVED")

    assert kfp_env.as_owner().delete(f"/apis/v2beta1/runs/{ids[1]}").ok
    assert ids[1] not in _states(kfp_env)

    kfp_env.advance(10)
    assert _states(kfp_env)[ids[2]] == ("SUCCEEDED", "AVAILABLE")


def test_a_memoized_page_is_still_authorized_for_every_caller(kfp_env: KfpTestEnv) -> None:
    _seed(kfp_env)
    assert kfp_env.as_owner().get("/apis/v2beta1/runs?namespace=alice").ok
    denied = kfp_env.as_stranger().get("/apis/v2beta1/runs?namespace=alice")
    assert denied.status_code == 403 and denied.json()["code"] == 7
    assert kfp_env.as_anonymous().get("/apis/v2beta1/runs?namespace=alice").status_code == 401


def test_an_import_reusing_ids_with_other_content_is_never_served_stale(
        kfp_env: KfpTestEnv) -> None:
    _, ids = _seed(kfp_env, runs=1)
    snapshot = kfp_env.emulator.export_state()
    before = kfp_env.as_owner().get("/apis/v2beta1/runs?namespace=alice").json()
    assert before["runs"][0]["display_name"] == "r0"

    renamed = copy.deepcopy(snapshot)
    renamed["kfp"]["runs"][0]["name"] = "renamed"
    kfp_env.emulator.import_state(renamed)
    after = kfp_env.as_owner().get("/apis/v2beta1/runs?namespace=alice").json()
    assert after["runs"][0]["run_id"] == ids[0]
    assert after["runs"][0]["display_name"] == "renamed"
    single = kfp_env.as_owner().get(f"/apis/v2beta1/runs/{ids[0]}").json()
    assert single["display_name"] == "renamed"


def test_page_memo_is_bounded_by_bytes_oldest_first() -> None:
    from emulator.http.encoding import PageMemo, RawJSON

    memo = PageMemo(max_bytes=10)
    built: list[str] = []

    def page(key: str, size: int) -> RawJSON:
        return memo.get(key, lambda: (built.append(key), RawJSON(b"x" * size))[1])

    page("a", 4)
    page("b", 4)
    page("a", 4)  # a hit: not built again
    page("c", 4)  # 12 bytes > 10: "a", the oldest, goes
    page("b", 4)
    page("a", 4)
    page("huge", 11)  # larger than the whole budget: served, never kept
    page("huge", 11)
    assert built == ["a", "b", "c", "a", "huge", "huge"]

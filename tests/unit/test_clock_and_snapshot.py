"""The emulator clock, recurring triggers and whole-state export/import."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from emulator import Clock, Emulator, EmulatorConfig, ProfileSpec
from emulator.kfp.access import Credentials
from emulator.kfp.lifecycle import valid_cron
from emulator.kfp.models import PipelineSource, RuntimeState, Trigger
from emulator.kfp.recurring import RecurringRunRequest
from emulator.kfp.runs import RunRequest
from emulator.snapshot import SnapshotError

START = 1_800_000_000.0  # a whole minute
ALICE = Credentials(("alice@example.com",))
SPEC = {"pipelineInfo": {"name": "p"}, "root": {}}


def test_timers_fire_in_due_order_at_their_own_time() -> None:
    clock = Clock(START)
    fired: list[tuple[str, float]] = []
    clock.call_at(START + 5, lambda at: fired.append(("b", at)))
    clock.call_at(START + 1, lambda at: fired.append(("a", at)))
    entry = clock.call_at(START + 3, lambda at: fired.append(("x", at)))
    Clock.cancel(entry)
    assert clock.advance(10) == 2
    assert fired == [("a", START + 1), ("b", START + 5)]
    assert clock.now() == START + 10
    with pytest.raises(ValueError):
        clock.advance(-1)


@pytest.mark.parametrize("expression, ok", [
    ("0 0 * * * *", True), ("*/5 * * * *", True), ("0 0 0 * * MON", True),
    ("not cron", False), ("61 * * * * *", False), ("", False),
])
def test_cron_validation_accepts_kfp_six_field_cron(expression: str, ok: bool) -> None:
    assert valid_cron(expression) is ok


def _emulator() -> Emulator:
    return Emulator(EmulatorConfig(), clock=Clock(START),
                    profiles=[ProfileSpec("alice", "alice@example.com")])


def test_periodic_recurring_run_catches_up_unless_no_catchup() -> None:
    for no_catchup, expected in ((False, 5), (True, 1)):
        emu = _emulator()
        exp = emu.kfp.experiments.create(ALICE, "e", "", "alice")
        rr = emu.kfp.recurring_runs.create(ALICE, RecurringRunRequest(
            "every-minute", exp.id, PipelineSource(pipeline_spec=SPEC),
            Trigger(interval_seconds=60, start_time=START - 300), max_concurrency=10,
            no_catchup=no_catchup))
        # Started five minutes ago: the five missed slots are due at once.
        emu.advance(0)
        runs = [r for r in emu.kfp.state.runs.in_group(exp.id) if r.recurring_run_id == rr.id]
        assert len(runs) == expected, no_catchup


def test_cron_recurring_run_fires_on_each_slot_and_respects_max_concurrency() -> None:
    emu = _emulator()
    exp = emu.kfp.experiments.create(ALICE, "e", "", "alice")
    emu.kfp.recurring_runs.create(ALICE, RecurringRunRequest(
        "each-minute", exp.id, PipelineSource(pipeline_spec=SPEC),
        Trigger(cron="0 * * * * *"), max_concurrency=1))
    emu.advance(180)  # runs take 6 s, so one run per minute never overlaps
    runs = sorted(emu.kfp.state.runs.in_group(exp.id), key=lambda r: r.scheduled_at)
    assert [int(r.scheduled_at - START) for r in runs] == [60, 120, 180]
    assert all(r.state == RuntimeState.SUCCEEDED for r in runs[:2])


def test_export_import_round_trip_restores_objects_and_progress() -> None:
    emu = _emulator()
    exp = emu.kfp.experiments.create(ALICE, "e", "d", "alice")
    run = emu.kfp.runs.create(ALICE, RunRequest("r", exp.id, PipelineSource(pipeline_spec=SPEC)))
    emu.cluster.add_contributor("alice", "carol@example.com", "edit")
    snapshot = json.loads(json.dumps(emu.export_state()))
    assert snapshot["format"] == 3
    assert {"workloads", "objects", "metadata"} <= set(snapshot)

    other = Emulator(EmulatorConfig(), clock=Clock(START))
    other.import_state(snapshot)
    assert other.kfp.state.experiments.get(exp.id).name == "e"  # type: ignore[union-attr]
    assert "carol" in " ".join(other.cluster.rbac.bindings["alice"])
    restored = other.kfp.state.runs.get(run.id)
    assert restored is not None and restored.state == RuntimeState.PENDING
    other.advance(10)
    assert restored.state == RuntimeState.SUCCEEDED
    # The signing key is a credential: a snapshot attached to a bug report must not carry it.
    text = json.dumps(snapshot)
    key = emu.cluster.tokens.key
    assert key.hex() not in text and base64.b64encode(key).decode() not in text
    token = emu.service_account_token("alice")
    assert not other.cluster.tokens.review(token, ["pipelines.kubeflow.org"],
                                           other.clock.now()).authenticated


def test_malformed_snapshots_are_rejected_without_touching_state() -> None:
    emu = _emulator()
    exp = emu.kfp.experiments.create(ALICE, "keep-me", "", "alice")
    good = emu.export_state()
    before = json.dumps(good, sort_keys=True)

    def spoiled(change: Any) -> dict[str, Any]:
        data = json.loads(json.dumps(good))
        change(data)
        return data

    bad_snapshots = [
        {}, [], {"format": 1}, {**good, "format": 1}, {**good, "format": 4},
        {k: v for k, v in good.items() if k != "metadata"},
        spoiled(lambda d: d["cluster"].update(resource_version="abc")),
        spoiled(lambda d: d["cluster"]["objects"].append({"kind": "Pod"})),
        spoiled(lambda d: d["cluster"]["objects"][0].update(metadata={})),
        spoiled(lambda d: d["kfp"]["runs"].append({})),
        spoiled(lambda d: d.update(clock="noon")),
    ]
    for bad in bad_snapshots:
        with pytest.raises(SnapshotError):
            emu.import_state(bad)
        assert emu.kfp.state.experiments.get(exp.id) is not None
        assert json.dumps(emu.export_state(), sort_keys=True) == before


def test_a_format_2_snapshot_still_imports_without_a_data_plane() -> None:
    emu = _emulator()
    exp = emu.kfp.experiments.create(ALICE, "e", "", "alice")
    run = emu.kfp.runs.create(ALICE, RunRequest("r", exp.id, PipelineSource(pipeline_spec=SPEC)))
    emu.advance(2)
    old = {k: v for k, v in emu.export_state().items()
           if k not in ("workloads", "objects", "metadata")}
    other = _emulator()
    other.import_state({**old, "format": 2})
    assert other.kfp.state.runs.get(run.id) is not None
    exported = other.export_state()
    assert exported["workloads"] == {"workflows": []}
    assert exported["metadata"]["artifacts"] == []


def test_reset_keeps_the_initial_profiles_and_drops_everything_else() -> None:
    emu = _emulator()
    emu.kfp.experiments.create(ALICE, "e", "", "alice")
    emu.cluster.create_profile("zed", "zed@example.com")
    emu.reset()
    assert len(emu.kfp.state.experiments) == 0
    assert set(emu.cluster.profiles) == {"alice"}


@pytest.mark.parametrize("expression", ["@hourly", "@daily", "@every 90s", "@every 1h30m"])
def test_robfig_descriptors_are_valid_schedules(expression: str) -> None:
    assert valid_cron(expression)


@pytest.mark.parametrize("expression", ["@every", "@every 5x", "@fortnightly"])
def test_malformed_descriptors_are_rejected(expression: str) -> None:
    assert not valid_cron(expression)


def test_every_descriptor_fires_at_a_constant_delay() -> None:
    emu = _emulator()
    exp = emu.kfp.experiments.create(ALICE, "e", "", "alice")
    emu.kfp.recurring_runs.create(ALICE, RecurringRunRequest(
        "every-90s", exp.id, PipelineSource(pipeline_spec=SPEC), Trigger(cron="@every 1m30s"),
        max_concurrency=5))
    emu.advance(270)
    runs = sorted(emu.kfp.state.runs.in_group(exp.id), key=lambda r: r.scheduled_at)
    assert [int(r.scheduled_at - START) for r in runs] == [90, 180, 270]

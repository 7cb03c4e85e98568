"""``kfp-isolation replay``: a bundle's scenario run again in-process and over HTTP, with the
verdicts and exit codes it documents."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from conformance import replay
from conformance.bundles import BUNDLE_FILE, Bundle, read_bundle
from conformance.outcomes import Outcome
from conformance.results import ScenarioResult, StepResult
from conformance.targets import describe_emulator
from conformance.world import Exchange
from emulator.config import EmulatorConfig
from emulator.core import Emulator
from emulator.serving import EmulatorServer

CLI = [sys.executable, "-m", "conformance.cli", "replay"]
ROOT = Path(__file__).resolve().parents[2]
FAULT = "ExperimentService_GetExperiment"
FAULT_KEY = "GET /apis/v2beta1/experiments/{}"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, check=False,
                          timeout=300, cwd=ROOT)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle of the stranger's GetExperiment, failed under the fault."""
    folder = tmp_path_factory.mktemp("made")
    done = subprocess.run([sys.executable, "-m", "pytest", str(ROOT / "features"), "-q",
                           "-p", "no:cacheprovider", "--kfp-unguard", FAULT, "-k",
                           "experimentservice_getexperiment_as and stranger",
                           "--kfp-bundle-dir", str(folder)],
                          capture_output=True, text=True, check=False, timeout=300, cwd=ROOT)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    (made,) = folder.iterdir()
    return made


def copy(bundle: Path, tmp_path: Path, **changes: object) -> Path:
    """The bundle copied, with bundle.yaml keys changed."""
    target = tmp_path / bundle.name
    shutil.copytree(bundle, target)
    data = yaml.safe_load((target / BUNDLE_FILE).read_text())
    data.update(changes)
    (target / BUNDLE_FILE).write_text(yaml.safe_dump(data, sort_keys=False))
    return target


def test_in_process_reproduces_with_the_fault_and_not_without(bundle: Path,
                                                              tmp_path: Path) -> None:
    without = cli(str(bundle), "--report-dir", str(tmp_path / "without"))
    assert without.returncode == 1, without.stdout + without.stderr
    assert without.stdout.splitlines()[-1] == "verdict: not reproduced"
    assert f"unguarded operations ({FAULT_KEY}); give --unguard" in without.stdout
    assert not (tmp_path / "without" / "bundles").exists()

    report = tmp_path / "with"
    found = cli(str(bundle), "--unguard", FAULT, "--report-dir", str(report))
    assert found.returncode == 0, found.stdout + found.stderr
    assert found.stdout.splitlines()[-1] == "verdict: reproduced"
    assert "step 3 ('Then the call is denied') failed again, last answer 200" in found.stdout
    document = yaml.safe_load((report / "report.yaml").read_text())
    assert document["summary"]["counts"]["fail"] == 1
    assert document["configuration"]["unguarded_operations"] == [FAULT_KEY]
    (again,) = (report / "bundles").iterdir()
    assert again.name == bundle.name  # the original file and row, not "scenario"
    assert read_bundle(again).data["scenario"]["row"] == 2


def test_suggested_bugs_are_switched_on_in_process(bundle: Path, tmp_path: Path) -> None:
    """The bundle's suggested bugs become --kfp-bug (a limitation or an unknown id is named,
    not switched); --no-suggested-bugs leaves them off."""
    suggested = copy(bundle, tmp_path, suggested_bugs=["ISO-003", "ISO-020"])
    report = tmp_path / "r"
    done = cli(str(suggested), "--unguard", FAULT, "--report-dir", str(report))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "bugs ISO-003" in done.stdout
    assert "ISO-020 is a limitation the emulator shows by default: not switched on" \
        in done.stdout
    assert yaml.safe_load((report / "report.yaml").read_text())["configuration"]["bugs"] == \
        ["ISO-003"]
    plan = replay.make_plan(read_bundle(suggested), arguments(suggested, no_suggested=True))
    assert plan.bugs == () and "--kfp-bug" not in plan.pytest_args()
    plan = replay.make_plan(read_bundle(suggested), arguments(suggested, bugs=["iso-5"]))
    assert plan.bugs == ("ISO-003", "ISO-005")


def arguments(bundle: Path, *, target: str = "inprocess", target_file: str | None = None,
              mode: str | None = None, bugs: list[str] | None = None,
              no_suggested: bool = False, unguard: list[str] | None = None) -> argparse.Namespace:
    return argparse.Namespace(bundle=bundle, target=target, target_file=target_file, mode=mode,
                              bugs=bugs, no_suggested_bugs=no_suggested, unguard=unguard,
                              report_dir=None, func=replay.run)


@pytest.mark.parametrize(("flags", "message"), [
    (("--target", "url"), "a url target needs --target-file"),
    (("--target-file", "t.yaml"), "--target-file names a url or cluster target"),
    (("--bug", "ISO-999"), "--bug: unknown bug"),
    (("--bug", "ISO-020"), "--bug: ISO-020 cannot be switched on"),
])
def test_unusable_arguments_exit_2(bundle: Path, flags: tuple[str, ...], message: str) -> None:
    done = cli(str(bundle), *flags)
    assert done.returncode == 2 and message in done.stderr, done.stdout + done.stderr


def test_what_is_no_bundle_exits_2(tmp_path: Path) -> None:
    done = cli(str(tmp_path))
    assert done.returncode == 2 and "cannot read" in done.stderr


def test_a_url_target_cannot_take_switches(bundle: Path, tmp_path: Path) -> None:
    target = tmp_path / "target.yaml"
    target.write_text("irrelevant")
    for flags in (("--bug", "ISO-003"), ("--unguard", FAULT), ("--mode", "full-inside")):
        with pytest.raises(replay.UsageError, match="in-process"):
            replay.make_plan(read_bundle(bundle), arguments(
                bundle, target="url", target_file=str(target),
                bugs=[flags[1]] if flags[0] == "--bug" else None,
                unguard=[flags[1]] if flags[0] == "--unguard" else None,
                mode=flags[1] if flags[0] == "--mode" else None))


@pytest.fixture
def faulty_server() -> Iterator[EmulatorServer]:
    """A running emulator whose GetExperiment skips authorization, with a historical bug on."""
    config = EmulatorConfig(unguarded_operations=frozenset({FAULT_KEY}),
                            bugs=frozenset({"ISO-003"}))
    with EmulatorServer(Emulator(config, profiles=[])) as server:
        yield server


def test_over_http_against_a_served_emulator(bundle: Path, tmp_path: Path,
                                             gateway_server: EmulatorServer,
                                             faulty_server: EmulatorServer) -> None:
    """A secure served emulator does not reproduce it; one served with the fault does; the
    bugs a url emulator runs with are compared with the bundle's suggestion, never set."""
    suggested = copy(bundle, tmp_path, suggested_bugs=["ISO-005"])
    secure = describe_emulator(gateway_server, gateway_server.write_kubeconfig(
        tmp_path / "secure.kubeconfig")).dump(tmp_path / "secure.yaml")
    done = cli(str(suggested), "--target", "url", "--target-file", str(secure),
               "--report-dir", str(tmp_path / "secure"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "verdict: not reproduced"
    assert "the emulator at the target runs with bugs none; replay cannot switch them" \
        in done.stdout
    assert "it lacks ISO-005: start it with `kfp-isolation serve --bug ISO-005`" in done.stdout

    faulty = describe_emulator(faulty_server, faulty_server.write_kubeconfig(
        tmp_path / "faulty.kubeconfig")).dump(tmp_path / "faulty.yaml")
    done = cli(str(suggested), "--target", "url", "--target-file", str(faulty),
               "--report-dir", str(tmp_path / "faulty"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "verdict: reproduced"
    assert "it has ISO-003 on, which the bundle did not suggest" in done.stdout
    (again,) = (tmp_path / "faulty" / "bundles").iterdir()
    meta = yaml.safe_load((again / BUNDLE_FILE).read_text())
    assert meta["target"]["kind"] == "url"
    assert meta["emulator_bugs"] == ["ISO-003"] and meta["suggested_bugs"] == ["ISO-003"]


# -- the verdict ------------------------------------------------------------------------------


def scenario(outcome: Outcome, failed_at: int | None = None, status: int = 200,
             text: str = "the call is denied") -> ScenarioResult:
    steps = [StepResult("Given", "alice's objects", "passed"),
             StepResult("When", "bob calls it", "passed"),
             StepResult("Then", text, "failed" if failed_at == 2 else "passed", error="no")]
    if failed_at == 1:
        steps[1] = StepResult("When", "bob calls it", "failed", error="boom")
        steps[2] = StepResult("Then", text, "skipped")
    exchange = Exchange("bob", "direct", "GET", "http://x/y", {}, "", status, "")
    return ScenarioResult("id", "f", "f.feature", "n", 1, [], outcome, message="why",
                          steps=steps, exchanges=[exchange])


def test_the_verdicts(bundle: Path) -> None:
    made = read_bundle(bundle)
    assert replay.judge(made, scenario(Outcome.FAIL, 2))[0] == replay.REPRODUCED
    assert replay.judge(made, scenario(Outcome.FAIL, 2, status=404))[0] == replay.DIFFERENT
    assert replay.judge(made, scenario(Outcome.FAIL, 2, text="other"))[0] == replay.DIFFERENT
    assert replay.judge(made, scenario(Outcome.FAIL, 1))[0] == replay.DIFFERENT
    assert replay.judge(made, scenario(Outcome.PASS))[0] == replay.NOT_REPRODUCED
    for outcome in (Outcome.ERROR, Outcome.NOT_SUPPORTED, Outcome.SKIPPED):
        assert replay.judge(made, scenario(outcome))[0] == replay.INCONCLUSIVE
    assert replay.judge(made, None)[0] == replay.INCONCLUSIVE
    assert {replay.EXIT_CODES[v] for v in (replay.NOT_REPRODUCED, replay.DIFFERENT)} == {1}
    assert isinstance(made, Bundle)

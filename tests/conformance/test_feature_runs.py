"""The features run green against the emulator in both full modes, report not supported on a
standalone one, and fail when the emulator stops checking authorization for one operation."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from emulator.kfp.access import AccessControl, Credentials
from emulator.kube.rbac import ResourceAttributes

pytest_plugins = ["pytester"]

FEATURES = Path(__file__).resolve().parents[2] / "features"


def outcomes(pytester: pytest.Pytester, *args: str) -> dict[str, str]:
    """Run the features in-process; each scenario's final kfp-isolation outcome."""
    recorder = pytester.inline_run(str(FEATURES), "-p", "no:cacheprovider", *args)
    found: dict[str, str] = {}
    for report in recorder.getreports("pytest_runtest_logreport"):
        if hasattr(report, "kfp_outcome"):
            found[report.nodeid] = report.kfp_outcome
    collected = [r for r in recorder.getreports("pytest_collectreport") if r.failed]
    assert not collected, collected
    return found


@pytest.mark.parametrize("mode", ["full-inside", "full-outside"])
def test_every_scenario_passes_against_the_emulator(pytester: pytest.Pytester,
                                                    mode: str) -> None:
    found = outcomes(pytester, "--kfp-mode", mode)
    assert len(found) > 40
    assert {Path(node.split("::")[0]).name for node in found} == {"test_features.py"}
    assert Counter(found.values()) == {"pass": len(found)}, \
        {node: outcome for node, outcome in found.items() if outcome != "pass"}


def test_a_standalone_target_supports_none_of_them(pytester: pytest.Pytester,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KFP_ISOLATION_MODE", "standalone-inside")
    found = outcomes(pytester)
    assert found and set(found.values()) == {"not supported"}


def test_archive_without_authorization_fails_the_suite(pytester: pytest.Pytester,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    original = AccessControl.authorize

    def broken(self: AccessControl, credentials: Credentials,
               attrs: ResourceAttributes) -> None:
        if (attrs.resource, attrs.verb) == ("experiments", "archive"):
            return  # the server forgot to check this one operation
        original(self, credentials, attrs)

    monkeypatch.setattr(AccessControl, "authorize", broken)
    found = outcomes(pytester, "--kfp-mode", "full-inside")
    failed = sorted(node for node, outcome in found.items() if outcome == "fail")
    assert failed, "no scenario noticed that archiving experiments is unchecked"
    assert any(node.endswith("[bob-archive-plans-is denied]") for node in failed), failed
    assert not [node for node in failed if "-delete-" in node or "-unarchive-" in node], failed
    assert set(found.values()) == {"pass", "fail"}


def test_a_running_emulator_with_its_own_tenants_over_http(pytester: pytest.Pytester,
                                                          tmp_path: Path) -> None:
    """``--kfp-target url``: the suite provisions its tenants beside the emulator's own
    (alice and bob already exist there), under a run prefix, and removes them afterwards."""
    from conformance.targets import describe_emulator
    from emulator.core import Emulator
    from emulator.serving import EmulatorServer
    from emulator.testing import standard_profiles

    emulator = Emulator(profiles=standard_profiles())
    with EmulatorServer(emulator) as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        target = describe_emulator(server, kubeconfig).dump(tmp_path / "target.yaml")
        before = set(emulator.cluster.profiles)
        found = outcomes(pytester, "--kfp-target", "url", "--kfp-target-file", str(target))
        after = set(emulator.cluster.profiles)
    assert len(found) > 40
    assert Counter(found.values()) == {"pass": len(found)}, \
        {node: outcome for node, outcome in found.items() if outcome != "pass"}
    assert after == before == {"alice", "bob"}  # the run's tenants are gone again

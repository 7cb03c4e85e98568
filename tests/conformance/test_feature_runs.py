"""The features run green against the emulator in both full modes, report not supported on a
standalone one, and fail when the emulator stops checking authorization for one operation."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from conformance import ui_driver
from tests.support.feature_runs import outcomes as feature_outcomes
from tests.support.feature_runs import run_features


def run(pytester: pytest.Pytester, *args: str) -> dict[str, tuple[str, set[str]]]:
    return run_features(pytester, None, *args)


def outcomes(pytester: pytest.Pytester, *args: str) -> dict[str, str]:
    return feature_outcomes(pytester, None, *args)


def expected_in_full_mode(tags: set[str]) -> str:
    """What the emulator, secure, with its default (shared) artifact credentials, must give
    each scenario; the browser's scenarios need Chromium and Playwright where the tests run."""
    if "requires-standalone" in tags:
        return "not supported"
    if "requires-ui-driver" in tags and ui_driver.available() is not None:
        return "not supported"
    if "limitations" in tags:
        return "limitation present"
    return "pass"


@pytest.mark.parametrize("mode", ["full-inside", "full-outside"])
def test_every_scenario_passes_against_the_emulator(pytester: pytest.Pytester,
                                                    mode: str) -> None:
    found = run(pytester, "--kfp-mode", mode)
    assert len(found) > 700  # the matrix alone has 648
    assert {Path(node.split("::")[0]).name for node in found} == {"test_features.py"}
    wrong = {node: (outcome, expected_in_full_mode(tags))
             for node, (outcome, tags) in found.items()
             if outcome != expected_in_full_mode(tags)}
    assert not wrong, wrong
    assert Counter(o for o, _ in found.values())["limitation present"] >= 1


def test_per_namespace_artifact_credentials_lift_only_the_object_store_limitation(
        pytester: pytest.Pytester) -> None:
    """Installed like KFP >= 2.15 (a SeaweedFS user per profile, limited to its own prefix):
    bob's list, read and overwrite of alice's artifacts are refused, so that limitation is
    lifted; ML Metadata and pipeline definitions stay shared; the execution and artifact-access
    guarantees still pass."""
    found = run(pytester, "--kfp-emulator-setting", "artifact_credentials=per-namespace",
                "-m", "limitations or execution or artifact-access")
    by_feature: dict[str, set[str]] = {}
    for outcome, tags in found.values():
        for feature in tags & {"shared-artifacts", "shared-metadata", "shared-pipelines",
                               "execution", "artifact-access"}:
            by_feature.setdefault(feature, set()).add(outcome)
    assert by_feature == {"shared-artifacts": {"limitation lifted"},
                          "shared-metadata": {"limitation present"},
                          "shared-pipelines": {"limitation present"},
                          "execution": {"pass"}, "artifact-access": {"pass"}}, by_feature


def test_a_standalone_target_runs_only_the_standalone_scenarios(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KFP_ISOLATION_MODE", "standalone-inside")
    found = run(pytester)
    standalone = {node for node, (_, tags) in found.items() if "standalone" in tags}
    assert standalone
    assert {found[node][0] for node in standalone} == {"pass"}
    assert {outcome for node, (outcome, _) in found.items()
            if node not in standalone} == {"not supported"}


def test_archive_without_authorization_fails_the_suite(pytester: pytest.Pytester) -> None:
    """The emulator's fault switch for one operation: exactly the scenarios that expect a
    refusal of that operation fail, and nothing else does."""
    found = outcomes(pytester, "--kfp-unguard", "ExperimentService_ArchiveExperiment",
                     "-m", "experiments or api-matrix")
    failed = sorted(node for node, outcome in found.items() if outcome == "fail")
    assert any(node.endswith("[bob-archive-plans-is denied]") for node in failed), failed
    assert any("experimentservice_archiveexperiment_as" in node and "[stranger-" in node
               for node in failed), failed
    assert not [node for node in failed if "archive" not in node.lower()], failed
    assert not [node for node in failed if "unarchive" in node.lower()], failed
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
        found = outcomes(pytester, "--kfp-target", "url", "--kfp-target-file", str(target),
                         "-m", "experiments or identity")
        after = set(emulator.cluster.profiles)
    assert len(found) > 40
    assert Counter(found.values()) == {"pass": len(found)}, \
        {node: outcome for node, outcome in found.items() if outcome != "pass"}
    assert after == before == {"alice", "bob"}  # the run's tenants are gone again


@pytest.mark.parametrize("refused", ["everyone", "bob"])
def test_ml_metadata_closed_to_tenants_lifts_its_limitation(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, refused: str) -> None:
    """KFP 2.18.1 kept tenants out of ML Metadata (alice too): the limitation is lifted, not a
    harness error; refusing bob alone lifts it as well."""
    from emulator.mlmd import access

    monkeypatch.setattr(access, "may_call", lambda method, userid: refused == "bob" and
                        not (userid or "").startswith("bob"))
    found = outcomes(pytester, "-m", "shared-metadata")
    assert found and set(found.values()) == {"limitation lifted"}, found

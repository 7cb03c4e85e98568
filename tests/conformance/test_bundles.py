"""Repro bundles: one folder per failing scenario, nothing for passing or erroring ones, no
secret of the run in any file, and the reduced Gherkin runs on its own."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.bundles import (
    BUNDLE_FILE,
    CAST_FILE,
    DECISIONS_FILE,
    EXCHANGES_FILE,
    FEATURE_FILE,
    FILES,
    REDACTED_DATA,
    SNAPSHOT_FILE,
    BundleError,
    bundle_name,
    read_bundle,
    redact_known,
    redact_snapshot,
    reduce_feature,
)
from conformance.report.redaction import REDACTED
from conformance.targets import Connection
from tests.support.feature_runs import failed, outcomes

UNGUARD = ("--kfp-unguard", "ExperimentService_GetExperiment")
# The v2 GetExperiment outline: its stranger and other-SA rows fail when unguarded (and, inside,
# the anonymous one: outside, the gateway refuses anonymous callers before the API server).
SELECT = ("-m", "api-matrix", "-k", "experimentservice_getexperiment_as")


class SecretsSeen:
    """A pytest plugin: every token, session cookie and password the run held."""

    def __init__(self) -> None:
        self.secrets: set[str] = set()
        self.kinds: set[str] = set()

    @pytest.fixture(autouse=True)
    def _kfp_secrets_seen(self, kfp_connection: Connection,
                          kfp_login_users: dict[str, str]) -> Any:
        yield
        tokens = set(kfp_connection._tokens.values())
        cookies = {part.strip().partition("=")[2]
                   for cookie in kfp_connection._cookies.values() for part in cookie.split(";")}
        self.secrets |= tokens | cookies | set(kfp_login_users.values())
        self.kinds |= {kind for kind, found in (("token", tokens), ("cookie", cookies))
                       if found}


def test_a_failing_scenario_leaves_a_bundle_without_any_secret_of_the_run(
        pytester: pytest.Pytester, tmp_path: Path) -> None:
    """Through the gateway (session cookies) and with ServiceAccount tokens: each failing row
    gets its bundle, the passing rows none, and no token, cookie or password of the run is in
    any file."""
    seen = SecretsSeen()
    folder = tmp_path / "bundles"
    recorder = pytester.inline_run(str(Path(__file__).parents[2] / "features"), "-p",
                                   "no:cacheprovider", "--kfp-mode", "full-outside", *UNGUARD,
                                   *SELECT, "--kfp-bundle-dir", str(folder), plugins=[seen])
    found = {r.nodeid: r.kfp_outcome for r in recorder.getreports("pytest_runtest_logreport")
             if hasattr(r, "kfp_outcome")}
    fails = failed(found)
    assert len(fails) == 2 and set(found.values()) == {"pass", "fail"}, found
    bundles = sorted(p.name for p in folder.iterdir())
    assert bundles == ["api-matrix-experimentservice-getexperiment-as-other-service-account-5",
                       "api-matrix-experimentservice-getexperiment-as-stranger-2"], bundles

    assert seen.kinds == {"token", "cookie"} and len(seen.secrets) > 5
    for bundle in folder.iterdir():
        for name in FILES:
            text = (bundle / name).read_text()
            leaked = [s for s in seen.secrets if s in text]
            assert not leaked, (bundle.name, name)
            assert "eyJ" not in text, (bundle.name, name)  # no JWT at all, whoever's

    stranger = folder / bundles[1]
    meta = yaml.safe_load((stranger / BUNDLE_FILE).read_text())
    assert meta["kind"] == "ReproBundle" and meta["format"] == 1
    assert meta["target"]["kind"] == "inprocess" and meta["target"]["mode"] == "full-outside"
    assert meta["target"]["description"]["users"][0]["password"] == REDACTED
    assert meta["configuration"]["unguarded_operations"] == ["GET /apis/v2beta1/experiments/{}"]
    assert meta["scenario"]["file"] == "api_matrix.feature"
    assert meta["scenario"]["example"] == {"identity": "stranger", "actor": "bob",
                                           "expected": "denied"}
    assert meta["scenario"]["row"] == 2 and "api-matrix" in meta["scenario"]["tags"]
    assert meta["failing_step"]["keyword"] == "Then"
    assert meta["failing_step"]["text"] == "the call is denied"
    assert "expected 403" in meta["failing_step"]["message"]
    assert meta["last_status"] == 200
    assert meta["suggested_bugs"] == [] and meta["emulator_bugs"] == []
    assert meta["decisions"]["count"] >= 1

    feature = (stranger / FEATURE_FILE).read_text()
    assert feature.count("| stranger ") == 1 and "| owner " not in feature
    assert "Examples: contributors and custom roles" not in feature
    assert "ExperimentService_CreateExperiment" not in feature

    cast = yaml.safe_load((stranger / CAST_FILE).read_text())
    assert cast["actors"]["bob"]["used"] and cast["actors"]["bob"]["kind"] == "person"
    assert not cast["actors"]["carol"]["used"]
    assert [t["namespace"] for t in cast["tenants"]] == ["alice", "bob"]
    assert cast["tenants"][0]["custom_roles"][0]["verbs"] == ["get", "list"]
    account = yaml.safe_load((folder / bundles[0] / CAST_FILE).read_text())[
        "actors"]["bob's service account"]
    assert account["used"] and account["claims"]["sub"] == \
        "system:serviceaccount:bob:default-editor"
    assert account["claims"]["aud"] == ["pipelines.kubeflow.org"]

    exchanges = [json.loads(line) for line in (stranger / EXCHANGES_FILE).read_text()
                 .splitlines()]
    assert exchanges[-1]["actor"] == "bob" and exchanges[-1]["status"] == 200
    assert exchanges[-1]["request_headers"]["Cookie"] == REDACTED
    decisions = [json.loads(line) for line in (stranger / DECISIONS_FILE).read_text()
                 .splitlines()]
    assert all(d["seq"] > meta["decisions"]["since"] for d in decisions)
    assert any(d["user"] == "alice@example.com" and d["verb"] == "create"
               for d in decisions), decisions
    snapshot = json.loads((stranger / SNAPSHOT_FILE).read_text())
    made = exchanges[0]["response_body"]
    assert any(e["id"] in made for e in snapshot["kfp"]["experiments"])
    secrets = [o for o in snapshot["cluster"]["objects"] if o["kind"] == "Secret"]
    assert secrets and all(set(s.get("data", {}).values()) <= {REDACTED_DATA} for s in secrets)
    assert read_bundle(stranger).failing_step is not None


BROKEN = """\
@experiments
Feature: A scene that cannot be set
  Scenario: alice reads her experiment
    Given alice created an experiment "plans" in alice
    When alice gets the experiment "plans"
    Then the request succeeds

  Scenario: alice archives an experiment nobody made
    Given alice archived the experiment "ghost"
    When alice gets the experiment "ghost"
    Then the request succeeds
"""


def test_no_bundle_for_a_pass_or_a_harness_error(pytester: pytest.Pytester,
                                                 tmp_path: Path) -> None:
    feature = tmp_path / "broken.feature"
    feature.write_text(BROKEN)
    bundles = tmp_path / "report" / "bundles"
    # What an earlier run into the same report folder left: its bundle must not look like
    # this run's failure; anything that is no bundle stays.
    (bundles / "old-failure").mkdir(parents=True)
    (bundles / "old-failure" / BUNDLE_FILE).write_text("kind: ReproBundle\n")
    (bundles / "notes").mkdir()
    (bundles / "notes" / BUNDLE_FILE).write_text("kind: Something\n")
    found = outcomes(pytester, [str(feature)], "--kfp-report-dir", str(tmp_path / "report"))
    assert sorted(found.values()) == ["error", "pass"], found
    assert (tmp_path / "report" / "report.yaml").is_file()
    assert sorted(p.name for p in bundles.iterdir()) == ["notes"]


def test_the_reduced_feature_runs_alone(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """A bundle's scenario.feature is one scenario the suite's steps run: it fails again with
    the fault and passes without it."""
    outcomes(pytester, None, *UNGUARD, "-k", "experimentservice_getexperiment_as and stranger",
             "--kfp-bundle-dir", str(tmp_path / "b"))
    (bundle,) = (tmp_path / "b").iterdir()
    feature = bundle / FEATURE_FILE
    with_fault = outcomes(pytester, [str(feature)], *UNGUARD)
    assert list(with_fault.values()) == ["fail"], with_fault
    assert list(outcomes(pytester, [str(feature)]).values()) == ["pass"]


OUTLINE = """\
# a comment before the feature
@core @experiments
Feature: Outlines
  Some description
  on two lines.

  Background: the scene
    Given alice created an experiment "plans" in alice

  Scenario: first
    When alice gets the experiment "plans"
    Then the request succeeds

  @roles
  Scenario Outline: <actor> reads
    # a comment in the outline
    When <actor> gets the experiment "plans"
    Then the request succeeds

    Examples:
      | actor |
      | alice |
      | carol |

    @roles
    Examples: more
      | actor  |
      | victor |
      | rita   |

  Scenario: last
    When bob gets the experiment "plans"
    Then the request is denied
"""


def test_reduce_keeps_the_header_background_and_the_failing_row(tmp_path: Path) -> None:
    source = tmp_path / "outlines.feature"
    source.write_text(OUTLINE)
    reduced = reduce_feature(source, 15, {"actor": "victor"})
    assert (reduced.source_file, reduced.source_line, reduced.row) == ("outlines.feature", 15, 3)
    assert reduced.text.splitlines()[0] == "# source: outlines.feature:15 row 3"
    body = reduced.text.split("\n", 2)[2]
    assert body == """\
@core @experiments
Feature: Outlines
  Some description
  on two lines.

  Background: the scene
    Given alice created an experiment "plans" in alice

  @roles
  Scenario Outline: <actor> reads
    # a comment in the outline
    When <actor> gets the experiment "plans"
    Then the request succeeds

    @roles
    Examples: more
      | actor  |
      | victor |
"""
    again = tmp_path / "scenario.feature"  # a bundle's own feature reduced again
    again.write_text(reduced.text)
    twice = reduce_feature(again, 12, {"actor": "victor"})
    assert (twice.source_file, twice.source_line, twice.row) == ("outlines.feature", 15, 3)
    assert twice.text == reduced.text
    plain = reduce_feature(source, 10, {})
    assert plain.row is None and "Scenario: first" in plain.text
    assert "Scenario Outline" not in plain.text
    with pytest.raises(BundleError, match="no example row"):
        reduce_feature(source, 15, {"actor": "mallory"})
    with pytest.raises(BundleError, match="no scenario at line 3"):
        reduce_feature(source, 3, {})


def test_names_and_redaction_helpers() -> None:
    assert bundle_name("api_matrix.feature", "ExperimentService_GetExperiment as stranger", 2) \
        == "api-matrix-experimentservice-getexperiment-as-stranger-2"
    assert bundle_name("runs.feature", "bob can't read alice's run", None) == \
        "runs-bob-cant-read-alices-run"
    assert redact_known("a secret-token-1 and secret-token-12", {"secret-token-1",
                                                                 "secret-token-12"}) == \
        f"a {REDACTED} and {REDACTED}"
    snapshot = {"objects": [{"kind": "Secret", "data": {"accesskey": "minio"},
                             "metadata": {"name": "mlpipeline-minio-artifact"}},
                            {"kind": "ConfigMap", "data": {"key": "value"}},
                            {"note": "Bearer abc.def"}],
                "users": [{"namespace": "alice", "access_key": "AK", "secret_key": "SK"}]}
    assert redact_snapshot(snapshot) == {"objects": [
        {"kind": "Secret", "data": {"accesskey": REDACTED_DATA},
         "metadata": {"name": "mlpipeline-minio-artifact"}},
        {"kind": "ConfigMap", "data": {"key": "value"}},
        {"note": f"Bearer {REDACTED}"}],
        "users": [{"namespace": "alice", "access_key": f"{REDACTED}-access_key-alice",
                   "secret_key": f"{REDACTED}-secret_key-alice"}]}


def test_a_bundles_snapshot_imports_without_its_secrets() -> None:
    """Per-namespace object-store users carry keys in the snapshot: they are redacted too, and
    the redacted snapshot still imports (Secret data stays base64)."""
    from emulator.config import EmulatorConfig
    from emulator.core import Emulator
    from emulator.snapshot import SnapshotError
    from emulator.testing import standard_profiles

    config = EmulatorConfig(artifact_credentials="per-namespace")
    source = Emulator(config, profiles=standard_profiles())
    state = source.export_state()
    keys = {u["secret_key"] for u in state["objects"]["users"]}
    assert keys, "per-namespace credentials make one object-store user per profile"
    redacted = redact_snapshot(state)
    assert not keys & set(json.dumps(redacted).split('"'))
    target = Emulator(config, profiles=standard_profiles())
    target.import_state(redacted)
    users = target.export_state()["objects"]["users"]
    assert sorted(u["access_key"] for u in users) == [f"{REDACTED}-access_key-alice",
                                                       f"{REDACTED}-access_key-bob"]
    credential = target.object_store.credential(f"{REDACTED}-access_key-bob")
    assert credential is not None and credential.namespace == "bob"
    twins = copy.deepcopy(redacted)
    twins["objects"]["users"][1]["access_key"] = twins["objects"]["users"][0]["access_key"]
    with pytest.raises(SnapshotError, match="shares another user's access key"):
        target.import_state(twins)


def test_read_bundle_refuses_what_is_no_bundle(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="cannot read"):
        read_bundle(tmp_path)
    (tmp_path / BUNDLE_FILE).write_text(yaml.safe_dump({"kind": "ReproBundle", "format": 9}))
    with pytest.raises(BundleError, match="format 9"):
        read_bundle(tmp_path)


def test_a_cluster_target_bundle_says_decisions_are_not_exposed(pytester: pytest.Pytester,
                                                                 tmp_path: Path) -> None:
    """A target that is no emulator (a served emulator described without its controls, as an
    operator describes a cluster): no decisions, no snapshot, only the scenario's own tags as
    suggested bugs."""
    from conformance.targets import describe_emulator
    from emulator.config import EmulatorConfig
    from emulator.core import Emulator
    from emulator.serving import EmulatorServer

    config = EmulatorConfig(unguarded_operations=frozenset({"GET /apis/v2beta1/experiments/{}"}))
    with EmulatorServer(Emulator(config, profiles=[])) as server:
        described = describe_emulator(server, server.write_kubeconfig(tmp_path / "kubeconfig"))
        cluster = {k: v for k, v in described.to_dict().items() if k != "emulator"}
        target = tmp_path / "cluster.yaml"
        target.write_text(yaml.safe_dump(cluster))
        found = outcomes(pytester, None, "--kfp-target", "cluster", "--kfp-target-file",
                         str(target), "-k", "experimentservice_getexperiment_as and stranger",
                         "--kfp-bundle-dir", str(tmp_path / "b"))
    assert list(found.values()) == ["fail"], found
    (bundle,) = (tmp_path / "b").iterdir()
    meta = yaml.safe_load((bundle / BUNDLE_FILE).read_text())
    assert meta["target"]["kind"] == "cluster" and meta["target"]["emulator"] is False
    assert meta["decisions"].startswith("not exposed")
    assert meta["emulator_bugs"] is None and meta["suggested_bugs"] == []
    assert "snapshot" not in meta["files"] and not (bundle / SNAPSHOT_FILE).exists()
    lines = (bundle / DECISIONS_FILE).read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["decisions"].startswith("not exposed")
    assert yaml.safe_load((bundle / CAST_FILE).read_text())["prefix"].startswith("kfpiso-")

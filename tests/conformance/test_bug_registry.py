"""The bug registry against the catalog it transcribes, the configuration that switches bugs on,
the per-bug verdicts of a run, and the commands built on them (bugs, reproduce, serve, certify)."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conformance.bug_list import tagged_scenarios
from conformance.certify import ConfigError, load_settings
from conformance.cli import build_emulator, build_parser, connection_banner
from conformance.outcomes import Outcome
from conformance.report import validate_report
from conformance.results import ScenarioResult
from conformance.vulnerabilities import Verdict, findings, verdict_of
from emulator import bugs
from emulator.config import EmulatorConfig
from tests.support.swagger import specs_dir

CLI = [sys.executable, "-m", "conformance.cli"]


def catalog_text() -> str:
    return (specs_dir() / "isolation-bugs.md").read_text(encoding="utf-8")


# -- the registry transcribes the catalog ------------------------------------------------------

def test_every_catalog_entry_is_registered_with_its_upstream_links() -> None:
    text = catalog_text()
    headings = dict(re.findall(r"^### (ISO-\d{3}) — (.+)$", text, re.M))
    assert sorted(headings) == sorted(bugs.BUGS), "registry and catalog list different ids"
    sections = re.split(r"^### ", text, flags=re.M)
    for bug in bugs.BUGS.values():
        section = next(s for s in sections if s.startswith(bug.id + " "))
        for link in bug.links:  # every link we print is one the catalog gives for the entry
            number = "#" + link.rsplit("/", 1)[1]
            assert link in section or number in section, \
                f"{bug.id}: {link} is not in the catalog's entry"
        assert bug.note, f"{bug.id} must say where it switches or why it cannot"


def test_release_profiles_are_the_catalogs_section_8_table() -> None:
    table = catalog_text().split("## 8.", 1)[1]
    rows = re.findall(r"^\| ([0-9][\w.\-]*)[^|]*\| (ISO-[^|]+)\|", table, re.M)
    assert rows, "section 8's table not found"
    transcribed = {}
    for version, cell in rows:
        numbers = set()
        for item in cell.split(","):
            match = re.match(r"\s*(?:ISO-)?(\d{3})(\S*)", item)
            assert match, item
            # "015-open variant" and "008-bypass" are open variants, not the fixed entries
            if match.group(2).startswith("-"):
                continue
            numbers.add(f"ISO-{match.group(1)}")
        transcribed[version] = numbers
    assert set(transcribed) == set(bugs.KFP_VERSIONS)
    for version, expected in transcribed.items():
        assert set(bugs.KFP_VERSIONS[version].bugs) == expected, version


def test_each_release_installs_its_object_store_and_names_itself() -> None:
    assert bugs.emulate("1.8.5").settings == {"tag_name": "1.8.5",
                                              "artifact_credentials": "shared"}
    assert bugs.emulate("2.17.0").settings["artifact_credentials"] == "per-namespace"
    assert bugs.emulate("2.18.0").switched == frozenset()
    assert "ISO-010" in bugs.emulate("2.18.0").not_expressible
    with pytest.raises(ValueError, match=r"no bug profile for KFP '9\.9'"):
        bugs.emulate("9.9")


# -- configuration -----------------------------------------------------------------------------

def test_bugs_are_validated_and_normalized_in_the_configuration() -> None:
    assert EmulatorConfig(bugs=frozenset({"iso-5", "14"})).bugs == {"ISO-005", "ISO-014"}
    assert EmulatorConfig().bugs == frozenset()  # the secure default
    with pytest.raises(ValueError, match="unknown bug 'ISO-099'"):
        EmulatorConfig(bugs=frozenset({"ISO-099"}))
    with pytest.raises(ValueError, match=r"ISO-020 cannot be switched on \(a limitation"):
        EmulatorConfig(bugs=frozenset({"ISO-020"}))
    with pytest.raises(ValueError, match=r"ISO-010 cannot be switched on \(not expressible"):
        EmulatorConfig(bugs=frozenset({"ISO-010"}))


def test_no_environment_variable_switches_a_bug_on() -> None:
    assert "bugs" not in EmulatorConfig.ENV_NAMES
    config = EmulatorConfig.from_env({"BUGS": "ISO-005", "KFP_BUGS": "ISO-005"})
    assert config.bugs == frozenset()


def test_wrong_verbs_only_with_iso_001() -> None:
    assert bugs.verb(EmulatorConfig(), "runs", "delete") == "delete"
    switched = EmulatorConfig(bugs=frozenset({"ISO-001"}))
    assert bugs.verb(switched, "runs", "delete") == "unarchive"
    assert bugs.verb(switched, "jobs", "disable") == "enable"
    assert bugs.verb(switched, "runs", "get") == "get"
    with pytest.raises(KeyError):
        bugs.on(switched, "ISO-999")


# -- detection: tags -----------------------------------------------------------------------------

def test_every_switchable_bug_and_limitation_has_a_detecting_scenario() -> None:
    tagged = tagged_scenarios()
    for bug in bugs.BUGS.values():
        if bug.expressible == "switch" or bug.id in ("ISO-020", "ISO-021"):
            assert tagged.get(bug.id), f"no scenario is tagged @{bug.id}"
    for bug_id in tagged:  # a tag must name something the suite can switch or show
        assert bugs.BUGS[bug_id].expressible in ("switch", "limitation"), bug_id


# -- verdicts ------------------------------------------------------------------------------------

def _scenario(name: str, outcome: Outcome, *tags: str) -> ScenarioResult:
    return ScenarioResult(id=f"features/x.feature::{name}", feature="X", feature_file="x.feature",
                          name=name, line=1, tags=list(tags), outcome=outcome)


@pytest.mark.parametrize(("outcomes", "verdict"), [
    ({Outcome.FAIL, Outcome.PASS}, Verdict.VULNERABLE),
    ({Outcome.FAIL, Outcome.ERROR}, Verdict.VULNERABLE),
    ({Outcome.LIMITATION_PRESENT}, Verdict.VULNERABLE),
    ({Outcome.PASS}, Verdict.NOT_VULNERABLE),
    ({Outcome.LIMITATION_LIFTED, Outcome.PASS}, Verdict.NOT_VULNERABLE),
    ({Outcome.PASS, Outcome.ERROR}, Verdict.INCONCLUSIVE),  # an error never clears a bug
    ({Outcome.NOT_SUPPORTED}, Verdict.INCONCLUSIVE),
    (set(), Verdict.INCONCLUSIVE),
])
def test_verdict_of_outcomes(outcomes: set[Outcome], verdict: Verdict) -> None:
    assert verdict_of(outcomes) is verdict


def test_findings_group_by_tag_and_keep_the_deciding_scenarios() -> None:
    run = [_scenario("a", Outcome.FAIL, "core", "ISO-005"),
           _scenario("b", Outcome.PASS, "ISO-005"),
           _scenario("c", Outcome.PASS, "ISO-012"),
           _scenario("d", Outcome.FAIL, "core"),
           _scenario("e", Outcome.NOT_SUPPORTED, "ISO-017")]
    found = {f.bug_id: f for f in findings(run)}
    assert set(found) == {"ISO-005", "ISO-012", "ISO-017"}
    assert found["ISO-005"].verdict is Verdict.VULNERABLE
    assert [s.name for s in found["ISO-005"].evidence] == ["a"]
    assert len(found["ISO-005"].scenarios) == 2
    assert found["ISO-012"].verdict is Verdict.NOT_VULNERABLE
    assert found["ISO-017"].verdict is Verdict.INCONCLUSIVE


def test_a_failure_two_bugs_share_convicts_only_the_bug_without_a_passing_scenario_of_its_own(
        ) -> None:
    # ISO-014 and ISO-015 both open the namespace-swap download; only ISO-014 opens the others.
    swap = _scenario("swap", Outcome.FAIL, "ISO-014", "ISO-015")
    run = [_scenario("no-namespace", Outcome.PASS, "ISO-014"),
           _scenario("other-namespace", Outcome.PASS, "ISO-014"), swap]
    found = {f.bug_id: f for f in findings(run)}
    assert found["ISO-014"].verdict is Verdict.NOT_VULNERABLE
    assert found["ISO-015"].verdict is Verdict.VULNERABLE
    assert found["ISO-015"].shared_with == ("ISO-014",)
    run = [_scenario("no-namespace", Outcome.FAIL, "ISO-014"),
           _scenario("other-namespace", Outcome.PASS, "ISO-014"), swap]
    found = {f.bug_id: f for f in findings(run)}
    assert found["ISO-014"].verdict is Verdict.VULNERABLE
    assert found["ISO-014"].shared_with == ()
    assert [s.name for s in found["ISO-014"].evidence] == ["no-namespace", "swap"]


# -- commands ------------------------------------------------------------------------------------

def test_bugs_command_lists_every_entry_with_its_scenarios() -> None:
    done = subprocess.run([*CLI, "bugs", "--json"], capture_output=True, text=True, check=True,
                          timeout=60)
    entries = json.loads(done.stdout)
    assert [e["id"] for e in entries] == list(bugs.BUGS)
    by_id = {e["id"]: e for e in entries}
    assert by_id["ISO-010"]["expressible"] == "no" and "visualization" in by_id["ISO-010"]["note"]
    assert by_id["ISO-020"]["scenarios"] and by_id["ISO-020"]["emulated_releases"]
    text = subprocess.run([*CLI, "bugs", "iso-21"], capture_output=True, text=True, check=True,
                          timeout=60).stdout
    assert text.startswith("ISO-021  limitation") and "detected by  limitations.feature" in text
    unknown = subprocess.run([*CLI, "bugs", "ISO-099"], capture_output=True, text=True,
                             check=False, timeout=60)
    assert unknown.returncode == 2 and "unknown ISO-099" in unknown.stderr


def _serve_args(*extra: str) -> argparse.Namespace:
    return build_parser().parse_args(["serve", "--port", "0", *extra])


def test_serve_switches_bugs_on_one_by_one_or_as_a_release() -> None:
    emulator, _ = build_emulator(_serve_args("--bug", "ISO-005", "--bug", "iso-14"))
    assert emulator.config.bugs == {"ISO-005", "ISO-014"}
    assert emulator.config.artifact_credentials == "shared"
    emulator, _ = build_emulator(_serve_args("--emulate-kfp", "2.16.0", "--bug", "ISO-012"))
    assert emulator.config.bugs == bugs.emulate("2.16.0").switched | {"ISO-012"}
    assert emulator.config.artifact_credentials == "per-namespace"
    assert emulator.config.tag_name == "2.16.0"
    emulator, _ = build_emulator(_serve_args("--emulate-kfp", "2.16.0",
                                             "--artifact-credentials", "shared"))
    assert emulator.config.artifact_credentials == "shared"  # an explicit flag wins


def test_serve_banner_says_the_bugs_are_on() -> None:
    from emulator.serving import EmulatorServer

    emulator, setup = build_emulator(_serve_args("--bug", "ISO-005"))
    with EmulatorServer(emulator, gateway_port=0, kube_port=0, object_store_port=0,
                        metadata_port=0) as server:
        banner = connection_banner(server, setup, None)
    assert "HISTORICAL BUGS ON (not a secure KFP): ISO-005" in banner
    emulator, setup = build_emulator(_serve_args())
    with EmulatorServer(emulator, gateway_port=0, kube_port=0, object_store_port=0,
                        metadata_port=0) as server:
        assert "HISTORICAL BUGS" not in connection_banner(server, setup, None)


def test_certify_takes_bugs_for_the_in_process_emulator_only(tmp_path: Path) -> None:
    settings = load_settings(None, environ={}, bugs=("ISO-005",), emulate_kfp="2.5.0")
    args = settings.pytest_args()
    assert args[args.index("--kfp-bug") + 1] == "ISO-005"
    assert args[args.index("--kfp-emulate-kfp") + 1] == "2.5.0"
    target = tmp_path / "t.yaml"
    target.write_text("{}")
    with pytest.raises(ConfigError, match="in-process emulator only"):
        load_settings(None, environ={}, target="url", target_file=str(target),
                      bugs=("ISO-005",))
    with pytest.raises(ConfigError, match="ISO-020 cannot be switched on"):
        load_settings(None, environ={}, bugs=("ISO-020",))


def _reproduce(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "reproduce", *args], capture_output=True, text=True,
                          check=False, timeout=300)


def test_reproduce_says_vulnerable_with_evidence_and_not_vulnerable(tmp_path: Path) -> None:
    shared = _reproduce("ISO-021", "--report-dir", str(tmp_path / "a"))
    assert shared.returncode == 1, shared.stdout + shared.stderr
    assert "VULNERABLE (2 of 2 scenario(s) detecting it failed)" in shared.stdout
    assert re.search(r"limitation present: .*: The object store is shared", shared.stdout)
    assert "held: Then bob receives the content of the output artifact" in shared.stdout
    report = tmp_path / "a" / "report.yaml"
    assert validate_report(report) == []
    entry = yaml.safe_load(report.read_text())["bugs"]
    assert [(e["id"], e["verdict"]) for e in entry] == [("ISO-021", "vulnerable")]
    fixed = _reproduce("ISO-021", "--emulate-kfp", "2.17.0", "--report-dir", str(tmp_path / "b"))
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "NOT VULNERABLE" in fixed.stdout


def test_reproduce_errors_are_inconclusive_not_verdicts(tmp_path: Path) -> None:
    unknown = _reproduce("ISO-099")
    assert unknown.returncode == 2 and "unknown bug" in unknown.stderr
    nothing = _reproduce("ISO-010", "--report-dir", str(tmp_path))  # no scenario can detect it
    assert nothing.returncode == 2
    assert "inconclusive" in nothing.stdout
    target = tmp_path / "t.yaml"
    target.write_text("{}")
    remote = _reproduce("ISO-005", "--bug-on", "--target", "url", "--target-file", str(target))
    assert remote.returncode == 2 and "in-process emulator only" in remote.stderr


def test_certify_names_the_bugs_its_tagged_scenarios_decided() -> None:
    from conformance.certify import bug_line
    from conformance.results import RunResult

    run = RunResult(tool_version="0", started_at="", duration=0.0, target={}, kfp_version="",
                    mode="full-inside", scenarios=[
                        _scenario("a", Outcome.FAIL, "ISO-014"),
                        _scenario("b", Outcome.PASS, "ISO-018"),
                        _scenario("c", Outcome.LIMITATION_PRESENT, "limitations", "ISO-021"),
                        _scenario("d", Outcome.NOT_SUPPORTED, "ISO-017")])
    assert bug_line(run) == ("catalogued bugs: vulnerable ISO-014; inconclusive ISO-017; "
                             "not vulnerable ISO-018; limitation present ISO-021")
    run.scenarios = [_scenario("x", Outcome.PASS, "core")]
    assert bug_line(run) == ""


def test_the_proof_wants_every_tagged_scenario_to_fail_and_nothing_else() -> None:
    from conformance.bug_detection import Proof, Run, secure_problems

    def failure(line: int, *tags: str, outcome: str = "fail") -> dict[str, object]:
        return {"id": f"s{line}", "file": "x.feature", "line": line, "outcome": outcome,
                "bugs": list(tags)}

    counts = {"pass": 10, "fail": 2}
    required = frozenset({("x.feature", 3), ("x.feature", 9), ("x.feature", 20)})
    run = Run("ISO-005", (), failing=[failure(3, "ISO-005"), failure(9, "ISO-005")],
              unsupported={("x.feature", 20)}, counts=counts)
    assert Proof(run, frozenset({"ISO-005"}), required).ok  # 20 cannot run here: fine
    partial = Run("ISO-005", (), failing=[failure(3, "ISO-005")], counts=counts)
    proof = Proof(partial, frozenset({"ISO-005"}), required)
    assert not proof.ok and proof.unproven == [("x.feature", 9), ("x.feature", 20)]
    assert "MISSED" in proof.line()
    leaked = Run("ISO-005", (), failing=[failure(3, "ISO-005"), failure(9, "ISO-005"),
                                         failure(40, outcome="error")],
                 unsupported={("x.feature", 20)}, counts=counts)
    proof = Proof(leaked, frozenset({"ISO-005"}), required)
    assert not proof.ok and "LEAKED" in proof.line()
    assert not Proof(Run("x", (), counts={}), frozenset({"ISO-005"})).ok  # no report
    secure = Run("secure", (), failing=[failure(7)], outcomes={"s3": "fail", "s4": "pass"},
                 counts=counts)
    assert not Proof(secure, frozenset()).ok
    assert secure_problems(secure) == ["s3: fail", "s7: fail (untagged)"]

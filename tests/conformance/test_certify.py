"""``kfp-isolation certify``: settings, exit codes, the four reports, nothing secret in them."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from conformance.certify import ConfigError, Settings, load_settings
from conformance.report import validate_report

CLI = [sys.executable, "-m", "conformance.cli"]


def certify(*args: str, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([*CLI, "certify", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd, check=False, timeout=300)


# -- settings ----------------------------------------------------------------------------------

def test_settings_file_then_environment_then_flags(tmp_path: Path) -> None:
    config = tmp_path / "certify.yaml"
    config.write_text(yaml.safe_dump({
        "apiVersion": "kfp-isolation/v1", "kind": "Certification", "target": "cluster",
        "targetFile": "cluster.yaml", "reportDir": "from-file", "profiles": ["core"],
        "keepTenants": True}))
    settings = load_settings(config, environ={})
    assert settings == Settings(target="cluster", target_file=str(tmp_path / "cluster.yaml"),
                                report_dir="from-file", profiles=("core",), keep_tenants=True)
    env = {"KFP_ISOLATION_REPORT_DIR": "from-env", "KFP_ISOLATION_PROFILES": "core,roles",
           "KFP_ISOLATION_KEEP_TENANTS": "false"}
    settings = load_settings(config, environ=env)
    assert (settings.report_dir, settings.profiles, settings.keep_tenants) == \
        ("from-env", ("core", "roles"), False)
    settings = load_settings(config, environ=env, report_dir="from-flag", target="inprocess",
                             profiles=None)
    assert (settings.report_dir, settings.target, settings.profiles) == \
        ("from-flag", "inprocess", ("core", "roles"))


@pytest.mark.parametrize(("content", "message"), [
    ({"apiVersion": "v0", "kind": "Certification"}, "expected apiVersion"),
    ({"apiVersion": "kfp-isolation/v1", "kind": "Certification", "target": "moon"},
     "target must be one of"),
    ({"apiVersion": "kfp-isolation/v1", "kind": "Certification", "target": "url"},
     "needs a target file"),
    ({"apiVersion": "kfp-isolation/v1", "kind": "Certification", "profiles": ["gold"]},
     "unknown profile"),
    ({"apiVersion": "kfp-isolation/v1", "kind": "Certification", "keepTenants": "maybe"},
     "keepTenants is true or false"),
    ({"apiVersion": "kfp-isolation/v1", "kind": "Certification", "colour": "red"},
     "unknown keys colour"),
])
def test_bad_settings_are_named(tmp_path: Path, content: dict[str, object],
                                message: str) -> None:
    config = tmp_path / "certify.yaml"
    config.write_text(yaml.safe_dump(content))
    with pytest.raises(ConfigError, match=message):
        load_settings(config, environ={})


def test_bad_settings_exit_2_without_running(tmp_path: Path) -> None:
    done = certify("--target", "url", "--report-dir", str(tmp_path / "r"))
    assert done.returncode == 2
    assert "needs a target file" in done.stderr
    assert not (tmp_path / "r").exists()


# -- runs --------------------------------------------------------------------------------------

def test_a_passing_run_writes_four_valid_reports_without_secrets(tmp_path: Path) -> None:
    done = certify("--feature", "identity", "--feature", "experiments",
                   "--report-dir", str(tmp_path / "report"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "identity.feature:" in done.stdout and "experiments.feature:" in done.stdout
    assert ": PASS" in done.stdout
    files = {p.name for p in (tmp_path / "report").iterdir()}
    assert files == {"report.yaml", "report.html", "junit.xml", "cucumber.json"}
    assert validate_report(tmp_path / "report" / "report.yaml") == []
    report = yaml.safe_load((tmp_path / "report" / "report.yaml").read_text())
    assert report["summary"]["verdict"] == "pass"
    # Every scenario of the two features is in core or (contributors, custom roles) in roles,
    # never both, and all of them passed.
    profiles = {p["name"]: p for p in report["profiles"]}
    assert (profiles["core"]["result"], profiles["roles"]["result"]) == ("success", "success")
    assert profiles["core"]["statistics"]["pass"] + profiles["roles"]["statistics"]["pass"] \
        == report["summary"]["counts"]["pass"]
    assert report["summary"]["counts"]["pass"] > 40
    assert {f["name"] for f in report["features"]["supported"]} == {"experiments", "identity"}
    # The in-process cast signs in with generated passwords: none reaches any output.
    users = report["target"]["users"]
    assert users and {u["password"] for u in users} == {"<redacted>"}
    texts = [done.stdout, done.stderr] + [p.read_text() for p in (tmp_path / "report").iterdir()]
    for text in texts:
        assert re.search(r"Bearer\s+(?!<redacted>)\S", text) is None
        assert re.search(r"eyJ[\w-]+\.[\w-]+\.", text) is None  # no JWT
        assert re.search(r"oauth2_proxy_kubeflow\w*=(?!<redacted>)", text) is None
    assert json.loads((tmp_path / "report" / "cucumber.json").read_text())


def test_a_violated_guarantee_exits_1_and_names_the_scenario(tmp_path: Path) -> None:
    done = certify("--feature", "experiments", "--report-dir", str(tmp_path / "r"),
                   "--unguard", "ExperimentService_GetExperiment")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL" in done.stdout and "may not read alice's experiments" in done.stdout
    report = yaml.safe_load((tmp_path / "r" / "report.yaml").read_text())
    assert report["summary"]["verdict"] == "fail"
    assert report["failures"] and all(f["outcome"] == "fail" for f in report["failures"])
    assert any(e["status"] == 200 for f in report["failures"] for e in f["exchanges"])
    bundles = tmp_path / "r" / "bundles"
    assert f"repro bundles (one per failing scenario; `kfp-isolation replay <bundle>`): " \
           f"{bundles.resolve()}/" in done.stdout
    assert len(list(bundles.iterdir())) == len(report["failures"])


def test_an_unreachable_target_is_an_error_not_a_failure(tmp_path: Path) -> None:
    target = tmp_path / "target.yaml"
    target.write_text(yaml.safe_dump({
        "apiVersion": "kfp-isolation/v1", "kind": "Target", "name": "gone",
        "mode": "full-inside", "kfp": {"direct": "http://127.0.0.1:9"},
        "kubeconfig": str(tmp_path / "missing-kubeconfig")}))
    done = certify("--target", "cluster", "--target-file", str(target), "--feature",
                   "identity", "--report-dir", str(tmp_path / "r"))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "aborted, no scenario ran: cannot use the target" in done.stdout
    report = yaml.safe_load((tmp_path / "r" / "report.yaml").read_text())
    assert report["summary"]["verdict"] == "error"
    assert "missing-kubeconfig" in report["summary"]["aborted"]
    assert set(report["summary"]["counts"].values()) == {0}  # nothing passed, nothing failed
    assert validate_report(tmp_path / "r" / "report.yaml") == []


def test_dry_run_lists_scenarios_and_touches_nothing(tmp_path: Path) -> None:
    done = certify("--dry-run", "--target", "cluster", "--target-file",
                   str(tmp_path / "nowhere.yaml"), "--feature", "identity",
                   "--report-dir", str(tmp_path / "r"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "identity.feature (5)" in done.stdout
    assert "A request without identity is refused" in done.stdout
    assert "5 scenarios would run against cluster" in done.stdout
    assert not (tmp_path / "r").exists()


def test_validate_report_command(tmp_path: Path) -> None:
    broken = tmp_path / "report.yaml"
    broken.write_text("apiVersion: kfp-isolation/v1\nkind: ConformanceReport\n")
    done = subprocess.run([*CLI, "validate-report", str(broken)], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 1
    assert "report.yaml:" in done.stderr


def test_the_same_run_over_http_gives_the_same_results(tmp_path: Path) -> None:
    """``--target url`` against a served emulator ends every scenario as the embedded one."""
    import os
    import time

    target = tmp_path / "target.yaml"
    server = subprocess.Popen([*CLI, "serve", "--port", "0", "--gateway-port", "0",
                               "--kube-port", "0", "--write-target", str(target)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ})
    try:
        deadline = time.monotonic() + 30
        while not target.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert target.exists(), "serve wrote no target file"
        selection = ("--feature", "identity", "--feature", "experiments", "--feature",
                     "deployment-mode")
        embedded = certify(*selection, "--report-dir", str(tmp_path / "embedded"))
        served = certify(*selection, "--target", "url", "--target-file", str(target),
                         "--report-dir", str(tmp_path / "served"))
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert (embedded.returncode, served.returncode) == (0, 0), served.stdout + served.stderr

    def outcomes(folder: str) -> dict[str, str]:
        """Each scenario (junit test case) and how it ended."""
        import xml.etree.ElementTree as ET

        root = ET.parse(tmp_path / folder / "junit.xml").getroot()
        return {f"{case.get('classname')}: {case.get('name')}":
                next((child.tag for child in case
                      if child.tag in ("failure", "error", "skipped")), "passed")
                for case in root.iter("testcase")}

    def counts(folder: str) -> dict[str, int]:
        report = yaml.safe_load((tmp_path / folder / "report.yaml").read_text())
        return dict(report["summary"]["counts"])

    assert outcomes("embedded") == outcomes("served")
    assert len(outcomes("served")) > 40
    assert counts("embedded") == counts("served")


@contextlib.contextmanager
def served_as_a_cluster(tmp_path: Path, mode: str) -> Iterator[tuple[Path, Path]]:
    """A served emulator described as an operator describes a real cluster: no emulator
    controls, ``mode`` left to detection, only the gateway (outside).  Yields the target file
    and the emulator's own kubeconfig (to look at what the run left behind)."""
    served = tmp_path / "served.yaml"
    setup = tmp_path / "setup.yaml"  # Dex static users for the whole cast, as on a cluster
    setup.write_text(yaml.safe_dump({"users": ["rita@example.com", "ada@example.com"]}))
    server = subprocess.Popen([*CLI, "serve", "--port", "0", "--gateway-port", "0",
                               "--kube-port", "0", "--mode", mode,
                               "--setup", str(setup), "--write-target", str(served)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ})
    try:
        deadline = time.monotonic() + 30
        while not served.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        described = yaml.safe_load(served.read_text())
        cluster = {key: value for key, value in described.items()
                   if key not in ("emulator", "mode")}
        cluster["kfp"] = {"gateway": described["kfp"]["gateway"]}  # outside: the gateway only
        cluster["name"] = "a-cluster"
        target = tmp_path / "cluster.yaml"
        target.write_text(yaml.safe_dump(cluster))
        yield target, Path(described["kubeconfig"])
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_cluster_target_against_the_emulators_surfaces(tmp_path: Path) -> None:
    """What an operator writes for a real cluster (no emulator controls, mode left to
    detection), pointed at a served emulator's Kubernetes API and gateway: the scenarios pass,
    the clock-driven one is not supported, and the mode is detected."""
    with served_as_a_cluster(tmp_path, "full-outside") as (target, _):
        done = certify("--target", "cluster", "--target-file", str(target), "--feature",
                       "access-changes", "--feature", "identity", "--feature", "experiments",
                       "--report-dir", str(tmp_path / "r"))
    assert done.returncode == 0, done.stdout + done.stderr
    report = yaml.safe_load((tmp_path / "r" / "report.yaml").read_text())
    assert report["kfp"]["mode"] == "full-outside"  # detected: a login proxy, no direct door
    counts = report["summary"]["counts"]
    assert counts["pass"] > 40 and counts["fail"] == counts["error"] == 0
    unsupported = {s["name"]: s["reason"] for s in report["skipped"]}
    assert any("emulator's controls" in reason for reason in unsupported.values()), unsupported


def test_a_standalone_cluster_is_detected_and_runs_only_its_scenarios(tmp_path: Path) -> None:
    """Standalone KFP behind its UI's port-forward, mode left to detection: the run finds it
    standalone, runs the standalone scenarios (they pass) and no other, and provisions no
    Profile (a standalone cluster has no Profile kind), even with --keep-tenants."""
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config

    with served_as_a_cluster(tmp_path, "standalone-outside") as (target, kubeconfig):
        done = certify("--target", "cluster", "--target-file", str(target), "--keep-tenants",
                       "--profile", "standalone", "--profile", "core",
                       "--report-dir", str(tmp_path / "r"))
        api = k8s_config.new_client_from_config(config_file=str(kubeconfig))
        profiles = k8s.CustomObjectsApi(api).list_cluster_custom_object(
            "kubeflow.org", "v1", "profiles")["items"]
        api.close()
    assert done.returncode == 0, done.stdout + done.stderr
    report = yaml.safe_load((tmp_path / "r" / "report.yaml").read_text())
    assert report["kfp"]["mode"] == "standalone-outside"
    counts = report["summary"]["counts"]
    profiles_run = {p["name"]: p for p in report["profiles"]}
    standalone = profiles_run["standalone"]
    assert standalone["result"] == "success" and not standalone["skipped"], standalone
    assert counts["pass"] == standalone["statistics"]["pass"] > 0, counts
    assert counts["fail"] == counts["error"] == 0 and profiles_run["core"]["statistics"][
        "pass"] == 0, counts
    skipped = report["skipped"]
    assert skipped and {s["outcome"] for s in skipped} == {"not supported"}
    assert not [s for s in skipped if s["file"].endswith("standalone.feature")], skipped
    # the deployment kind is the first thing a scenario needs, whatever order its tags have
    wanted = "needs a multi-user (full Kubeflow) deployment: a standalone-outside deployment"
    other = {s["reason"] for s in skipped if wanted not in s["reason"]}
    assert not other, other
    assert not [p for p in profiles if p["metadata"]["name"].startswith("kfpiso-")], profiles

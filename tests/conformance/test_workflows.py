"""The GitHub Actions workflows, read as data: pinned actions, least privilege, commands the CLI
really accepts, tox envs that exist, the kind job on exactly the versions of
``conformance/cluster/versions.py``, and reports kept whatever the outcome."""

from __future__ import annotations

import argparse
import configparser
import fnmatch
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.cli import build_parser
from conformance.cluster import versions

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW_DIR = ROOT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOW_DIR.glob("*.yml"))
PINNED_NAMES = ("KIND_VERSION", "KIND_NODE_IMAGE", "KUBECTL_VERSION", "KUSTOMIZE_VERSION",
                "KUBEFLOW_MANIFESTS_REF", "KFP_VERSION")
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
TAG_PIN = re.compile(r"^[\w.-]+/[\w./-]+@v\d+\.\d+\.\d+$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?:\s+#\s*(?P<comment>.*))?$")
EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")
SHELL_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path.name}: not a mapping"
    return data


def triggers(workflow: dict[Any, Any]) -> Any:
    return workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true


def jobs(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(workflow.get("jobs") or {})


def steps(workflow: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for job_id, job in jobs(workflow).items():
        for step in job.get("steps") or []:
            yield job_id, job, step


def pinned_values() -> dict[str, str]:
    values = {name: str(getattr(versions, name)) for name in PINNED_NAMES}
    values["KFP_ISOLATION_VERSION"] = metadata.version("kfp-isolation")
    return values


def environment(workflow: dict[str, Any], job: dict[str, Any],
                step: dict[str, Any]) -> dict[str, str]:
    """What a step's shell sees: the pinned versions (exported by the versions step), then the
    workflow's, job's and step's env, expressions stood in for."""
    env = {"RUNNER_TEMP": "/runner/temp", "GITHUB_SHA": "0" * 40,
           "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "owner/repo",
           "GITHUB_ENV": "/runner/env", "GITHUB_PATH": "/runner/path"}
    env.update(pinned_values())
    for scope in (workflow, job, step):
        for key, value in (scope.get("env") or {}).items():
            env[str(key)] = expand_expressions(str(value), env)
    return env


def expand_expressions(text: str, env: dict[str, str], matrix: dict[str, str] | None = None
                       ) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("env."):
            return env.get(name[4:], f"<{name}>")
        if name.startswith("matrix.") and matrix is not None:
            return matrix.get(name[7:], f"<{name}>")
        return f"<{name}>"

    return EXPRESSION.sub(value, text)


def expand(text: str, env: dict[str, str], matrix: dict[str, str] | None = None) -> str:
    """Expressions, then ``$NAME`` / ``${NAME}`` from ``env`` (unknown ones left as they are,
    the shell's own variables)."""
    text = expand_expressions(text, env, matrix)
    return SHELL_VARIABLE.sub(
        lambda m: env.get(m.group(1) or m.group(2), m.group(0)), text)


def logical_lines(script: str) -> list[str]:
    lines, pending = [], ""
    for raw in script.splitlines():
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        lines.append((pending + raw).strip())
        pending = ""
    return [line for line in lines if line]


def matrices(job: dict[str, Any]) -> list[dict[str, str]]:
    matrix = (job.get("strategy") or {}).get("matrix") or {}
    combos: list[dict[str, str]] = [{}]
    for key, values in matrix.items():
        if isinstance(values, list):
            combos = [{**c, str(key): str(v)} for c in combos for v in values]
    return combos


def commands(program: str) -> list[tuple[str, str, list[str]]]:
    """(workflow, step name, words) of every ``program ...`` line of every run script,
    expanded as the runner would (one per matrix combination)."""
    found = []
    for path in WORKFLOWS:
        workflow = load(path)
        for _, job, step in steps(workflow):
            if "run" not in step:
                continue
            env = environment(workflow, job, step)
            for combo in matrices(job):
                for line in logical_lines(expand(str(step["run"]), env, combo)):
                    for part in re.split(r"\s*(?:&&|\|\||;)\s*", line):
                        if part != program and not part.startswith(program + " "):
                            continue
                        words = shlex.split(part, comments=True)
                        found.append((path.name, str(step.get("name", "")), words))
    return found


def _cli_case(item: tuple[str, str, list[str]]) -> Any:
    workflow, step, words = item
    return pytest.param(words, id=f"{workflow}:{step}:{' '.join(words[1:3])}")


# ---- every workflow -------------------------------------------------------------------------


def test_there_are_the_three_workflows() -> None:
    assert {p.name for p in WORKFLOWS} >= {"tests.yml", "certify-emulator.yml", "kind.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_the_workflow_is_least_privilege_bounded_and_serialised(path: Path) -> None:
    workflow = load(path)
    assert triggers(workflow), "no trigger"
    assert workflow.get("permissions") == {"contents": "read"}
    assert (workflow.get("concurrency") or {}).get("group")
    for job_id, job in jobs(workflow).items():
        assert job.get("runs-on") == "ubuntu-24.04", job_id
        assert 0 < int(job.get("timeout-minutes", 0)) <= 360, f"{job_id}: no timeout"
        assert "permissions" not in job or job["permissions"] == {"contents": "read"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned(path: Path) -> None:
    workflow = load(path)
    used = [str(step["uses"]) for _, _, step in steps(workflow) if "uses" in step]
    assert used
    for ref in used:
        assert SHA_PIN.match(ref) or TAG_PIN.match(ref), f"{ref} is not pinned"
    # A commit pin says which release it is, on its own line.
    for line in path.read_text().splitlines():
        match = USES_LINE.match(line)
        if match and SHA_PIN.match(match.group("ref")):
            assert re.fullmatch(r"v\d+\.\d+\.\d+", (match.group("comment") or "").strip()), \
                f"{line.strip()}: no '# vX.Y.Z' beside the commit"


def test_one_commit_is_one_version_everywhere() -> None:
    seen: dict[str, str] = {}
    for path in WORKFLOWS:
        for line in path.read_text().splitlines():
            match = USES_LINE.match(line)
            if match and SHA_PIN.match(match.group("ref")):
                action, sha = match.group("ref").split("@")
                comment = (match.group("comment") or "").strip()
                assert seen.setdefault(action, f"{sha} {comment}") == f"{sha} {comment}", \
                    f"{path.name}: {action} pinned differently elsewhere"


def test_a_workflow_that_fails_to_parse_would_be_noticed(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("jobs:\n  a: [\n")
    with pytest.raises(yaml.YAMLError):
        load(broken)


# ---- the commands -------------------------------------------------------------------------


@pytest.mark.parametrize("words", [_cli_case(c) for c in commands("kfp-isolation")])
def test_every_kfp_isolation_command_parses(words: list[str]) -> None:
    args = build_parser().parse_args(words[1:])
    assert args.command == words[1]


def test_the_commands_were_found() -> None:
    found = {tuple(w[1:2]) for _, _, w in commands("kfp-isolation")}
    assert {("certify",), ("validate-report",), ("cluster",)} <= found


def tox_envs() -> set[str]:
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "tox.ini")
    named = {s.split(":", 1)[1] for s in config.sections() if s.startswith("testenv:")}
    listed = {e.strip() for e in re.split(r"[,\s]+", config.get("tox", "env_list", fallback=""))
              if e.strip()}
    return named | listed


def tox_envs_run() -> set[str]:
    envs: set[str] = set()
    for _, _, words in commands("tox"):
        for index, word in enumerate(words):
            if word == "-e" and index + 1 < len(words):
                envs |= set(words[index + 1].split(","))
            elif word.startswith("-e") and len(word) > 2:
                envs |= set(word[2:].split(","))
    return envs


def test_every_tox_env_named_exists_and_ci_runs_them_all() -> None:
    run = tox_envs_run()
    assert run, "no `tox -e` in any workflow"
    assert run <= tox_envs(), run - tox_envs()
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "tox.ini")
    listed = {e for e in re.split(r"[,\s]+", config.get("tox", "env_list")) if e}
    assert listed <= run, f"tox envs CI never runs: {listed - run}"


# ---- the kind job ---------------------------------------------------------------------------


def kind_workflow() -> dict[str, Any]:
    return load(WORKFLOW_DIR / "kind.yml")


def kind_step(predicate: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    workflow = kind_workflow()
    matches = [(workflow, job, step) for _, job, step in steps(workflow) if predicate(step)]
    assert len(matches) == 1, f"{len(matches)} matching steps"
    return matches[0]


def test_the_kind_job_runs_on_a_schedule_and_by_hand() -> None:
    on = triggers(kind_workflow())
    assert "workflow_dispatch" in on and on["schedule"][0]["cron"]


def test_the_versions_step_exports_exactly_the_pinned_versions(tmp_path: Path) -> None:
    _, _, step = kind_step(lambda s: "GITHUB_ENV" in str(s.get("run", ""))
                           and "versions" in str(s.get("run", "")))
    shims = tmp_path / "bin"
    shims.mkdir()
    (shims / "python").symlink_to(sys.executable)
    exported = tmp_path / "github_env"
    exported.touch()
    done = subprocess.run(["bash", "-e", "-c", str(step["run"])], capture_output=True,
                          text=True, timeout=60, check=False, cwd=ROOT,
                          env={**os.environ, "PATH": f"{shims}:{os.environ['PATH']}",
                               "GITHUB_ENV": str(exported)})
    assert done.returncode == 0, done.stderr
    values = dict(line.split("=", 1) for line in exported.read_text().splitlines())
    assert values == pinned_values()


def test_the_kind_workflow_copies_no_version_by_hand() -> None:
    text = (WORKFLOW_DIR / "kind.yml").read_text()
    for name in PINNED_NAMES:
        value = str(getattr(versions, name))
        assert value not in text, f"{name} ({value}) is written into kind.yml"
    assert "${{ env.KUBEFLOW_MANIFESTS_REF }}" in text


def test_kind_kubectl_and_kustomize_are_the_pinned_releases_checksums_verified() -> None:
    from conformance.cluster import commands as recipe_commands

    workflow, job, step = kind_step(lambda s: "kind-linux-amd64" in str(s.get("run", "")))
    script = expand(str(step["run"]), environment(workflow, job, step))
    for tool in ("kind", "kubectl"):  # the download the recipe itself tells users about
        url = re.search(r"https://[^\s,;()]+", recipe_commands.WHERE[tool])
        assert url and f'"{url.group(0)}"' in script, (tool, recipe_commands.WHERE[tool])
    assert script.count("sha256sum -c") == 3
    # kustomize: the pinned release's archive, its line of the release's checksums.txt
    release = ("https://github.com/kubernetes-sigs/kustomize/releases/download/kustomize%2F"
               + versions.KUSTOMIZE_VERSION)
    archive = f"kustomize_{versions.KUSTOMIZE_VERSION}_linux_amd64.tar.gz"
    assert f'release="{release}"' in script and f'archive="{archive}"' in script
    assert '"${release}/checksums.txt"' in script and "sha256sum -c kustomize.sha256" in script
    # ... into the folder put on PATH, where the recipe's Tools.find looks for it first
    lines = logical_lines(script)
    assert any(line.startswith("tar -xzf") and line.endswith(" kustomize") for line in lines)
    assert 'echo "/runner/temp/bin" >> "/runner/path"' in lines


def test_disk_is_freed_and_swap_turned_off_before_anything_is_installed() -> None:
    workflow, job, step = kind_step(lambda s: "swapoff -a" in str(s.get("run", "")))
    order = [s for _, _, s in steps(workflow)]
    first_action = next(i for i, s in enumerate(order) if "uses" in s)
    up = next(i for i, s in enumerate(order) if "cluster up" in str(s.get("run", "")))
    assert order.index(step) < first_action < up  # nothing of ours is there to prune yet
    script = expand(str(step["run"]), environment(workflow, job, step))
    removed = {word for line in logical_lines(script) for word in line.split()
               if word.startswith("/") and word != "/"}
    assert {"/usr/share/dotnet", "/usr/local/lib/android", "/opt/ghc"} <= removed
    python_cache = "/opt/hostedtoolcache/Python/3.11.9/x64"  # where setup-python installs
    assert not any(fnmatch.fnmatch(python_cache, word) or
                   python_cache.startswith(word.rstrip("/*") + "/") for word in removed
                   if word.startswith("/opt")), removed
    assert "docker system prune" in script


def test_the_suite_image_context_leaves_out_what_the_kind_job_writes_into_the_workspace(
        ) -> None:
    """The image is built from ``.``: the manifests checkout, the target file (passwords) and
    the recipe's state (kubeconfig) must not be sent to the builder."""
    _, _, build = kind_step(lambda s: "docker build" in str(s.get("run", "")))
    assert any(line.startswith("docker build") and line.endswith(" .")
               for line in logical_lines(str(build["run"])))
    _, _, checkout = kind_step(lambda s: (s.get("with") or {}).get("repository")
                               == "kubeflow/manifests")
    patterns = [line.strip().rstrip("/") for line in
                (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    ups = [w for name, _, w in commands("kfp-isolation")
           if name == "kind.yml" and w[1:3] == ["cluster", "up"]]
    args = _cluster_parser().parse_args(ups[0][1:])
    for written in (checkout["with"]["path"], str(args.write_target), str(args.state_dir)):
        assert any(fnmatch.fnmatch(written.rstrip("/"), pattern) for pattern in patterns), \
            f"{written} is not in .dockerignore"


def _cluster_parser() -> argparse.ArgumentParser:
    """``cluster`` on its own parser: checkable before the lead registers it."""
    from conformance.cluster import cli as cluster_cli

    parser = argparse.ArgumentParser(prog="kfp-isolation")
    cluster_cli.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser


def test_cluster_up_uses_the_pinned_manifests_and_node_image() -> None:
    _, _, checkout = kind_step(lambda s: (s.get("with") or {}).get("repository")
                               == "kubeflow/manifests")
    assert str(checkout["uses"]).startswith("actions/checkout@")
    assert checkout["with"]["ref"] == "${{ env.KUBEFLOW_MANIFESTS_REF }}"
    ups = [w for name, _, w in commands("kfp-isolation")
           if name == "kind.yml" and w[1:3] == ["cluster", "up"]]
    assert len(ups) == 1
    args = _cluster_parser().parse_args(ups[0][1:])
    assert args.node_image == pinned_values()["KIND_NODE_IMAGE"]
    assert str(args.manifests) == checkout["with"]["path"]
    certified = [w for name, _, w in commands("kfp-isolation")
                 if name == "kind.yml" and w[1] == "certify"]
    assert certified and all(_option(w, "--target-file") == str(args.write_target)
                             for w in certified)
    downs = [w for name, _, w in commands("kfp-isolation")
             if name == "kind.yml" and w[1:3] == ["cluster", "down"]]
    assert downs and _cluster_parser().parse_args(downs[0][1:]).name == args.name


def _option(words: list[str], name: str) -> str | None:
    for index, word in enumerate(words):
        if word == name and index + 1 < len(words):
            return words[index + 1]
        if word.startswith(name + "="):
            return word.split("=", 1)[1]
    return None


def test_the_suite_image_built_is_the_one_loaded_and_run_in_the_cluster() -> None:
    from conformance import incluster

    workflow, job, step = kind_step(lambda s: "kind load docker-image" in str(s.get("run", "")))
    script = expand(str(step["run"]), environment(workflow, job, step))
    image = incluster.image_of(metadata.version("kfp-isolation"))
    lines = logical_lines(script)
    tag = re.search(r'image="([^"]+)"', script)
    assert tag and tag.group(1) == image
    assert any(line.startswith("docker build -f docker/suite.Dockerfile") and '"$image"' in line
               for line in lines)
    assert any(line.startswith("kind load docker-image") and '"$image"' in line
               for line in lines)
    (in_cluster,) = [w for name, _, w in commands("kfp-isolation")
                     if name == "kind.yml" and "--in-cluster" in w]
    assert _option(in_cluster, "--image") == image and "--apply" in in_cluster


def test_the_cluster_is_always_torn_down_and_diagnosed_on_failure() -> None:
    _, _, down = kind_step(lambda s: "cluster down" in str(s.get("run", "")))
    assert "always()" in str(down.get("if"))
    _, _, diagnose = kind_step(lambda s: "kubectl get pods -A" in str(s.get("run", "")))
    assert "failure()" in str(diagnose.get("if"))
    for needed in ("kubectl describe pods -A", "kubectl logs"):
        assert needed in str(diagnose["run"])
    steps_in_order = [s for _, _, s in steps(kind_workflow())]
    assert steps_in_order[-1] == down, "tearing down must be the last step"


# ---- reports --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["certify-emulator.yml", "kind.yml"])
def test_every_report_is_validated_and_uploaded_whatever_the_outcome(name: str) -> None:
    workflow = load(WORKFLOW_DIR / name)
    report_dirs = {_option(w, "--report-dir") or "kfp-isolation-report"
                   for wf, _, w in commands("kfp-isolation") if wf == name and w[1] == "certify"}
    assert report_dirs
    uploads = [s for _, _, s in steps(workflow)
               if str(s.get("uses", "")).startswith("actions/upload-artifact@")
               and "always()" in str(s.get("if", ""))]
    uploaded = [p.strip().rstrip("/") for s in uploads
                for p in str(s["with"]["path"]).splitlines() if p.strip()]
    for folder in report_dirs:
        assert any(folder == p or folder.startswith(p + "/") for p in uploaded), \
            f"{folder} is not uploaded with if: always()"
    validations = [s for _, _, s in steps(workflow) if "validate-report" in str(s.get("run"))]
    assert validations and all("always()" in str(s.get("if", "")) for s in validations)
    validated = " ".join(str(s["run"]) for s in validations)
    for folder in report_dirs:
        assert f"{folder}/report.yaml" in validated


def test_the_test_jobs_upload_reports_and_screenshots_on_failure() -> None:
    workflow = load(WORKFLOW_DIR / "tests.yml")
    job = jobs(workflow)["tox"]
    uploads = [s for s in job["steps"]
               if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert uploads and "failure()" in str(uploads[0].get("if"))
    artifacts = expand_expressions(str(job["env"]["KFP_ISOLATION_ARTIFACTS"]),
                                   {}).replace("<github.workspace>/", "")
    assert artifacts.rstrip("/") in [p.strip().rstrip("/")
                                     for p in str(uploads[0]["with"]["path"]).splitlines()]

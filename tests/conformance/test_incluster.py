"""``certify --in-cluster``: the manifests (against the official client's models), the report
archive of the pod's log and its collector, and the Job's container run by a kubelet stand-in
against a served emulator."""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import subprocess
import sys
import tarfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from conformance import incluster
from conformance.cli import build_parser
from conformance.target import LoginUser, Target, TargetError
from conformance.targets import kube_client

CLI = [sys.executable, "-m", "conformance.cli"]
MODELS = {"Namespace": "V1Namespace", "ServiceAccount": "V1ServiceAccount",
          "ClusterRoleBinding": "V1ClusterRoleBinding", "ConfigMap": "V1ConfigMap",
          "Secret": "V1Secret", "Job": "V1Job"}
PRIMITIVES: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "bool": (bool,),
                                           "float": (int, float), "object": (object,),
                                           "datetime": (str,), "date": (str,)}


def plan(**changes: Any) -> incluster.Plan:
    values: dict[str, Any] = {"image": "example.org/suite:test", "features": ("identity",)}
    values.update(changes)
    return incluster.Plan(**values)


# -- the manifests against the official client's models -----------------------------------------

def walk(value: Any, type_name: str, where: str) -> None:
    """Every key of ``value`` must be an attribute of the model ``type_name`` (recursively):
    a misspelt or unknown key fails here, where the client would silently drop it."""
    if type_name.startswith("list["):
        assert isinstance(value, list), f"{where}: a list expected"
        for index, item in enumerate(value):
            walk(item, type_name[5:-1], f"{where}[{index}]")
        return
    if type_name.startswith("dict("):
        assert isinstance(value, dict), f"{where}: a mapping expected"
        inner = type_name[5:-1].split(", ", 1)[1]
        for key, item in value.items():
            assert isinstance(key, str)
            walk(item, inner, f"{where}.{key}")
        return
    if type_name in PRIMITIVES:
        assert isinstance(value, PRIMITIVES[type_name]), f"{where}: {type_name} expected"
        assert type_name != "int" or not isinstance(value, bool), f"{where}: int expected"
        return
    model = getattr(k8s, type_name)
    assert isinstance(value, dict), f"{where}: a {type_name} mapping expected"
    attributes = {json_key: name for name, json_key in model.attribute_map.items()}
    for key, item in value.items():
        assert key in attributes, f"{where}: {key!r} is no field of {type_name}"
        walk(item, model.openapi_types[attributes[key]], f"{where}.{key}")


@dataclass
class FakeResponse:
    data: str


def deserialize(obj: dict[str, Any]) -> Any:
    """The object as the client would read it from an API server (required fields checked
    by the models' constructors)."""
    return k8s.ApiClient().deserialize(FakeResponse(json.dumps(obj)), MODELS[obj["kind"]])


def builtin_objects(the_plan: incluster.Plan) -> list[dict[str, Any]]:
    objects = [o for o in incluster.manifests(the_plan) if o["kind"] in MODELS]
    secret = incluster.login_secret(the_plan)
    return objects + ([secret] if secret else [])


PLANS = {"multi-user": plan(users=(LoginUser("ada@example.com", password="pw"),
                                   LoginUser("rita@example.com", password_env="RITA_PW"))),
         "standalone": plan(multiuser=False, namespace="kfp-runner", profiles=("core",))}


@pytest.mark.parametrize("name", PLANS)
def test_every_builtin_object_is_a_valid_model(name: str, monkeypatch: pytest.MonkeyPatch) -> \
        None:
    monkeypatch.setenv("RITA_PW", "rita-secret")
    objects = builtin_objects(PLANS[name])
    assert {o["kind"] for o in objects} >= {"Namespace", "ServiceAccount", "ClusterRoleBinding",
                                            "ConfigMap", "Job"}
    for obj in objects:
        walk(obj, MODELS[obj["kind"]], obj["kind"])
        model = deserialize(obj)
        # nothing dropped or renamed on the way through the model
        assert k8s.ApiClient().sanitize_for_serialization(model) == obj


def test_the_model_walk_catches_a_misspelt_key() -> None:
    job = incluster.job(plan())
    job["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsNonroot"] = True
    with pytest.raises(AssertionError, match="runAsNonroot"):
        walk(job, "V1Job", "Job")
    job = incluster.job(plan())
    del job["spec"]["template"]["spec"]["containers"][0]["name"]
    with pytest.raises(ValueError, match="name"):  # a required field
        deserialize(job)


# Istio's AuthorizationPolicy (security.istio.io, istio/api security/v1beta1): the fields of
# each level, to check the custom resource's shape the client has no model for.
ISTIO_FIELDS: dict[str, set[str]] = {
    "": {"apiVersion", "kind", "metadata", "spec"},
    "metadata": {"name", "namespace", "labels", "annotations"},
    "spec": {"selector", "targetRef", "targetRefs", "rules", "action", "provider"},
    "spec.selector": {"matchLabels"},
    "spec.rules[]": {"from", "to", "when"},
    "spec.rules[].from[]": {"source"},
    "spec.rules[].from[].source": {"principals", "notPrincipals", "requestPrincipals",
                                   "notRequestPrincipals", "namespaces", "notNamespaces",
                                   "ipBlocks", "notIpBlocks", "remoteIpBlocks",
                                   "notRemoteIpBlocks"},
}


def istio_shape(value: Any, where: str = "") -> None:
    if isinstance(value, list):
        for item in value:
            istio_shape(item, where + "[]")
        return
    if not isinstance(value, dict) or where not in ISTIO_FIELDS:
        return
    unknown = set(value) - ISTIO_FIELDS[where]
    assert not unknown, f"{where or 'top'}: unknown AuthorizationPolicy fields {unknown}"
    for key, item in value.items():
        istio_shape(item, f"{where}.{key}" if where else key)


def test_the_authorization_policy_admits_exactly_the_runner_at_ml_pipeline() -> None:
    the_plan = plan(namespace="qa-runner")
    objects = incluster.manifests(the_plan)
    policy = next(o for o in objects if o["kind"] == "AuthorizationPolicy")
    istio_shape(policy)
    assert policy["apiVersion"] in ("security.istio.io/v1beta1", "security.istio.io/v1")
    # upstream's own policy for ml-pipeline lives in kubeflow and selects app: ml-pipeline
    assert policy["metadata"]["namespace"] == "kubeflow"
    assert policy["spec"]["selector"] == {"matchLabels": {"app": "ml-pipeline"}}
    assert policy["spec"].get("action", "ALLOW") == "ALLOW"
    account = next(o for o in objects if o["kind"] == "ServiceAccount")
    principals = [p for rule in policy["spec"]["rules"] for source in rule["from"]
                  for p in source["source"]["principals"]]
    assert principals == [f"cluster.local/ns/qa-runner/sa/{account['metadata']['name']}"]
    assert all(set(rule) == {"from"} for rule in policy["spec"]["rules"])  # nothing broader
    with pytest.raises(AssertionError, match="principal"):
        istio_shape({"spec": {"rules": [{"from": [{"source": {"principal": []}}]}]}})


# -- what matters in the content -------------------------------------------------------------

def pod_spec(objects: list[dict[str, Any]]) -> dict[str, Any]:
    job = next(o for o in objects if o["kind"] == "Job")
    return dict(job["spec"]["template"]["spec"])


def test_the_job_carries_the_kfp_token_runs_as_non_root_and_certifies_the_cluster() -> None:
    objects = incluster.manifests(plan(timeout=900))
    job = next(o for o in objects if o["kind"] == "Job")
    assert job["spec"]["backoffLimit"] == 0 and job["spec"]["activeDeadlineSeconds"] == 900
    assert job["spec"]["ttlSecondsAfterFinished"] > 0
    spec = pod_spec(objects)
    (container,) = spec["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    # the kfp SDK's token: projected, KFP's audience, where the SDK looks by default
    (token_volume,) = [name for name, v in volumes.items() if "projected" in v]
    (source,) = volumes[token_volume]["projected"]["sources"]
    token = source["serviceAccountToken"]
    assert token["audience"] == "pipelines.kubeflow.org"
    token_path = f"{mounts[token_volume]['mountPath']}/{token['path']}"
    assert token_path == "/var/run/secrets/kubeflow/pipelines/token"
    assert env["KF_PIPELINES_SA_TOKEN_PATH"] == token_path
    # non-root, read-only, nothing to escalate with
    context = container["securityContext"]
    assert context["runAsNonRoot"] is True and context["runAsUser"] == 10001
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["restartPolicy"] == "Never"
    # HOME, tmp and the report are on emptyDirs (the root filesystem is read-only)
    writable = [m["mountPath"] for m in mounts.values() if "emptyDir" in volumes[m["name"]]]
    args = container["args"]
    report_dir = args[args.index("--report-dir") + 1]
    for path in (env["HOME"], env["TMPDIR"], report_dir):
        assert any(path == w or path.startswith(w + "/") for w in writable), path
    # the command: certify the cluster from the ConfigMap's target file, report in the log
    assert container["command"] == ["kfp-isolation"]
    parsed = build_parser().parse_args(args)
    assert (parsed.target, parsed.report_archive, parsed.features) == \
        ("cluster", True, ["identity"])
    config_map = next(o for o in objects if o["kind"] == "ConfigMap")
    (target_volume,) = [n for n, v in volumes.items()
                        if v.get("configMap", {}).get("name") == config_map["metadata"]["name"]]
    target_key = Path(parsed.target_file).relative_to(mounts[target_volume]["mountPath"])
    target = Target.from_dict(yaml.safe_load(config_map["data"][str(target_key)]))
    assert target.kubeconfig == "in-cluster" and target.mode is not None
    assert target.mode.value == "full-inside"
    assert target.kfp_direct == "http://ml-pipeline.kubeflow.svc.cluster.local:8888"
    assert target.gateway.startswith("http://istio-ingressgateway.istio-system.svc")
    # a sidecar that lets the Job end
    meta = job["spec"]["template"]["metadata"]
    assert meta["labels"]["sidecar.istio.io/inject"] == "true"
    assert meta["annotations"]["sidecar.istio.io/nativeSidecar"] == "true"
    assert env["KFP_ISOLATION_QUIT_SIDECAR"].endswith("/quitquitquit")


@pytest.mark.parametrize("name", PLANS)
def test_every_object_lives_in_the_runner_namespace(name: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RITA_PW", "x")
    the_plan = PLANS[name]
    objects = [*incluster.manifests(the_plan), *filter(None, [incluster.login_secret(the_plan)])]
    namespace = next(o for o in objects if o["kind"] == "Namespace")["metadata"]["name"]
    assert namespace == the_plan.namespace
    for obj in objects:
        if obj["kind"] == "AuthorizationPolicy":
            assert obj["metadata"]["namespace"] == "kubeflow"
        elif obj["kind"] not in ("Namespace", "ClusterRoleBinding"):
            assert obj["metadata"]["namespace"] == namespace, obj["kind"]
    binding = next(o for o in objects if o["kind"] == "ClusterRoleBinding")
    account = next(o for o in objects if o["kind"] == "ServiceAccount")["metadata"]["name"]
    assert binding["roleRef"]["name"] == "cluster-admin"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account,
                                    "namespace": namespace}]
    assert pod_spec(objects)["serviceAccountName"] == account


@pytest.mark.parametrize("name", PLANS)
def test_the_runner_namespace_passes_kubeflows_network_policies(name: str) -> None:
    """kubeflow/manifests' NetworkPolicy ``ml-pipeline`` admits namespaces labelled
    app.kubernetes.io/part-of=kubeflow-profile (and istio-system) only."""
    objects = incluster.manifests(PLANS[name])
    namespace = next(o for o in objects if o["kind"] == "Namespace")
    assert namespace["metadata"]["labels"]["app.kubernetes.io/part-of"] == "kubeflow-profile"
    config_map = next(o for o in objects if o["kind"] == "ConfigMap")
    target = Target.from_dict(yaml.safe_load(config_map["data"]["target.yaml"]))
    assert not target.metadata  # metadata-envoy admits istio-system and kubeflow only


def test_standalone_has_no_identity_pieces() -> None:
    objects = incluster.manifests(PLANS["standalone"])
    assert "AuthorizationPolicy" not in {o["kind"] for o in objects}
    job = next(o for o in objects if o["kind"] == "Job")
    assert "sidecar.istio.io/inject" not in job["spec"]["template"]["metadata"]["labels"]
    config_map = next(o for o in objects if o["kind"] == "ConfigMap")
    target = Target.from_dict(yaml.safe_load(config_map["data"]["target.yaml"]))
    assert target.mode is not None and target.mode.value == "standalone-inside"
    assert not target.users and not target.kfp_gateway
    assert incluster.login_secret(PLANS["standalone"]) is None


def test_passwords_go_to_a_secret_never_to_the_config_map(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RITA_PW", "rita-secret")
    the_plan = PLANS["multi-user"]
    printed = incluster.yaml_stream(incluster.manifests(the_plan))
    assert "rita-secret" not in printed and "pw" not in printed.split()
    secret = incluster.login_secret(the_plan)
    assert secret is not None
    values = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert sorted(values.values()) == ["pw", "rita-secret"]
    env = pod_spec(incluster.manifests(the_plan))["containers"][0]["env"]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in env if "valueFrom" in e}
    assert {r["name"] for r in refs.values()} == {secret["metadata"]["name"]}
    assert {r["key"] for r in refs.values()} == set(values)
    config_map = next(o for o in incluster.manifests(the_plan) if o["kind"] == "ConfigMap")
    target = Target.from_dict(yaml.safe_load(config_map["data"]["target.yaml"]))
    assert {u.password_env for u in target.users} == set(refs)
    monkeypatch.delenv("RITA_PW")
    with pytest.raises(incluster.InClusterError, match="RITA_PW"):
        incluster.login_secret(the_plan)


# -- the CLI --------------------------------------------------------------------------------

def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "certify", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, check=False, timeout=120)


def test_without_apply_stdout_is_one_yaml_stream_and_no_secret(tmp_path: Path) -> None:
    target = tmp_path / "cluster.yaml"
    Target(name="c", mode=None, kfp_gateway="https://kf.example.org/pipeline",
           kubeconfig=str(tmp_path / "kubeconfig"),
           users=(LoginUser("ada@example.com", password="hunter2-secret"),)).dump(target)
    done = run_cli("--in-cluster", "--target-file", str(target), "--namespace", "qa",
                   "--image", "registry.example/suite:1", "--profile", "core")
    assert done.returncode == 0, done.stderr
    objects = list(yaml.safe_load_all(done.stdout))
    assert [o["kind"] for o in objects] == ["Namespace", "ServiceAccount",
                                            "ClusterRoleBinding", "ConfigMap",
                                            "AuthorizationPolicy", "Job"]
    assert pod_spec(objects)["containers"][0]["image"] == "registry.example/suite:1"
    assert "hunter2-secret" not in done.stdout + done.stderr
    assert "kfp-isolation-login" in done.stderr  # says which Secret to create
    # the next steps on stderr: apply, then collect and delete what was applied
    assert "kubectl apply -f -" in done.stderr
    collect = next(line for line in done.stderr.split("`") if "--collect" in line).split()
    parsed = build_parser().parse_args(collect[1:])
    assert (parsed.in_cluster, parsed.collect, parsed.delete, parsed.namespace,
            parsed.target_file) == (True, True, True, "qa", str(target))
    assert "ClusterRoleBinding" in done.stderr and "AuthorizationPolicy" in done.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--in-cluster", "--apply"], "needs --target-file"),
    (["--in-cluster", "--namespace", "Not_A_Name"], "not a namespace name"),
    (["--in-cluster", "--timeout", "0"], "--timeout"),
    (["--in-cluster", "--bug", "ISO-001"], ": --bug cannot be used with --in-cluster"),
    (["--in-cluster", "--emulator-setting", "shared_read=true"], ": --emulator-setting cannot"),
    (["--in-cluster", "--target", "inprocess"], "--target cannot be used"),
    (["--apply"], ": --apply only goes with --in-cluster"),
    (["--keep", "--image", "x/y:1"], ": --keep, --image only go with --in-cluster"),
    (["--collect", "--delete"], ": --collect, --delete only go with --in-cluster"),
    (["--namespace", "qa"], ": --namespace only goes with --in-cluster"),
    (["--timeout", "60"], ": --timeout only goes with --in-cluster"),
    (["--in-cluster", "--keep"], "--keep goes with --apply"),
    (["--in-cluster", "--delete"], "--delete goes with --collect"),
    (["--in-cluster", "--collect", "--apply"], "--collect and --apply exclude each other"),
    (["--in-cluster", "--collect"], "--collect: needs --target-file"),
    (["--in-cluster", "--target-file", "/nonexistent/t.yaml"], "cannot read target file"),
])
def test_bad_in_cluster_flags_are_exit_2_with_a_reason(args: list[str], message: str) -> None:
    done = run_cli(*args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_kube_client_in_cluster_outside_a_pod_is_a_target_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT", raising=False)
    with pytest.raises(TargetError, match="not a pod"):
        kube_client("in-cluster")


def test_the_pod_side_prints_an_archive_even_when_certify_cannot_start(tmp_path: Path) -> None:
    done = run_cli("--target", "cluster", "--report-dir", str(tmp_path / "r"),
                   "--report-archive")
    assert done.returncode == 2 and "needs a target file" in done.stderr
    got = incluster.collect(done.stdout, tmp_path / "collected")
    assert (got.code, got.problem, got.files) == (2, "", ())


# -- the report archive and its collector ---------------------------------------------------

def report_folder(root: Path) -> Path:
    (root / "bundles" / "b1").mkdir(parents=True, exist_ok=True)
    (root / "report.yaml").write_text("kind: ConformanceReport\n")
    (root / "bundles" / "b1" / "bundle.yaml").write_text("x: 1\n")
    return root


def archived(tmp_path: Path, code: int = 1) -> str:
    out = io.StringIO()
    out.write("certifying cluster ...\nsome progress line\n")
    incluster.emit_archive(report_folder(tmp_path / "pod-report"), code, out)
    return out.getvalue()


def test_an_archive_round_trips_with_the_exit_code(tmp_path: Path) -> None:
    log = archived(tmp_path, code=1)
    assert log.rstrip().splitlines()[-1] == incluster.END  # the log's last line
    got = incluster.collect(log, tmp_path / "out")
    assert (got.code, got.problem) == (1, "")
    assert sorted(got.files) == ["bundles/b1/bundle.yaml", "report.yaml"]
    assert (tmp_path / "out" / "bundles" / "b1" / "bundle.yaml").read_text() == "x: 1\n"


def test_the_last_archive_of_the_log_wins(tmp_path: Path) -> None:
    first = archived(tmp_path, code=1)
    (tmp_path / "pod-report" / "report.yaml").write_text("second\n")
    out = io.StringIO()
    incluster.emit_archive(tmp_path / "pod-report", 0, out)
    got = incluster.collect(first + out.getvalue(), tmp_path / "out")
    assert got.code == 0 and (tmp_path / "out" / "report.yaml").read_text() == "second\n"


def test_missing_truncated_and_corrupt_archives_are_harness_errors(tmp_path: Path) -> None:
    log = archived(tmp_path)
    lines = log.splitlines()
    begin = next(i for i, line in enumerate(lines) if line.startswith(incluster.BEGIN))
    cases = {
        "no report archive": "certifying cluster ...\nTraceback (most recent call last)\n",
        "truncated": "\n".join(lines[:-3]) + "\n",
        "corrupt": "\n".join([*lines[:begin + 1], "A" + lines[begin + 1][1:],
                              *lines[begin + 2:]]),
        "malformed": log.replace(" exit=1 ", " exit=one "),
        "base64": "\n".join([*lines[:begin + 1], "!!!!", *lines[begin + 1:]]),
    }
    for expected, text in cases.items():
        got = incluster.collect(text, tmp_path / f"out-{len(expected)}")
        assert got.code == 2 and expected in got.problem, (expected, got)


def test_an_exit_code_outside_0_1_2_counts_as_a_harness_error(tmp_path: Path) -> None:
    got = incluster.collect(archived(tmp_path, code=7), tmp_path / "out")
    assert got.code == 2


def tar_gz(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return buffer.getvalue()


def file_info(name: str, size: int, kind: bytes = tarfile.REGTYPE,
              link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.type, info.linkname = size, kind, link
    return info


@pytest.mark.parametrize(("member", "message"), [
    (file_info("../escaped.txt", 3), "outside the report folder"),
    (file_info("/tmp/absolute.txt", 3), "outside the report folder"),
    (file_info("a/../../escaped.txt", 3), "outside the report folder"),
    (file_info("link", 0, tarfile.SYMTYPE, "/etc/passwd"), "link"),
    (file_info("hard", 0, tarfile.LNKTYPE, "report.yaml"), "link"),
])
def test_traversal_and_links_are_refused_before_anything_is_written(
        tmp_path: Path, member: tarfile.TarInfo, message: str) -> None:
    data = tar_gz([(file_info("report.yaml", 3), b"ok\n"),
                   (member, b"bad" if member.isfile() else b"")])
    with pytest.raises(incluster.InClusterError, match=message):
        incluster.unpack(data, tmp_path / "out" / "report")
    out = tmp_path / "out"
    assert not out.exists() or not any(out.rglob("*")), "something was written"
    assert not (tmp_path / "escaped.txt").exists()


def test_an_archive_with_too_many_members_is_refused(tmp_path: Path) -> None:
    members = [(file_info(f"f{i}", 0), b"") for i in range(incluster.MAX_MEMBERS + 1)]
    too_many = f"more than {incluster.MAX_MEMBERS} members"
    with pytest.raises(incluster.InClusterError, match=too_many):
        incluster.unpack(tar_gz(members), tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert len(incluster.unpack(tar_gz(members[1:]), tmp_path / "out")) == \
        incluster.MAX_MEMBERS  # exactly the limit is fine


def test_an_archive_too_large_unpacked_is_refused(tmp_path: Path) -> None:
    data = tar_gz([(file_info("report.yaml", 2000), b"x" * 2000)])
    with pytest.raises(incluster.InClusterError, match="more than 1000 bytes"):
        incluster.unpack(data, tmp_path / "out", limit=1000)
    assert not (tmp_path / "out" / "report.yaml").exists()
    assert incluster.unpack(data, tmp_path / "out", limit=2000) == ["report.yaml"]


# -- wait and collect with a fake API ------------------------------------------------------

def pod(name: str, created: str, waiting: str = "", exit_code: int | None = None,
        container: str = "suite") -> Any:
    """A pod as the official client reads it, as far as the wait looks at it."""
    state = SimpleNamespace(
        waiting=SimpleNamespace(reason=waiting, message=f"{waiting} for {name}")
        if waiting else None,
        terminated=SimpleNamespace(exit_code=exit_code) if exit_code is not None else None)
    return SimpleNamespace(
        metadata=SimpleNamespace(name=name, creation_timestamp=created),
        status=SimpleNamespace(init_container_statuses=None, container_statuses=[
            SimpleNamespace(name=container, state=state)]))


@dataclass
class FakeKube:
    """BatchV1Api and CoreV1Api, as far as wait and collect use them.  ``failures``: per
    method name, what its next calls raise (None: answer)."""

    states: list[str | None]  # condition type per poll (None: still running)
    log: str | None = None
    pods: list[Any] | None = None  # default: one pod, running
    reads: int = 0
    asked: list[tuple[str, ...]] = field(default_factory=list)
    failures: dict[str, list[BaseException | None]] = field(default_factory=dict)

    def _fail(self, method: str) -> None:
        queue = self.failures.get(method)
        if queue:
            error = queue.pop(0)
            if error is not None:
                raise error

    def read_namespaced_job_status(self, name: str, namespace: str) -> Any:
        self._fail("status")
        state = self.states[min(self.reads, len(self.states) - 1)]
        self.reads += 1
        conditions = [SimpleNamespace(type=state, status="True", reason="BackoffLimitExceeded"
                                      if state == "Failed" else None, message=None)] \
            if state else None
        return SimpleNamespace(status=SimpleNamespace(conditions=conditions))

    def list_namespaced_pod(self, namespace: str, **kwargs: Any) -> Any:
        self._fail("list")
        self.asked.append(("list", namespace, kwargs.get("label_selector", "")))
        if self.log is None:
            return SimpleNamespace(items=[])
        if self.pods is not None:
            return SimpleNamespace(items=self.pods)
        return SimpleNamespace(items=[pod("kfp-isolation-certify-x1", "2026-01-01")])

    def read_namespaced_pod_log(self, name: str, namespace: str, **kwargs: Any) -> str:
        self._fail("log")
        self.asked.append(("log", namespace, name, kwargs.get("container", "")))
        assert self.log is not None
        return self.log


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def finish(kube: FakeKube, report: Path, timeout: float = 60) -> tuple[int, str]:
    code, message, _ = finished(kube, report, timeout)
    return code, message


def finished(kube: FakeKube, report: Path, timeout: float = 60) -> tuple[int, str, bool]:
    """(exit code, what was said, whether the Job must be kept)."""
    clock, err = FakeClock(), io.StringIO()
    result = incluster.finish(kube, kube, "runner", report, timeout, err, interval=5,
                              clock=clock, sleep=clock.sleep)
    return result.code, err.getvalue(), result.retain


def test_a_completed_job_gives_the_reported_exit_code(tmp_path: Path) -> None:
    kube = FakeKube([None, None, "Complete"], log=archived(tmp_path, code=1))
    code, message = finish(kube, tmp_path / "r")
    assert code == 1 and kube.reads == 3 and (tmp_path / "r" / "report.yaml").exists()
    assert ("list", "runner", "job-name=kfp-isolation-certify") in kube.asked
    assert ("log", "runner", "kfp-isolation-certify-x1", "suite") in kube.asked
    assert "Complete" in message


def test_a_failed_job_with_its_report_still_gives_the_reported_code(tmp_path: Path) -> None:
    kube = FakeKube(["Failed"], log=archived(tmp_path, code=1))
    assert finish(kube, tmp_path / "r")[0] == 1


def test_a_failed_job_without_a_report_is_a_harness_error(tmp_path: Path) -> None:
    code, message = finish(FakeKube(["Failed"], log="ImportError: no module\n"), tmp_path / "r")
    assert code == 2 and "harness error" in message and "no report archive" in message
    code, message = finish(FakeKube(["Failed"], log=None), tmp_path / "r")
    assert code == 2 and "no pod" in message and "BackoffLimitExceeded" in message


def test_a_job_that_never_ends_times_out_and_is_kept(tmp_path: Path) -> None:
    kube = FakeKube([None], log=archived(tmp_path))
    code, message, retain = finished(kube, tmp_path / "r", timeout=30)
    assert code == 2 and "did not finish within 30s" in message and retain
    assert 6 <= kube.reads <= 8 and not (tmp_path / "r").exists()


def test_the_newest_pod_of_the_job_is_read(tmp_path: Path) -> None:
    pods = [pod("p-middle", "2026-01-01T00:05:00Z"), pod("p-newest", "2026-01-01T00:09:00Z"),
            pod("p-oldest", "2026-01-01T00:01:00Z")]
    kube = FakeKube(["Complete"], log=archived(tmp_path, code=0), pods=pods)
    assert finish(kube, tmp_path / "r")[0] == 0
    assert [a[2] for a in kube.asked if a[0] == "log"] == ["p-newest"]


def test_a_terminated_suite_container_is_collected_before_the_job_completes(
        tmp_path: Path) -> None:
    """A classic sidecar that ignored /quitquitquit keeps the pod (and the Job) running."""
    kube = FakeKube([None], log=archived(tmp_path, code=1),
                    pods=[pod("p1", "2026-01-01", exit_code=1)])
    code, message = finish(kube, tmp_path / "r", timeout=3600)
    assert code == 1 and kube.reads == 1, message
    assert (tmp_path / "r" / "report.yaml").exists()
    # the sidecar terminating is not the suite: keep waiting
    kube = FakeKube([None], log=archived(tmp_path, code=1),
                    pods=[pod("p1", "2026-01-01", exit_code=0, container="istio-proxy")])
    assert finish(kube, tmp_path / "r2", timeout=30)[0] == 2 and kube.reads > 1


@pytest.mark.parametrize("reason", ["ImagePullBackOff", "ErrImagePull", "InvalidImageName",
                                    "CreateContainerConfigError"])
def test_a_pod_that_cannot_start_ends_the_wait_at_once(tmp_path: Path, reason: str) -> None:
    kube = FakeKube([None], log="", pods=[pod("p1", "2026-01-01", waiting=reason)])
    code, message, retain = finished(kube, tmp_path / "r", timeout=3600)
    assert code == 2 and kube.reads == 1 and not retain
    assert f"{reason}: {reason} for p1" in message and "cannot start" in message
    # a container that is merely being created is waited for
    kube = FakeKube([None, "Complete"], log=archived(tmp_path, code=0),
                    pods=[pod("p1", "2026-01-01", waiting="ContainerCreating")])
    assert finish(kube, tmp_path / "r", timeout=3600)[0] == 0


def api_error(status: int) -> Exception:
    return ApiException(status=status, reason={400: "Bad Request", 403: "Forbidden",
                                               404: "Not Found",
                                               500: "Internal Server Error"}[status])


def transport_error() -> Exception:
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    return MaxRetryError(None, "/apis/batch/v1",  # type: ignore[arg-type]
                         NewConnectionError(None, "Connection refused"))  # type: ignore[arg-type]


def test_a_job_that_is_gone_ends_the_wait_and_needs_no_keeping(tmp_path: Path) -> None:
    kube = FakeKube([None], log="", failures={"status": [api_error(404)]})
    code, message, retain = finished(kube, tmp_path / "r", timeout=3600)
    assert (code, retain) == (2, False) and "404" in message and "gone" in message


def test_transient_api_errors_during_the_wait_are_retried(tmp_path: Path) -> None:
    kube = FakeKube([None, "Complete"], log=archived(tmp_path, code=0), failures={
        "status": [api_error(500), None, transport_error()],
        "log": [api_error(400)]})  # "container is waiting to start", once
    code, message = finish(kube, tmp_path / "r")
    assert code == 0, message
    assert (tmp_path / "r" / "report.yaml").exists()


def test_api_errors_that_persist_or_cannot_heal_end_the_wait_and_keep_the_job(
        tmp_path: Path) -> None:
    kube = FakeKube([None], log=archived(tmp_path), failures={"status": [api_error(500)] * 9,
                                                              "list": [api_error(500)] * 9})
    code, message, retain = finished(kube, tmp_path / "r", timeout=3600)
    assert (code, retain) == (2, True) and "500 Internal Server Error" in message
    assert len(kube.failures["status"]) == 9 - 5  # five polls in a row, then the end
    kube = FakeKube([None], log=archived(tmp_path), failures={"status": [api_error(403)]})
    code, message, retain = finished(kube, tmp_path / "r", timeout=3600)
    assert (code, retain) == (2, True) and "403 Forbidden" in message
    assert kube.failures["status"] == []  # not retried


class RecordingApiClient(k8s.ApiClient):
    """The official client's API classes over a recording fake API server: every create
    answers its body, the Job is Complete, its one pod's log is ``log``.  ``failures``:
    "METHOD path-suffix" -> the error statuses its next calls answer; ``answers``:
    "METHOD path-suffix" -> the object it answers instead."""

    def __init__(self, log: str, failures: dict[str, list[int]] | None = None,
                 answers: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.log = log
        self.calls: list[tuple[str, str]] = []
        self.bodies: list[Any] = []
        self.failures = failures or {}
        self.answers = answers or {}

    def call_api(self, resource_path: str, method: str, path_params: Any = None,
                 query_params: Any = None, header_params: Any = None, body: Any = None,
                 response_type: str | None = None, **kwargs: Any) -> Any:
        path = resource_path.format(**(path_params or {}))
        query = dict(query_params or [])
        self.calls.append((method, path + (f"?{query['labelSelector']}"
                                           if "labelSelector" in query else "")))
        self.bodies.append(body)
        for key, statuses in self.failures.items():
            verb, suffix = key.split(" ", 1)
            if method == verb and path.endswith(suffix) and statuses:
                raise ApiException(status=statuses.pop(0), reason="Scripted")
        if path.endswith("/log"):
            return self.log
        answer: Any = body if isinstance(body, dict) else {}
        if path.endswith("/status"):
            answer = {"metadata": {"name": "kfp-isolation-certify"},
                      "status": {"conditions": [{"type": "Complete", "status": "True"}]}}
        elif path.endswith("/pods"):
            answer = {"items": [{"metadata": {"name": "kfp-isolation-certify-abc",
                                              "creationTimestamp": "2026-01-01T00:00:00Z"}}]}
        for key, value in self.answers.items():
            verb, suffix = key.split(" ", 1)
            if method == verb and path.endswith(suffix):
                answer = value
        if response_type in (None, "object"):
            return answer
        return self.deserialize(FakeResponse(json.dumps(answer)), response_type)


def test_apply_creates_waits_collects_and_deletes_in_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RITA_PW", "rita-secret")
    api = RecordingApiClient(archived(tmp_path, code=1))
    err = io.StringIO()
    the_plan = PLANS["multi-user"]
    code = incluster.apply(api, the_plan, tmp_path / "r", False, err, interval=0)
    assert code == 1, err.getvalue()
    assert (tmp_path / "r" / "report.yaml").exists()
    ns = the_plan.namespace
    made = [
        ("POST", "/api/v1/namespaces"),
        ("POST", f"/api/v1/namespaces/{ns}/serviceaccounts"),
        ("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"),
        ("POST", f"/api/v1/namespaces/{ns}/configmaps"),
        ("POST", "/apis/security.istio.io/v1beta1/namespaces/kubeflow/authorizationpolicies"),
        ("POST", f"/api/v1/namespaces/{ns}/secrets"),
        ("POST", f"/apis/batch/v1/namespaces/{ns}/jobs"),
    ]
    assert api.calls[:7] == made
    assert api.calls[7:10] == [
        ("GET", f"/apis/batch/v1/namespaces/{ns}/jobs/kfp-isolation-certify/status"),
        ("GET", f"/api/v1/namespaces/{ns}/pods?job-name=kfp-isolation-certify"),
        ("GET", f"/api/v1/namespaces/{ns}/pods/kfp-isolation-certify-abc/log")]
    deleted = [path for method, path in api.calls[10:] if method == "DELETE"]
    assert len(deleted) == len(made) == len(api.calls) - 10
    assert [p.rsplit("/", 1)[0] for p in deleted] == [p for _, p in reversed(made)]
    assert "rita-secret" not in err.getvalue()


def deletes(api: RecordingApiClient) -> list[str]:
    return [path for method, path in api.calls if method == "DELETE"]


def test_apply_with_a_password_variable_unset_creates_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RITA_PW", raising=False)
    api, err = RecordingApiClient(archived(tmp_path)), io.StringIO()
    assert incluster.apply(api, PLANS["multi-user"], tmp_path / "r", False, err) == 2
    assert "RITA_PW" in err.getvalue() and api.calls == []


def test_an_api_that_keeps_failing_during_the_wait_keeps_the_job_and_says_how_to_collect(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RITA_PW", "rita-secret")
    status = "GET /jobs/kfp-isolation-certify/status"
    api = RecordingApiClient(archived(tmp_path), failures={status: [503] * 5,
                                                          "GET /pods": [503] * 5})
    clock, err = FakeClock(), io.StringIO()
    code = incluster.apply(api, PLANS["multi-user"], tmp_path / "r", False, err, interval=1,
                           target_file=Path("t.yaml"), clock=clock, sleep=clock.sleep)
    said = err.getvalue()
    assert code == 2 and "503" in said
    assert deletes(api) == []  # the report is still in the pod
    assert "kept" in said and "Job kfp-isolation-runner/kfp-isolation-certify" in said
    command = said.split("delete them with: ", 1)[1].split()
    parsed = build_parser().parse_args(command[1:])
    assert (parsed.collect, parsed.delete, parsed.namespace, parsed.target_file) == \
        (True, True, "kfp-isolation-runner", "t.yaml")
    # one failure only: collected, everything deleted
    api = RecordingApiClient(archived(tmp_path, code=0), failures={status: [503]})
    code = incluster.apply(api, PLANS["multi-user"], tmp_path / "r2", False, io.StringIO(),
                           interval=0)
    assert code == 0 and len(deletes(api)) == 7


def test_a_pod_that_cannot_pull_its_image_is_deleted_with_the_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RITA_PW", "x")
    stuck = {"items": [{"metadata": {"name": "p1", "creationTimestamp": "2026-01-01T00:00:00Z"},
                        "status": {"containerStatuses": [{
                            "name": "suite", "image": "i", "imageID": "", "ready": False,
                            "restartCount": 0, "state": {"waiting": {
                                "reason": "ErrImagePull", "message": "not found"}}}]}}]}
    running = {"metadata": {"name": "kfp-isolation-certify"}, "status": {}}
    api = RecordingApiClient("", answers={"GET /status": running, "GET /pods": stuck})
    err = io.StringIO()
    code = incluster.apply(api, PLANS["multi-user"], tmp_path / "r", False, err, interval=0)
    assert code == 2 and "ErrImagePull: not found" in err.getvalue()
    assert len(deletes(api)) == 7


def namespace_answer(created: str, owned: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "kfp-isolation-runner", "creationTimestamp": created,
                            "labels": {"app.kubernetes.io/name": "kfp-isolation",
                                       "app.kubernetes.io/component": "runner"}}
    if owned:
        meta["ownerReferences"] = [{"apiVersion": "kubeflow.org/v1", "kind": "Profile",
                                    "name": "p", "uid": "u"}]
    return {"metadata": meta}


@pytest.mark.parametrize(("namespace", "deleted"), [
    (namespace_answer("2026-01-01T09:59:00Z"), True),  # applied with the Job
    (namespace_answer("2025-06-01T00:00:00Z"), False),  # there before, got our labels
    (namespace_answer("2026-01-01T09:59:00Z", owned=True), False),  # a Profile's
])
def test_collect_and_delete_a_job_applied_by_hand(
        tmp_path: Path, namespace: dict[str, Any], deleted: bool) -> None:
    job = {"metadata": {"name": "kfp-isolation-certify",
                        "creationTimestamp": "2026-01-01T10:00:00Z"}}
    api = RecordingApiClient(archived(tmp_path, code=1), answers={
        "GET /jobs/kfp-isolation-certify": job,
        "GET /namespaces/kfp-isolation-runner": namespace})
    the_plan = plan()
    err = io.StringIO()
    assert incluster.collect_applied(api, the_plan, tmp_path / "r", True, err,
                                     interval=0) == 1, err.getvalue()
    assert (tmp_path / "r" / "report.yaml").exists()
    gone = set(deletes(api))
    ns = the_plan.namespace
    binding = f"kfp-isolation-runner-{ns}"
    expected = {f"/apis/batch/v1/namespaces/{ns}/jobs/{incluster.JOB_NAME}",
                f"/api/v1/namespaces/{ns}/secrets/{incluster.LOGIN_SECRET}",
                f"/api/v1/namespaces/{ns}/configmaps/{incluster.TARGET_CONFIG_MAP}",
                f"/api/v1/namespaces/{ns}/serviceaccounts/{incluster.RUNNER_ACCOUNT}",
                f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{binding}",
                "/apis/security.istio.io/v1beta1/namespaces/kubeflow/authorizationpolicies/"
                + binding}
    assert gone - {f"/api/v1/namespaces/{ns}"} == expected
    assert (f"/api/v1/namespaces/{ns}" in gone) is deleted


def test_collect_without_delete_deletes_nothing_and_a_running_job_is_not_deleted(
        tmp_path: Path) -> None:
    api = RecordingApiClient(archived(tmp_path, code=0))
    assert incluster.collect_applied(api, plan(), tmp_path / "r", False, io.StringIO(),
                                     interval=0) == 0
    assert deletes(api) == []
    running = {"metadata": {"name": "kfp-isolation-certify"}, "status": {}}
    api = RecordingApiClient("", answers={"GET /status": running})
    clock, err = FakeClock(), io.StringIO()
    assert incluster.collect_applied(api, plan(), tmp_path / "r", True, err, wait_timeout=10,
                                     interval=1, clock=clock, sleep=clock.sleep) == 2
    assert deletes(api) == [] and "nothing deleted" in err.getvalue()


def unreachable_target(tmp_path: Path, password_env: str) -> Path:
    """A target file whose kubeconfig names a port nothing listens on."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:9"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    target = tmp_path / "cluster.yaml"
    Target(name="c", mode=None, kfp_gateway="https://kf.example.org/pipeline",
           kubeconfig=str(kubeconfig),
           users=(LoginUser("ada@example.com", password_env=password_env),)).dump(target)
    return target


def test_apply_with_an_unset_password_variable_is_exit_2(tmp_path: Path) -> None:
    target = unreachable_target(tmp_path, "KFP_ISOLATION_TEST_UNSET_PW")
    done = run_cli("--in-cluster", "--apply", "--target-file", str(target))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "KFP_ISOLATION_TEST_UNSET_PW" in done.stderr


@pytest.mark.parametrize("flag", ["--apply", "--collect"])
def test_an_unreachable_api_is_exit_2(tmp_path: Path, flag: str) -> None:
    target = unreachable_target(tmp_path, "ADA_PW")
    done = run_cli("--in-cluster", flag, "--target-file", str(target),
                   "--report-dir", str(tmp_path / "r"), env={"ADA_PW": "pw"})
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "refused" in done.stderr, done.stderr


# -- the kubelet stand-in: the Job's container against a served emulator ----------------------

BOOT = """
import sys
from kubernetes.config import incluster_config
# the kubelet's automounted ServiceAccount volume, where the client looks for it
incluster_config.SERVICE_TOKEN_FILENAME = {token!r}
incluster_config.SERVICE_CERT_FILENAME = {ca!r}
from conformance.cli import main
sys.argv = ["kfp-isolation", *sys.argv[1:]]
sys.exit(main())
"""


class Sidecar(BaseHTTPRequestHandler):
    """Istio's pilot-agent status port, as far as the quit endpoint goes."""

    calls: list[str] = []

    def do_POST(self) -> None:
        Sidecar.calls.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """An emulator served by the CLI (full-inside, Dex users for the cast): its target file."""
    folder = tmp_path_factory.mktemp("served")
    target, setup = folder / "served.yaml", folder / "setup.yaml"
    setup.write_text(yaml.safe_dump({"users": ["rita@example.com", "ada@example.com"]}))
    server = subprocess.Popen([*CLI, "serve", "--port", "0", "--gateway-port", "0",
                               "--kube-port", "0", "--object-store-port", "0",
                               "--metadata-port", "0", "--mode", "full-inside",
                               "--setup", str(setup), "--write-target", str(target)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not target.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        described = yaml.safe_load(target.read_text())
        # the file is written as the listeners start: wait until they answer
        kube = yaml.safe_load(Path(described["kubeconfig"]).read_text())
        for url in (described["kfp"]["direct"], kube["clusters"][0]["cluster"]["server"]):
            host, port = url.split("://", 1)[1].rsplit(":", 1)
            while True:
                try:
                    socket.create_connection((host, int(port)), timeout=1).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, f"the emulator never answered on {url}"
                    time.sleep(0.1)
        yield described
    finally:
        server.terminate()
        server.wait(timeout=30)


def runner_objects(api: Any, namespace: str) -> list[str]:
    """What of the runner is left in the emulator's Kubernetes API."""
    core, rbac = k8s.CoreV1Api(api), k8s.RbacAuthorizationV1Api(api)
    left = [f"Namespace {n.metadata.name}" for n in core.list_namespace().items
            if n.metadata.name == namespace]
    if left:
        left += [f"ServiceAccount {a.metadata.name}"
                 for a in core.list_namespaced_service_account(namespace).items
                 if a.metadata.name == incluster.RUNNER_ACCOUNT]
        left += [f"ConfigMap {c.metadata.name}"
                 for c in core.list_namespaced_config_map(namespace).items]
    left += [f"ClusterRoleBinding {b.metadata.name}"
             for b in rbac.list_cluster_role_binding().items
             if any(s.namespace == namespace for s in b.subjects or [])]
    return left


@pytest.mark.parametrize("keep", [False, True])
def test_apply_that_cannot_create_the_job_is_exit_2_and_cleans_up_unless_keep(
        served: Any, keep: bool) -> None:
    """The emulator's Kubernetes API has no batch/v1: creating the Job fails after the
    namespace, account, binding and ConfigMap were made."""
    namespace = f"runner-keep-{str(keep).lower()}"
    api = k8s_config.new_client_from_config(config_file=served["kubeconfig"])
    try:
        err = io.StringIO()
        code = incluster.apply(api, plan(multiuser=False, namespace=namespace),
                               Path("unused"), keep, err, wait_timeout=1, interval=0)
        assert code == 2
        assert f"cannot create Job {namespace}/kfp-isolation-certify: 404" in err.getvalue()
        left = runner_objects(api, namespace)
        if keep:
            assert {"Namespace " + namespace, f"ServiceAccount {incluster.RUNNER_ACCOUNT}",
                    f"ConfigMap {incluster.TARGET_CONFIG_MAP}"} <= set(left)
            assert any(item.startswith("ClusterRoleBinding") for item in left)
            assert "--keep: left" in err.getvalue()
        else:
            assert left == [], left
    finally:
        api.close()


def test_apply_uses_a_namespace_that_exists_and_never_deletes_it(served: Any) -> None:
    api = k8s_config.new_client_from_config(config_file=served["kubeconfig"])
    try:
        core = k8s.CoreV1Api(api)
        core.create_namespace({"apiVersion": "v1", "kind": "Namespace",
                               "metadata": {"name": "someone-elses"}})
        code = incluster.apply(api, plan(multiuser=False, namespace="someone-elses"),
                               Path("unused"), False, io.StringIO(), wait_timeout=1)
        assert code == 2
        assert runner_objects(api, "someone-elses") == ["Namespace someone-elses"]
    finally:
        api.close()


def test_the_jobs_container_run_by_a_kubelet_stand_in_reports_through_its_log(
        tmp_path: Path, served: Any) -> None:
    sidecar = HTTPServer(("127.0.0.1", 0), Sidecar)
    threading.Thread(target=sidecar.serve_forever, daemon=True).start()
    api = k8s_config.new_client_from_config(config_file=served["kubeconfig"])
    try:
        operator_target = Target.from_dict(served)
        the_plan = plan(namespace="qa-runner", users=operator_target.users)
        objects = incluster.manifests(the_plan)
        secret = incluster.login_secret(the_plan)
        assert secret is not None
        # "kubectl apply": everything the emulator's Kubernetes API serves (it has no
        # batch/v1 and no Istio): the stand-in plays the Job, there is no mesh
        applied = incluster.Applied()
        incluster.create(api, [o for o in [*objects[:-1], secret]
                               if o["kind"] != "AuthorizationPolicy"], applied)
        job = objects[-1]
        pod = job["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        root = tmp_path / "pod"
        core = k8s.CoreV1Api(api)
        account = pod["serviceAccountName"]
        namespace = job["metadata"]["namespace"]

        # the kubelet's side of the pod: each volume a folder, the paths in the container
        # remapped to them
        volumes = {v["name"]: v for v in pod["volumes"]}
        remap = {m["mountPath"]: root / m["name"] for m in container["volumeMounts"]}
        for folder in remap.values():
            folder.mkdir(parents=True)

        def local(text: str) -> str:
            """A path in the container, as the folder of its volume here."""
            for inside in sorted(remap, key=len, reverse=True):
                if text == inside or text.startswith(inside + "/"):
                    return str(remap[inside]) + text[len(inside):]
            return text

        for mount in container["volumeMounts"]:
            volume = volumes[mount["name"]]
            if "configMap" in volume:  # as the API server holds it, cluster names -> emulator
                data = core.read_namespaced_config_map(volume["configMap"]["name"],
                                                       namespace).data
                for key, text in data.items():
                    for inside, outside in (
                            (incluster.DIRECT_URL, served["kfp"]["direct"]),
                            (incluster.GATEWAY_URL, served["gateway"]),
                            (incluster.OBJECT_STORE_URL, served["dataPlane"]["objectStore"])):
                        text = text.replace(inside, outside)
                    (remap[mount["mountPath"]] / key).write_text(text)
            if "projected" in volume:  # a TokenRequest with the manifest's own projection
                for source in volume["projected"]["sources"]:
                    projection = source["serviceAccountToken"]
                    answer = core.create_namespaced_service_account_token(
                        account, namespace, k8s.AuthenticationV1TokenRequest(
                            spec=k8s.V1TokenRequestSpec(
                                audiences=[projection["audience"]],
                                expiration_seconds=projection["expirationSeconds"])))
                    (remap[mount["mountPath"]] / projection["path"]).write_text(
                        answer.status.token)
        # the automounted ServiceAccount token (the API server's audience) and the CA
        automount = root / "serviceaccount"
        automount.mkdir()
        from emulator.kube.tokens import API_AUDIENCE

        answer = core.create_namespaced_service_account_token(
            account, namespace, k8s.AuthenticationV1TokenRequest(
                spec=k8s.V1TokenRequestSpec(audiences=[API_AUDIENCE])))
        (automount / "token").write_text(answer.status.token)
        kubeconfig = yaml.safe_load(Path(served["kubeconfig"]).read_text())
        cluster = kubeconfig["clusters"][0]["cluster"]
        (automount / "ca.crt").write_bytes(
            base64.b64decode(cluster["certificate-authority-data"]))
        host, port = cluster["server"].removeprefix("https://").rsplit(":", 1)

        env = {"PATH": os.environ["PATH"], "KUBERNETES_SERVICE_HOST": host,
               "KUBERNETES_SERVICE_PORT": port}
        secrets = {}
        for entry in container["env"]:
            if "valueFrom" in entry:
                ref = entry["valueFrom"]["secretKeyRef"]
                if ref["name"] not in secrets:
                    secrets[ref["name"]] = core.read_namespaced_secret(ref["name"],
                                                                       namespace).data
                env[entry["name"]] = base64.b64decode(secrets[ref["name"]][ref["key"]]).decode()
            else:
                env[entry["name"]] = local(entry["value"])
        env["KFP_ISOLATION_QUIT_SIDECAR"] = env["KFP_ISOLATION_QUIT_SIDECAR"].replace(
            "127.0.0.1:15020", f"127.0.0.1:{sidecar.server_address[1]}")
        assert container["command"] == ["kfp-isolation"]  # the image's binary
        command = [sys.executable, "-c", BOOT.format(token=str(automount / "token"),
                                                     ca=str(automount / "ca.crt")),
                   *[local(arg) for arg in container["args"]]]
        done = subprocess.run(command, env=env, cwd=local(container["workingDir"]),
                              capture_output=True, text=True, timeout=300, check=False)
        log = done.stdout  # the pod's log

        collected = incluster.collect(log, tmp_path / "collected")
        assert collected.problem == "", done.stdout[-3000:] + done.stderr[-3000:]
        assert collected.code == done.returncode == 0, done.stdout[-3000:]
        assert Sidecar.calls == ["/quitquitquit"]
        report_file = tmp_path / "collected" / "report.yaml"
        check = subprocess.run([*CLI, "validate-report", str(report_file)],
                               capture_output=True, text=True, timeout=60, check=False)
        assert check.returncode == 0, check.stdout + check.stderr
        report = yaml.safe_load(report_file.read_text())
        assert report["kfp"]["mode"] == "full-inside"
        assert report["summary"]["counts"]["pass"] >= 3
        # the kfp SDK's token where KF_PIPELINES_SA_TOKEN_PATH says, good for KFP's audience
        review = k8s.AuthenticationV1Api(api).create_token_review(k8s.V1TokenReview(
            spec=k8s.V1TokenReviewSpec(token=Path(env["KF_PIPELINES_SA_TOKEN_PATH"]).read_text(),
                                       audiences=["pipelines.kubeflow.org"])))
        assert review.status.authenticated is True
        assert review.status.user.username == f"system:serviceaccount:{namespace}:{account}"
        for user in operator_target.users:  # passwords reached the pod, never its log
            assert user.password not in log
        incluster.delete(api, applied.objects, io.StringIO())
        assert runner_objects(api, namespace) == []
    finally:
        sidecar.shutdown()
        api.close()

"""The kind recipe's steps, with the binaries replaced by a recording runner and everything
behind the Kubernetes API and the gateway served for real by an emulator (full-outside).

What the runner fakes: ``kind`` (the cluster list, and a create that writes the emulator's
kubeconfig where kind would), ``kustomize``/``kubectl`` (build, apply, wait, rollout status) and
the port-forward (the emulator's gateway already listens on the port).  What runs for real: the
tenant profiles through the official client, the sign-in through the gateway, the target file
and its use by ``conformance.targets``.  Dex's own ConfigMap is not in the emulator, so the Dex
step is replaced by one that gives the emulator's gateway the same users and passwords.
"""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s

from conformance import cast
from conformance.cluster import commands, recipe
from conformance.login import InvalidCredentials, login_cookies
from conformance.provisioning import wait_for
from conformance.target import Target
from conformance.targets import Person, connect
from emulator.core import Emulator
from emulator.modes import Mode
from emulator.serving import EmulatorServer
from emulator.testing import assert_denied

ALL_TOOLS = {"kind", "kubectl", "kustomize", "git", "docker"}


def which(present: set[str] = ALL_TOOLS) -> Callable[[str], str | None]:
    """A stand-in for shutil.which that finds only ``present``."""
    return lambda name: f"/usr/bin/{name}" if name in present else None


# The workloads of the fake cluster ``kubectl wait`` looks at: (namespace, kind, name) and
# labels, written here after kubeflow/manifests 26.03 (see conformance.cluster.commands.READY
# for where each label comes from), with components the suite does not need among them.
INVENTORY: dict[tuple[str, str, str], dict[str, str]] = {
    ("cert-manager", "deployment", "cert-manager-webhook"):
        {"app": "webhook", "app.kubernetes.io/instance": "cert-manager"},
    ("istio-system", "deployment", "istiod"): {"app": "istiod", "istio": "pilot"},
    ("istio-system", "deployment", "istio-ingressgateway"): {"app": "istio-ingressgateway"},
    ("istio-system", "deployment", "cluster-local-gateway"): {"app": "cluster-local-gateway"},
    ("istio-system", "deployment", "cluster-jwks-proxy"):
        {"app.kubernetes.io/name": "cluster-jwks-proxy"},
    ("auth", "deployment", "dex"): {"app": "dex"},
    ("oauth2-proxy", "deployment", "oauth2-proxy"): {"app": "oauth2-proxy"},
    ("kubeflow", "deployment", "profiles-deployment"): {"kustomize.component": "profiles"},
    ("kubeflow", "deployment", "ml-pipeline"):
        {"app": "ml-pipeline", "application-crd-id": "kubeflow-pipelines"},
    ("kubeflow", "pods", "ml-pipeline-5d9c7"):
        {"app": "ml-pipeline", "application-crd-id": "kubeflow-pipelines"},
    ("kubeflow", "pods", "metacontroller-0"):
        {"app": "metacontroller", "application-crd-id": "kubeflow-pipelines"},
    ("kubeflow", "deployment", "centraldashboard"): {"app": "centraldashboard"},
    ("kubeflow", "deployment", "katib-controller"): {"katib.kubeflow.org/component": "controller"},
    ("kubeflow", "deployment", "kserve-controller-manager"): {"app": "kserve"},
    ("knative-serving", "deployment", "activator"): {"app.kubernetes.io/name": "knative-serving"},
}
NOT_NEEDED = {"cluster-local-gateway", "centraldashboard", "katib-controller",
              "kserve-controller-manager", "activator"}


def selects(selector: str, labels: Mapping[str, str]) -> bool:
    """A label selector as kubectl reads it: ``k=v`` and ``k in (a,b)`` terms, all must hold."""
    for term in re.split(r",(?![^(]*\))", selector):
        found = re.fullmatch(r"\s*([\w./-]+)\s+in\s+\(([^)]*)\)\s*", term)
        if found:
            ok = labels.get(found[1]) in [v.strip() for v in found[2].split(",")]
        else:
            key, _, value = term.partition("=")
            ok = labels.get(key.strip()) == value.strip()
        if not ok:
            return False
    return True


class RecordingRunner:
    """Records every command; plays kind with an emulator standing in for the cluster, and
    ``kubectl wait`` over :data:`INVENTORY` (the ``unready`` names never get there)."""

    def __init__(self, server: EmulatorServer | None = None, apply_failures: int = 0,
                 unready: set[str] | None = None,
                 inventory: dict[tuple[str, str, str], dict[str, str]] | None = None) -> None:
        self.server = server
        self.unready = unready or set()
        self.inventory = INVENTORY if inventory is None else inventory
        self.waited: list[str] = []  # the names each wait selected
        self.clusters: set[str] = set()
        self.commands: list[list[str]] = []
        self.inputs: list[str | None] = []
        self.apply_failures = apply_failures
        self.background: list[tuple[list[str], Path]] = []
        self.running: set[int] = set()
        self.stopped: list[int] = []

    def run(self, argv: list[str], input: str | None = None) -> subprocess.CompletedProcess[str]:
        self.commands.append(argv)
        self.inputs.append(input)
        tool, args = Path(argv[0]).name, argv[1:]
        out, code, err = "", 0, ""
        if tool == "kind" and args[:2] == ["get", "clusters"]:
            out = "".join(f"{name}\n" for name in sorted(self.clusters))
        elif tool == "kind" and args[:2] in (["create", "cluster"], ["export", "kubeconfig"]):
            self.clusters.add(args[args.index("--name") + 1])
            kubeconfig = Path(args[args.index("--kubeconfig") + 1])
            if self.server is not None:
                self.server.write_kubeconfig(kubeconfig)
        elif tool == "kind" and args[:2] == ["delete", "cluster"]:
            self.clusters.discard(args[args.index("--name") + 1])
        elif tool == "kustomize":
            out = f"# built from {args[-1]}\napiVersion: v1\nkind: Namespace\n"
        elif "apply" in args and self.apply_failures > 0:
            self.apply_failures -= 1
            code, err = 1, 'no matches for kind "Profile" in version "kubeflow.org/v1"'
        elif tool == "kubectl" and "wait" in args:
            code, err = self.wait(args)
        return subprocess.CompletedProcess(argv, code, out, err)

    def wait(self, args: list[str]) -> tuple[int, str]:
        namespace = args[args.index("-n") + 1]
        resource = "pods" if "pods" in args else "deployment"
        chosen = [name for (ns, kind_, name), labels in self.inventory.items()
                  if ns == namespace and kind_ == resource and
                  ("--all" in args or selects(args[args.index("-l") + 1], labels))]
        self.waited.extend(chosen)
        if not chosen:
            return 1, "error: no matching resources found"
        stuck = [name for name in chosen if name in self.unready]
        if stuck:
            return 1, f"error: timed out waiting for the condition on {resource}s/{stuck[0]}"
        return 0, ""

    def start_background(self, argv: list[str], log_path: Path) -> int:
        assert log_path.parent.is_dir()
        self.background.append((argv, log_path))
        pid = 40000 + len(self.background)
        self.running.add(pid)
        return pid

    def alive(self, pid: int) -> bool:
        return pid in self.running

    def stop(self, pid: int) -> None:
        self.running.discard(pid)
        self.stopped.append(pid)

    def verbs(self) -> list[str]:
        """Each command as ``tool verb`` (``kind create``, ``kubectl wait``...)."""
        named = []
        for argv in self.commands:
            args = argv[1:]
            if args[:1] == ["--kubeconfig"]:
                args = args[2:]
            named.append(f"{Path(argv[0]).name} {args[0]}")
        return named


@pytest.fixture
def served() -> Iterator[EmulatorServer]:
    """An empty full Kubeflow (no profiles, no login users yet), reached from outside."""
    with EmulatorServer(Emulator(profiles=[], mode=Mode.FULL_OUTSIDE, login_users={})) as server:
        yield server


def dex_of(server: EmulatorServer) -> recipe.RegisterUsers:
    """In place of Dex's ConfigMap: the emulator's gateway gets exactly these users."""
    def register(api: k8s.ApiClient, passwords: Mapping[str, str]) -> None:
        assert isinstance(api, k8s.ApiClient)
        with server.emulator.kfp.state.lock:
            server.emulator.login_users.clear()
            server.emulator.login_users.update(passwords)
    return register


def make_checkout(root: Path, *, m2m: bool = True) -> Path:
    """A tiny stand-in for a kubeflow/manifests checkout: ``example`` and, unless ``m2m`` is
    off, the two oauth2-proxy components the recipe's overlay adds (written here, not copied)."""
    files = {
        "example/kustomization.yaml": "resources:\n- marker.yaml\n",
        "example/marker.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: marker\n"
                               "  namespace: kubeflow\n",
    }
    if m2m:
        component = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n" \
                    "resources:\n- object.yaml\n"
        files.update({
            f"{commands.M2M_COMPONENTS[0]}/kustomization.yaml": component,
            f"{commands.M2M_COMPONENTS[0]}/object.yaml":
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: cluster-jwks-proxy\n"
                "  namespace: istio-system\n",
            f"{commands.M2M_COMPONENTS[1]}/kustomization.yaml": component,
            f"{commands.M2M_COMPONENTS[1]}/object.yaml":
                "apiVersion: security.istio.io/v1beta1\nkind: RequestAuthentication\n"
                "metadata:\n  name: m2m-token-issuer\n  namespace: istio-system\n"
                "spec:\n  jwtRules:\n  - issuer: PATCH_ME\n",
        })
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def options(tmp_path: Path, server: EmulatorServer | None = None,
            **changes: object) -> recipe.Options:
    manifests = make_checkout(tmp_path / "manifests")
    values: dict[str, object] = {
        "name": "kfpiso-test", "manifests": manifests, "state_dir": tmp_path / "state",
        "write_target": tmp_path / "kfp-isolation-cluster.yaml",
        "gateway_port": int(server.gateway_url.rsplit(":", 1)[1]) if server else 8080,
        "timeout": 20.0, "retry_interval": 0.0}
    values.update(changes)
    return recipe.Options(**values)  # type: ignore[arg-type]


def run_up(tmp_path: Path, served: EmulatorServer, runner: RecordingRunner,
           lines: list[str], **changes: object) -> recipe.Outcome:
    return recipe.up(options(tmp_path, served, **changes), runner, which=which(),
                     register_users=dex_of(served), progress=lines.append)


def test_up_runs_the_steps_in_order_and_writes_a_usable_target(
        tmp_path: Path, served: EmulatorServer) -> None:
    runner, lines = RecordingRunner(served), []
    done = run_up(tmp_path, served, runner, lines)

    # one progress line per step, in the recipe's order
    assert [line.split("]")[0] for line in lines] == [f"[{i}/10" for i in range(1, 11)]
    assert [line.split("] ")[1].split(":")[0] for line in lines] == list(recipe.STEPS)
    # the binaries, in order: list, create, build, apply the build, wait, Dex rollout
    waits = runner.verbs().count("kubectl wait")
    assert waits >= 5 and runner.verbs() == [
        "kind get", "kind create", "kustomize build", "kubectl apply", *["kubectl wait"] * waits,
        "kubectl rollout"]
    build = runner.commands[2]
    overlay = tmp_path / "state" / "kfpiso-test" / "install"
    assert build[-1] == str(overlay.resolve())  # the manifests' example plus the m2m parts
    written = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    assert [(overlay / r).resolve() for r in written["resources"]] == \
        [(tmp_path / "manifests" / "example").resolve()]
    assert [(overlay / c).resolve() for c in written["components"]] == \
        [(tmp_path / "manifests" / c).resolve() for c in commands.M2M_COMPONENTS]
    assert runner.inputs[3] == runner.run(build).stdout  # the build is what is applied
    # readiness: what the suite needs, each by a selector, nothing else
    assert set(runner.waited) == {name for (_, _, name) in INVENTORY} - NOT_NEEDED
    assert all("-l" in c and "--all" not in c for c in runner.commands if "wait" in c)
    config = yaml.safe_load((tmp_path / "state" / "kfpiso-test" / "kind-config.yaml").read_text())
    assert config["name"] == "kfpiso-test"
    assert runner.commands[1][runner.commands[1].index("--config") + 1].endswith("kind-config.yaml")
    [(forward, log)] = runner.background
    assert "port-forward" in forward and log.name == "port-forward.log"
    assert (tmp_path / "state" / "kfpiso-test" / "port-forward.pid").read_text().strip() == "40001"
    assert lines[8].endswith("alice@example.com signed in, healthz multi_user=true")

    # the tenant profiles, made through the Kubernetes API by the suite's own code
    profiles = served.emulator.cluster.profiles
    assert {name: profiles[name].owner for name in profiles} == {
        "kfp-isolation-alice": "alice@example.com", "kfp-isolation-bob": "bob@example.com"}

    # the target file: private, complete, no password on the console
    assert done.created and done.target_file == (tmp_path / "kfp-isolation-cluster.yaml").resolve()
    assert stat.S_IMODE(done.target_file.stat().st_mode) == 0o600
    target = Target.load(done.target_file)
    assert target.name == "kind-kfpiso-test" and target.mode is None
    port = options(tmp_path, served).gateway_port
    assert target.kfp_gateway == f"http://127.0.0.1:{port}/pipeline"
    assert Path(target.kubeconfig).is_absolute() and Path(target.kubeconfig).exists()
    assert {u.email for u in target.users} == set(cast.PEOPLE.values())
    console = "\n".join(lines)
    assert all(user.password not in console for user in target.users)

    # what certify does with it: detect the mode, sign in with the written passwords
    with connect(target) as connection:
        assert connection.mode is Mode.FULL_OUTSIDE
        alice = connection.session(Person("alice@example.com"))
        assert alice.get("/apis/v2beta1/experiments?namespace=kfp-isolation-alice") \
            .status_code == 200
        assert_denied(connection.session(Person("bob@example.com")).get(
            "/apis/v2beta1/experiments?namespace=kfp-isolation-alice"))


def test_up_again_keeps_the_cluster_and_refreshes_passwords_and_port_forward(
        tmp_path: Path, served: EmulatorServer) -> None:
    runner = RecordingRunner(served)
    first = run_up(tmp_path, served, runner, [])
    runner.commands.clear()
    lines: list[str] = []
    second = run_up(tmp_path, served, runner, lines)

    assert not second.created
    assert "kind create" not in runner.verbs() and "kind export" in runner.verbs()
    assert "exists already" in lines[2]
    assert runner.stopped == [40001] and runner.running == {40002}
    assert len(served.emulator.cluster.profiles) == 2
    old = dict((u.email, u.password) for u in first.target.users)
    new = dict((u.email, u.password) for u in Target.load(second.target_file).users)
    assert old.keys() == new.keys() and all(old[e] != new[e] for e in old)
    gateway = second.target.kfp_gateway
    with pytest.raises(InvalidCredentials):
        login_cookies(gateway, "alice@example.com", old["alice@example.com"])
    assert login_cookies(gateway, "alice@example.com", new["alice@example.com"])


def test_apply_is_retried_until_the_crds_are_served(tmp_path: Path,
                                                    served: EmulatorServer) -> None:
    runner, lines = RecordingRunner(served, apply_failures=2), []
    run_up(tmp_path, served, runner, lines)
    assert runner.verbs().count("kubectl apply") == 3
    assert runner.verbs().count("kustomize build") == 1
    assert "attempt 3" in lines[3]


def test_apply_that_never_succeeds_fails_the_step_with_its_error(tmp_path: Path) -> None:
    runner, lines = RecordingRunner(apply_failures=10**6), []
    with pytest.raises(recipe.StepFailed, match='no matches for kind "Profile"'):
        recipe.up(options(tmp_path, timeout=0.2, retry_interval=0.05), runner, which=which(),
                  progress=lines.append)
    assert lines[-1] == "[4/10] install: failed"
    assert runner.verbs().count("kubectl apply") >= 2
    assert not (tmp_path / "kfp-isolation-cluster.yaml").exists()


def test_components_the_suite_does_not_need_do_not_hold_up_readiness(
        tmp_path: Path, served: EmulatorServer) -> None:
    runner, lines = RecordingRunner(served, unready=NOT_NEEDED), []
    assert run_up(tmp_path, served, runner, lines).target_file.exists()
    assert "Kubeflow Pipelines" in lines[4] and "failed" not in lines[4]


@pytest.mark.parametrize("stuck", ["ml-pipeline", "metacontroller-0", "profiles-deployment",
                                   "dex", "oauth2-proxy", "istio-ingressgateway",
                                   "cert-manager-webhook", "cluster-jwks-proxy"])
def test_readiness_that_fails_fails_the_step_with_kubectls_error(tmp_path: Path,
                                                                  stuck: str) -> None:
    runner, lines = RecordingRunner(unready={stuck}), []
    with pytest.raises(recipe.StepFailed) as raised:
        recipe.up(options(tmp_path), runner, which=which(), progress=lines.append)
    assert "timed out waiting for the condition on " in str(raised.value)
    assert str(raised.value).endswith(f"/{stuck}")
    assert lines[-1] == "[5/10] readiness: failed"
    assert "kubectl rollout" not in runner.verbs()  # no Dex users, no profiles, no target
    assert not (tmp_path / "kfp-isolation-cluster.yaml").exists()


def test_kfp_not_installed_at_all_fails_readiness_naming_the_selector(tmp_path: Path) -> None:
    without_kfp = {key: labels for key, labels in INVENTORY.items()
                   if labels.get("application-crd-id") != "kubeflow-pipelines"}
    lines: list[str] = []
    with pytest.raises(recipe.StepFailed,
                       match=r"nothing installed matches Kubeflow Pipelines .*"
                             r"application-crd-id=kubeflow-pipelines -n kubeflow"):
        recipe.up(options(tmp_path), RecordingRunner(inventory=without_kfp), which=which(),
                  progress=lines.append)
    assert lines[-1] == "[5/10] readiness: failed"


def test_the_poll_helper_the_recipe_waits_with() -> None:
    """provisioning.wait_for: polls until true, counts the calls, never sleeps past the
    deadline (the last call is at it), and a probe that raises stops it at once."""
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    answers = iter([False, False, True])
    assert wait_for("x", lambda: next(answers), 10, 3, sleep=sleep, clock=lambda: now[0]) == 3
    assert slept == [3, 3]

    calls, slept[:], now[0] = [], [], 0.0
    with pytest.raises(TimeoutError, match="waiting for never"):
        wait_for("never", lambda: calls.append(now[0]) is not None, 7, 3, sleep=sleep,
                 clock=lambda: now[0])
    assert slept == [3, 3, 1] and calls == [0, 3, 6, 7]

    def gone() -> bool:
        raise recipe.StepFailed("port-forward exited")
    with pytest.raises(recipe.StepFailed, match="port-forward exited"):
        wait_for("y", gone, 10, 1, sleep=sleep, clock=lambda: now[0])


def test_missing_tools_stop_up_before_anything_is_made(tmp_path: Path) -> None:
    runner, lines = RecordingRunner(), []
    with pytest.raises(commands.MissingTools, match=r"kind .*container engine"):
        recipe.up(options(tmp_path), runner, which=which({"kubectl"}), progress=lines.append)
    assert runner.commands == [] and not (tmp_path / "state").exists()
    assert lines == ["[1/10] tools: failed"]


def test_git_is_needed_for_kustomizes_remote_bases(tmp_path: Path) -> None:
    with pytest.raises(commands.MissingTools, match="git"):
        recipe.up(options(tmp_path), RecordingRunner(),
                  which=which(ALL_TOOLS - {"git"}), progress=lambda line: None)


@pytest.mark.parametrize("changes, message", [
    ({"manifests": Path("/nonexistent/manifests")}, "no such directory"),
    ({"kustomization": "nope"}, "has no kustomization.yaml"),
    ({"kustomize": "/tmp"}, "give --manifests or --kustomize, not both"),
    ({"manifests": None, "kustomize": "/nonexistent"}, "not a directory with a kustomization"),
    ({"name": "bad name"}, "--name"),
    ({"gateway_port": 0}, "not a TCP port"),
    ({"timeout": 0}, "must be positive"),
])
def test_bad_options_are_configuration_errors(tmp_path: Path, changes: dict[str, object],
                                              message: str) -> None:
    with pytest.raises(recipe.ClusterError, match=message):
        options(tmp_path, **changes).check()


def test_sources(tmp_path: Path) -> None:
    default = options(tmp_path, manifests=None).source()
    assert default.resource.startswith("https://github.com/kubeflow/manifests//example?ref=")
    assert [c.split("//")[2].split("?")[0] for c in default.components] == \
        list(commands.M2M_COMPONENTS)
    assert default.overlay(tmp_path / "o1") == str((tmp_path / "o1").resolve())
    written = yaml.safe_load((tmp_path / "o1" / "kustomization.yaml").read_text())
    assert written["resources"] == [default.resource]  # remote targets stay URLs

    remote = "https://github.com/kubeflow/pipelines//manifests/kustomize/env/" \
             "platform-agnostic-multi-user?ref=2.16.0"
    given = options(tmp_path, manifests=None, kustomize=remote).source()
    assert (given.resource, given.components) == (remote, ())
    assert given.overlay(tmp_path / "o2") == remote and not (tmp_path / "o2").exists()
    local = tmp_path / "manifests" / "example"
    assert options(tmp_path, manifests=None, kustomize=str(local)).source().resource == \
        str(local.resolve())


def test_a_checkout_without_the_m2m_components_is_installed_as_it_is(
        tmp_path: Path, served: EmulatorServer) -> None:
    bare = make_checkout(tmp_path / "bare", m2m=False)
    runner, lines = RecordingRunner(served), []
    run_up(tmp_path, served, runner, lines, manifests=bare)
    assert runner.commands[2][-1] == str((bare / "example").resolve())
    assert "will not accept ServiceAccount tokens" in lines[3]
    assert "cluster-jwks-proxy" not in runner.waited  # only the m2m overlay installs it


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs kubectl's kustomize")
def test_the_overlay_builds_with_kustomize(tmp_path: Path) -> None:
    """The overlay the recipe writes, built for real: the example's objects, the components'
    and the RequestAuthentication trusting this cluster's ServiceAccount issuer."""
    source = options(tmp_path).source()
    built = subprocess.run(["kubectl", "kustomize", source.overlay(tmp_path / "state" / "o")],
                           capture_output=True, text=True, check=False, timeout=120)
    assert built.returncode == 0, built.stderr
    objects = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(built.stdout)}
    assert set(objects) == {("ConfigMap", "marker"), ("Service", "cluster-jwks-proxy"),
                            ("RequestAuthentication", "m2m-token-issuer")}
    rules = objects[("RequestAuthentication", "m2m-token-issuer")]["spec"]["jwtRules"]
    assert rules == [{"issuer": "https://kubernetes.default.svc", "jwksUri": commands.JWKS_URI},
                     {"issuer": "https://kubernetes.default.svc.cluster.local",
                      "jwksUri": commands.JWKS_URI}]


def test_down_after_up_removes_everything_it_made(tmp_path: Path,
                                                  served: EmulatorServer) -> None:
    runner = RecordingRunner(served)
    done = run_up(tmp_path, served, runner, [])
    other = tmp_path / "other-target.yaml"
    other.write_text("kind: Target\nname: someone-else\n")
    lines: list[str] = []
    did = recipe.down(options(tmp_path, served), runner, which=which({"kind", "kubectl"}),
                      progress=lines.append)
    assert runner.stopped == [40001]
    assert "kind delete" in runner.verbs() and runner.clusters == set()
    assert not done.target_file.exists() and other.exists()
    assert not (tmp_path / "state").exists()
    assert len(did) == 4 and lines == did


def test_down_when_nothing_exists_is_harmless(tmp_path: Path) -> None:
    runner, lines = RecordingRunner(), []
    assert recipe.down(options(tmp_path), runner, which=which({"kind", "kubectl"}),
                       progress=lines.append) == []
    assert runner.verbs() == ["kind get"]
    assert lines == ["nothing to do: no cluster kfpiso-test, no state"]


def test_down_keeps_a_target_file_that_now_describes_something_else(
        tmp_path: Path, served: EmulatorServer) -> None:
    runner = RecordingRunner(served)
    done = run_up(tmp_path, served, runner, [])
    done.target_file.write_text(yaml.safe_dump({"name": "edited-by-hand"}))
    recipe.down(options(tmp_path, served), runner, which=which(), progress=lambda line: None)
    assert done.target_file.exists()


def test_status_reports_cluster_port_forward_and_gateway(tmp_path: Path,
                                                         served: EmulatorServer) -> None:
    runner = RecordingRunner(served)
    run_up(tmp_path, served, runner, [])
    lines: list[str] = []
    found = recipe.status(options(tmp_path, served), runner, which=which(),
                          progress=lines.append)
    assert found.cluster and found.port_forward == 40001 and found.healthy
    assert found.gateway.startswith("HTTP 302") or found.gateway.startswith("HTTP 401")
    assert len(lines) == 3

    runner.stop(40001)
    runner.clusters.clear()
    gone = recipe.status(options(tmp_path, served), runner, which=which(),
                         progress=lambda line: None)
    assert not gone.cluster and gone.port_forward is None and not gone.healthy


def test_status_of_a_gateway_nobody_listens_on(tmp_path: Path) -> None:
    from emulator.serving import free_port

    found = recipe.status(options(tmp_path, gateway_port=free_port()), RecordingRunner(),
                          which=which(), progress=lambda line: None)
    assert found.gateway.startswith("unreachable") and not found.healthy


def test_a_port_forward_that_ends_fails_the_sign_in_at_once_with_its_log(
        tmp_path: Path, served: EmulatorServer) -> None:
    class DyingForward(RecordingRunner):
        def start_background(self, argv: list[str], log_path: Path) -> int:
            log_path.write_text("Unable to listen on port 8080: address already in use\n")
            return super().start_background(argv, log_path)

        def alive(self, pid: int) -> bool:
            return False

    lines: list[str] = []
    with pytest.raises(recipe.StepFailed, match="address already in use"):
        run_up(tmp_path, served, DyingForward(served), lines, timeout=600.0)
    assert lines[-1] == "[9/10] gateway sign-in: failed"


def test_a_sign_in_that_never_works_fails_with_the_last_answer(served: EmulatorServer) -> None:
    with served.emulator.kfp.state.lock:
        served.emulator.login_users.update({"alice@example.com": "right"})
    host = served.gateway_url + "/pipeline"
    with pytest.raises(recipe.StepFailed, match=r"no sign-in as alice@example.com .*"
                                                r"within 0 s \(InvalidCredentials"):
        recipe.wait_for_sign_in(host, "alice@example.com", "wrong", timeout=0.3, interval=0.05)
    assert recipe.wait_for_sign_in(host, "alice@example.com", "right", timeout=5) == \
        "alice@example.com signed in, healthz multi_user=true"


FAKE_KIND = """#!/bin/sh
# kind as far as the recipe uses it; the cluster list lives in $FAKE_KIND_STATE
verb="$1 $2"; shift 2
while [ $# -gt 0 ]; do
  case "$1" in
    --name) name="$2"; shift ;;
    --kubeconfig) kubeconfig="$2"; shift ;;
  esac
  shift
done
case "$verb" in
  "get clusters") cat "$FAKE_KIND_STATE" 2>/dev/null || true ;;
  "create cluster"|"export kubeconfig")
    grep -qx "$name" "$FAKE_KIND_STATE" 2>/dev/null || echo "$name" >> "$FAKE_KIND_STATE"
    cp "$FAKE_KUBECONFIG" "$kubeconfig" ;;
  "delete cluster") grep -vx "$name" "$FAKE_KIND_STATE" > "$FAKE_KIND_STATE.new" || true
    mv "$FAKE_KIND_STATE.new" "$FAKE_KIND_STATE" ;;
esac
"""
FAKE_KUBECTL = """#!/bin/sh
for arg in "$@"; do
  if [ "$arg" = port-forward ]; then
    exec "{python}" -c "import time; print('Forwarding from 127.0.0.1', flush=True); \\
time.sleep(600)" "$@"
  fi
done
echo "$@" >> "$FAKE_KUBECTL_LOG"
"""


def test_up_status_down_with_real_processes(tmp_path: Path, served: EmulatorServer,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The real runner over stand-in binaries: the port-forward is a live process the pid
    file names, ``status`` finds it, ``down`` ends it."""
    from conformance.cluster.runner import SubprocessRunner

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scripts = {"kind": FAKE_KIND, "kubectl": FAKE_KUBECTL.replace("{python}", sys.executable),
               "kustomize": "#!/bin/sh\necho 'kind: Namespace'\n",
               "docker": "#!/bin/sh\n", "git": "#!/bin/sh\n"}
    for name, text in scripts.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_KIND_STATE", str(tmp_path / "kind-clusters"))
    monkeypatch.setenv("FAKE_KUBECONFIG", str(served.write_kubeconfig(tmp_path / "emu.kc")))
    monkeypatch.setenv("FAKE_KUBECTL_LOG", str(tmp_path / "kubectl.log"))
    runner = SubprocessRunner()
    chosen = options(tmp_path, served)

    done = recipe.up(chosen, runner, register_users=dex_of(served), progress=lambda line: None)
    pid = int((chosen.state / "port-forward.pid").read_text())
    assert runner.alive(pid)
    applied = (tmp_path / "kubectl.log").read_text()
    assert "apply --server-side --force-conflicts -f -" in applied
    assert "rollout status -n auth deployment/dex" in applied
    assert Target.load(done.target_file).kubeconfig == str(chosen.kubeconfig)

    found = recipe.status(chosen, runner, progress=lambda line: None)
    assert found.cluster and found.port_forward == pid and found.healthy

    recipe.down(chosen, runner, progress=lambda line: None)
    assert not runner.alive(pid)
    assert (tmp_path / "kind-clusters").read_text().strip() == ""
    assert not chosen.state.exists() and not done.target_file.exists()


def test_without_bcrypt_up_stops_before_making_a_cluster(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.cluster import dex

    monkeypatch.setitem(sys.modules, "bcrypt", None)
    runner, lines = RecordingRunner(), []
    with pytest.raises(dex.DexError, match="bcrypt"):
        recipe.up(options(tmp_path), runner, which=which(), progress=lines.append)
    assert runner.commands == [] and lines == ["[1/10] tools: failed"]


def test_certify_runs_on_the_target_file_up_wrote(tmp_path: Path,
                                                 served: EmulatorServer) -> None:
    """The file ``up`` writes is what ``certify --target cluster`` reads: the mode is
    detected, the cast is provisioned beside the recipe's own tenants and signs in with the
    passwords ``up`` gave Dex, and the scenarios pass; the recipe's profiles stay."""
    done = run_up(tmp_path, served, RecordingRunner(served), [])
    certified = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "certify", "--target", "cluster",
         "--target-file", str(done.target_file), "--feature", "identity", "--feature",
         "access-changes", "--report-dir", str(tmp_path / "report")],
        capture_output=True, text=True, timeout=300, check=False)
    assert certified.returncode == 0, certified.stdout + certified.stderr
    report = yaml.safe_load((tmp_path / "report" / "report.yaml").read_text())
    assert report["kfp"]["mode"] == "full-outside"
    counts = report["summary"]["counts"]
    assert counts["pass"] >= 5 and counts["fail"] == counts["error"] == 0, counts
    assert set(served.emulator.cluster.profiles) == {"kfp-isolation-alice", "kfp-isolation-bob"}

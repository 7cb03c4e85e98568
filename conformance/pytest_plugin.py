"""The conformance suite's pytest plugin: targets as options, the cast and a world as fixtures.

Registered as the ``kfp_isolation_conformance`` entry point, so plain ``pytest`` runs the
features against any target::

    pytest features                                   # the embedded emulator, full-inside
    pytest features --kfp-mode full-outside
    pytest features --kfp-target cluster --kfp-target-file target.yaml

Options fall back to ``KFP_ISOLATION_TARGET``, ``KFP_ISOLATION_TARGET_FILE`` and
``KFP_ISOLATION_MODE``.  Nothing happens in a session that uses none of the fixtures: the
target is opened and the cast provisioned on first use only.  Every scenario that ran a step of
the :mod:`steps` vocabulary ends with one :class:`~conformance.outcomes.Outcome`, kept on its
reports as ``kfp_outcome`` and counted in the terminal summary.  A scenario that ends ``fail``
leaves a repro bundle (:mod:`conformance.bundles`) in ``--kfp-bundle-dir``, by default
``<report dir>/bundles``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import traceback
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn

import pytest
import requests
import urllib3
from kubernetes.client.exceptions import ApiException

from conformance import cast as cast_module
from conformance import matrix
from conformance.bundles import BundleError, BundleWriter, Source
from conformance.cast import ADMIN, Cast
from conformance.catalog import (
    LIMITATION_TAG,
    PROFILES,
    REQUIREMENTS,
    REQUIRES,
    markers,
    profiles_of,
)
from conformance.outcomes import NotSupported, Outcome, classify, combine
from conformance.provisioning import (
    deprovision,
    grant_cluster_admin,
    provision,
    revoke_cluster_admin,
)
from conformance.recorder import Recorder, TargetInfo
from conformance.report import write_reports
from conformance.requirements import missing
from conformance.results import RunResult
from conformance.target import TargetError
from conformance.targets import TARGET_KINDS, Connection, open_target
from conformance.world import World
from emulator import bugs
from emulator.config import EmulatorConfig
from emulator.modes import Mode

ENV_TARGET = "KFP_ISOLATION_TARGET"
ENV_TARGET_FILE = "KFP_ISOLATION_TARGET_FILE"
ENV_MODE = "KFP_ISOLATION_MODE"

_STEP_TYPE = pytest.StashKey[str]()
_OURS = pytest.StashKey[bool]()
_OUTCOMES = pytest.StashKey[dict[str, Outcome]]()
_UNGUARDED = pytest.StashKey[frozenset[str]]()
_SETTINGS = pytest.StashKey[dict[str, Any]]()
_BUGS = pytest.StashKey[frozenset[str]]()
_RECORDER = pytest.StashKey[Recorder]()
_WRITTEN = pytest.StashKey[dict[str, Path]]()
_BUNDLES = pytest.StashKey[BundleWriter | None]()
BUNDLES_SUBDIR = "bundles"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kfp-isolation", "kfp-isolation conformance targets")
    group.addoption("--kfp-target", choices=TARGET_KINDS, default=None,
                    help=f"what to certify (default ${ENV_TARGET} or inprocess)")
    group.addoption("--kfp-target-file", default=None, metavar="PATH",
                    help=f"target file of a url or cluster target (default ${ENV_TARGET_FILE})")
    group.addoption("--kfp-mode", choices=[m.value for m in Mode], default=None,
                    help=f"mode of the in-process emulator (default ${ENV_MODE} or full-inside)")
    group.addoption("--kfp-unguard", action="append", default=None, metavar="OPERATION",
                    help="in-process emulator only, a fault for the sensitivity check: this "
                         "operation (an operationId of the matrix, or 'METHOD /path/{}') skips "
                         "authorization; repeatable.  Deliberately a flag only: no environment "
                         "variable can weaken a certification unseen")
    group.addoption("--kfp-emulator-setting", action="append", default=None,
                    metavar="NAME=VALUE",
                    help="in-process emulator only: a deployment switch of EmulatorConfig, "
                         "e.g. artifact_credentials=per-namespace or "
                         "require_namespace_for_pipelines=true; repeatable")
    group.addoption("--kfp-bug", action="append", default=None, metavar="ISO-xxx",
                    help="in-process emulator only: switch this historical isolation bug on "
                         "(`kfp-isolation bugs` lists them); repeatable.  A flag only, as "
                         "--kfp-unguard")
    group.addoption("--kfp-emulate-kfp", default=None, metavar="VERSION",
                    choices=list(bugs.KFP_VERSIONS),
                    help="in-process emulator only: install it as this KFP release was, with "
                         "the catalog's bugs of that release switched on (and its settings)")
    group.addoption("--kfp-detects", action="append", default=None, metavar="ISO-xxx",
                    help="only the scenarios that detect this bug (tagged @ISO-xxx); "
                         "repeatable")
    group.addoption("--kfp-keep-tenants", action="store_true", default=False,
                    help="leave the provisioned tenants on the target after the run")
    group.addoption("--kfp-profile", action="append", default=None, metavar="PROFILE",
                    choices=list(PROFILES),
                    help="only the scenarios of this profile (repeatable); a roles scenario "
                         "is not a core one, whatever level its tag sits at")
    group.addoption("--kfp-stop-at-first-fail", action="store_true", default=False,
                    help="stop at the first scenario that ends 'fail' (harness errors do not "
                         "stop the run): the sensitivity check needs one")
    group.addoption("--kfp-report-dir", default=None, metavar="DIR",
                    help="write report.yaml, report.html, junit.xml and cucumber.json here")
    group.addoption("--kfp-bundle-dir", default=None, metavar="DIR",
                    help="write a repro bundle per failing scenario here (default "
                         f"<report dir>/{BUNDLES_SUBDIR} with --kfp-report-dir, else none)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--kfp-profile`` keeps the scenarios of the chosen profiles.  With ``--kfp-unguard``,
    the matrix scenarios of the unguarded operations run first (the rest of the suite still
    runs after them): a sensitivity run that stops at its first failure then stops early."""
    chosen = set(config.getoption("kfp_profile") or ())
    if chosen:
        kept = [item for item in items
                if chosen & set(profiles_of({m.name for m in item.iter_markers()}))]
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept
    detects = {bugs.normalize(b) for b in config.getoption("kfp_detects") or ()}
    if detects:
        kept = [item for item in items if detects & {m.name for m in item.iter_markers()}]
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept
    unguarded: frozenset[str] = config.stash.get(_UNGUARDED, frozenset())
    if not unguarded:
        return
    def first(item: pytest.Item) -> bool:
        doc = getattr(getattr(item, "obj", None), "__doc__", "") or ""  # "feature: scenario"
        probe = matrix.probe_of_outline(doc.partition(": ")[2])
        return probe is not None and probe.key in unguarded
    items.sort(key=lambda item: not first(item))


def pytest_configure(config: pytest.Config) -> None:
    for name, text in markers().items():
        config.addinivalue_line("markers", f"{name}: {text}")
    recorder = Recorder()
    config.pluginmanager.register(recorder, "kfp-isolation-recorder")
    config.stash[_RECORDER] = recorder
    config.stash[_OUTCOMES] = recorder.outcomes
    config.stash[_BUNDLES] = bundle_writer(config)
    config.stash[_UNGUARDED] = unguarded_operations(config)
    if config.stash[_UNGUARDED] and _target_kind(config) != "inprocess":
        raise pytest.UsageError("--kfp-unguard switches the in-process emulator only")
    try:
        config.stash[_SETTINGS] = emulator_settings(config.getoption("kfp_emulator_setting"))
    except ValueError as exc:
        raise pytest.UsageError(f"--kfp-emulator-setting: {exc}") from None
    if config.stash[_SETTINGS] and _target_kind(config) != "inprocess":
        raise pytest.UsageError("--kfp-emulator-setting sets up the in-process emulator only")
    try:
        config.stash[_BUGS] = bugs.check(tuple(config.getoption("kfp_bug") or ()))
    except ValueError as exc:
        raise pytest.UsageError(f"--kfp-bug: {exc}") from None
    version = config.getoption("kfp_emulate_kfp")
    if (config.stash[_BUGS] or version) and _target_kind(config) != "inprocess":
        raise pytest.UsageError("--kfp-bug and --kfp-emulate-kfp switch the in-process "
                                "emulator only (start `kfp-isolation serve --bug …` for a url "
                                "target)")
    if version:
        release = bugs.emulate(version)
        config.stash[_BUGS] = config.stash[_BUGS] | release.switched
        chosen: dict[str, Any] = config.stash[_SETTINGS]
        config.stash[_SETTINGS] = {**release.settings, **chosen}


def bundle_writer(config: pytest.Config) -> BundleWriter | None:
    """Where this run's repro bundles go (None: it writes none)."""
    folder = config.getoption("kfp_bundle_dir")
    if folder is None and config.getoption("kfp_report_dir"):
        folder = str(Path(config.getoption("kfp_report_dir")) / BUNDLES_SUBDIR)
    if not folder or config.getoption("collectonly"):
        return None
    return BundleWriter(Path(folder))


def _setting(config: pytest.Config, option: str, env: str, default: str | None) -> str | None:
    value = config.getoption(option)
    return value if value is not None else os.environ.get(env) or default


@pytest.fixture(scope="session")
def kfp_login_users() -> dict[str, str]:
    """The cast's static users and passwords (an in-process emulator signs them in)."""
    return cast_module.login_users()


@pytest.fixture(scope="session")
def kfp_connection(pytestconfig: pytest.Config,
                   kfp_login_users: dict[str, str]) -> Iterator[Connection]:
    kind = _target_kind(pytestconfig)
    target_file = _setting(pytestconfig, "kfp_target_file", ENV_TARGET_FILE, None)
    mode = Mode(_setting(pytestconfig, "kfp_mode", ENV_MODE, Mode.FULL_INSIDE.value))
    unguarded = pytestconfig.stash[_UNGUARDED]
    settings = pytestconfig.stash[_SETTINGS]
    switched = pytestconfig.stash[_BUGS]
    config = EmulatorConfig(unguarded_operations=unguarded, bugs=switched, **settings) \
        if unguarded or settings or switched else None
    recorder = pytestconfig.stash[_RECORDER]
    recorder.configuration = _configuration(pytestconfig, kind)
    with contextlib.ExitStack() as stack:
        try:
            connection = stack.enter_context(open_target(
                kind, Path(target_file) if target_file else None, mode, kfp_login_users, config))
        except TargetError as exc:
            abort(pytestconfig, f"cannot use the target: {exc}")
        recorder.target = TargetInfo({**connection.target.redacted(), "target": kind},
                                     connection.mode.value, "")
        yield connection


def abort(config: pytest.Config, reason: str) -> NoReturn:
    """Stop the whole run: no scenario can say anything about a target it cannot use (every
    one of them would end ``error`` for the same reason).  The reports still say why."""
    config.stash[_RECORDER].aborted = reason
    pytest.exit(f"kfp-isolation: {reason}", returncode=int(pytest.ExitCode.INTERNAL_ERROR))


def _configuration(config: pytest.Config, kind: str) -> dict[str, Any]:
    """The run's settings as the report states them (nothing secret is among them)."""
    unguarded: frozenset[str] = config.stash[_UNGUARDED]
    return {
        "target": kind,
        "target_file": _setting(config, "kfp_target_file", ENV_TARGET_FILE, None) or "",
        "mode": _setting(config, "kfp_mode", ENV_MODE, None) or "",
        "keep_tenants": bool(config.getoption("kfp_keep_tenants")),
        "profiles": list(config.getoption("kfp_profile") or []),
        "unguarded_operations": sorted(unguarded),
        "emulator_settings": _settings_of(config),
        "bugs": sorted(_bugs_of(config)),
        "emulate_kfp": config.getoption("kfp_emulate_kfp") or "",
        "selection": {"keyword": config.getoption("keyword") or "",
                      "markers": config.getoption("markexpr") or ""},
    }


# The in-process emulator's deployment switches a certification may choose (what a real
# deployment is installed with); the fault switch (unguarded operations) is --kfp-unguard's.
EMULATOR_SETTINGS = ("artifact_credentials", "require_namespace_for_pipelines", "shared_read",
                     "default_runner_service_account")


def emulator_settings(given: list[str] | None) -> dict[str, Any]:
    """``NAME=VALUE`` pairs as EmulatorConfig keyword arguments (booleans parsed)."""
    types = {f.name: f.type for f in dataclasses.fields(EmulatorConfig)}
    found: dict[str, Any] = {}
    for pair in given or []:
        name, sep, value = pair.partition("=")
        if not sep or name not in EMULATOR_SETTINGS:
            raise ValueError(f"expected NAME=VALUE with NAME one of "
                             f"{', '.join(EMULATOR_SETTINGS)}, got {pair!r}")
        if types[name] in ("bool", bool):
            if value.lower() not in ("true", "false"):
                raise ValueError(f"{name} is true or false, not {value!r}")
            found[name] = value.lower() == "true"
        else:
            found[name] = value
    try:
        EmulatorConfig(**found)
    except (TypeError, ValueError) as exc:
        raise ValueError(str(exc)) from None
    return found


def _bugs_of(config: pytest.Config) -> frozenset[str]:
    switched: frozenset[str] = config.stash.get(_BUGS, frozenset())
    return switched


def _settings_of(config: pytest.Config) -> dict[str, Any]:
    settings: dict[str, Any] = config.stash.get(_SETTINGS, {})
    return dict(settings)


def unguarded_operations(pytestconfig: pytest.Config) -> frozenset[str]:
    """The operations ``--kfp-unguard`` names, as the emulator's operation keys."""
    names = pytestconfig.getoption("kfp_unguard") or []
    keys = set()
    for name in (n.strip() for n in names):
        if " " in name and name.split(" ", 1)[0].isupper() and "/" in name:
            keys.add(name)
            continue
        try:
            keys.add(matrix.probe_named(name).key)
        except KeyError as exc:
            raise pytest.UsageError(f"--kfp-unguard: {exc.args[0]}") from None
    return frozenset(keys)


def _target_kind(config: pytest.Config) -> str:
    return _setting(config, "kfp_target", ENV_TARGET, "inprocess") or "inprocess"


@pytest.fixture(scope="session")
def kfp_cast(pytestconfig: pytest.Config, kfp_connection: Connection) -> Iterator[Cast]:
    """The design's cast, provisioned through the Kubernetes API once per session."""
    # Only the emulator this session started is known to be empty: anywhere else (a running
    # emulator holds its own tenants, a cluster its users') the namespaces get a run prefix.
    fresh = _target_kind(pytestconfig) == "inprocess"
    cast = Cast(prefix="" if fresh else cast_module.run_prefix())
    # Standalone KFP has no Profiles (no profile controller, no kubeflow.org CRDs) and ignores
    # namespaces: its scenarios need nobody provisioned, and a real one could not be.
    tenants = cast.tenants() if kfp_connection.mode.multiuser else []
    try:
        try:
            if tenants:
                provision(kfp_connection.kube, tenants)
                grant_cluster_admin(kfp_connection.kube, cast.admin_binding,
                                    cast.people[ADMIN])
        except (ApiException, TimeoutError, OSError, urllib3.exceptions.HTTPError) as exc:
            abort(pytestconfig, f"cannot provision the cast's tenants through the Kubernetes "
                                f"API: {_short(exc)}")
        recorder = pytestconfig.stash[_RECORDER]
        if recorder.target is not None:
            recorder.target.kfp_version = kfp_version(kfp_connection, cast)
        yield cast
    finally:
        if tenants and not pytestconfig.getoption("kfp_keep_tenants"):
            revoke_cluster_admin(kfp_connection.kube, cast.admin_binding)
            deprovision(kfp_connection.kube, tenants)


def _short(exc: BaseException) -> str:
    if isinstance(exc, ApiException):
        return f"{exc.status} {exc.reason}: {str(exc.body or '')[:300]}"
    return f"{type(exc).__name__}: {str(exc)[:300]}"


@pytest.fixture
def world(request: pytest.FixtureRequest, kfp_connection: Connection, kfp_cast: Cast,
          kfp_login_users: dict[str, str]) -> Iterator[World]:
    """One scenario's state; skips as ``not supported`` when the target lacks a feature.  A
    scenario that failed leaves its repro bundle before its objects are cleaned up."""
    request.node.stash[_OURS] = True
    required = {marker.name[len(REQUIRES):] for marker in request.node.iter_markers()
                if marker.name.startswith(REQUIRES)}
    # In the catalog's order (the deployment kind first), not the tags' (pytest-bdd keeps a
    # scenario's tags in a set): a scenario missing two things names the same one every run.
    for requirement in (r for r in REQUIREMENTS if r in required):
        reason = missing(kfp_connection, requirement)
        if reason is not None:
            raise NotSupported(f"needs {REQUIREMENTS[requirement]}: {reason}")
    writer = request.config.stash.get(_BUNDLES, None)
    since = writer.mark(kfp_connection) if writer is not None else 0
    scene = World(kfp_connection, kfp_cast)
    yield scene
    recorder = request.config.stash[_RECORDER]
    recorder.note_exchanges(request.node, scene.exchanges)
    if writer is not None and \
            request.config.stash[_OUTCOMES].get(request.node.nodeid) is Outcome.FAIL:
        write_bundle(writer, request.node, kfp_connection, kfp_cast, since,
                     kfp_login_users.values())
    scene.cleanup()


def write_bundle(writer: BundleWriter, item: pytest.Item, connection: Connection, cast: Cast,
                 since: int, passwords: Any) -> None:
    """The failing scenario's bundle; a bundle that cannot be written never turns the
    scenario into an error: the terminal summary says why it is missing."""
    recorder = item.config.stash[_RECORDER]
    scenario = recorder.result_of(item.nodeid)
    source = recorder.source_of(item.nodeid)
    if scenario is None or source is None:
        writer.problems.append(f"{item.nodeid}: no scenario was recorded")
        return
    target = recorder.target or TargetInfo({}, "", "")
    try:
        writer.write(scenario=scenario, source=Source(*source), connection=connection,
                     cast=cast, since=since, tool_version=tool_version(),
                     target=target.description, kfp_version=target.kfp_version,
                     configuration=recorder.configuration, passwords=passwords)
    except (BundleError, OSError, requests.RequestException, TargetError) as exc:
        writer.problems.append(f"{item.nodeid}: {exc}")
    except Exception:  # a bug of the writer: say so, but keep the scenario's own outcome
        writer.problems.append(f"{item.nodeid}: {traceback.format_exc(limit=3)}")


def kfp_version(connection: Connection, cast: Cast) -> str:
    """What the API server says it is (its healthz ``tag_name``), "" if it will not say."""
    session = connection.pooled_session(cast.caller(cast.owner("alice")),
                                        outside=not connection.target.kfp_direct)
    try:
        response = session.get("/apis/v2beta1/healthz")
        return str(response.json().get("tag_name", "")) if response.status_code == 200 else ""
    except (requests.RequestException, ValueError, AttributeError):
        return ""


def _is_ours(step_func: Callable[..., object]) -> bool:
    module = getattr(step_func, "__module__", "") or ""
    return module == "steps" or module.startswith("steps.")


def pytest_bdd_before_step(request: pytest.FixtureRequest,
                           step_func: Callable[..., object]) -> None:
    if _is_ours(step_func):
        request.node.stash[_OURS] = True


def pytest_bdd_step_error(request: pytest.FixtureRequest, step: Any,
                          step_func: Callable[..., object]) -> None:
    request.node.stash[_STEP_TYPE] = step.type
    if _is_ours(step_func):
        request.node.stash[_OURS] = True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    if not item.stash.get(_OURS, False):
        return report
    limitation = item.get_closest_marker(LIMITATION_TAG) is not None
    outcome = classify(phase=call.when, exception=call.excinfo.value if call.excinfo else None,
                       step_type=item.stash.get(_STEP_TYPE, None),
                       limitation=limitation and call.when == "call")
    if outcome is Outcome.LIMITATION_LIFTED:  # a lifted limitation never fails the run
        crash = getattr(report.longrepr, "reprcrash", None)
        report.kfp_lifted = str(crash.message) if crash is not None else "a Then did not hold"
        report.outcome, report.longrepr = "passed", None
    outcomes = item.config.stash[_OUTCOMES]
    if item.nodeid not in outcomes:
        item.config.stash[_RECORDER].note_item(item)
    outcomes[item.nodeid] = combine(outcomes.get(item.nodeid), outcome)
    if outcomes[item.nodeid] is Outcome.FAIL and item.config.getoption("kfp_stop_at_first_fail"):
        item.session.shouldstop = f"kfp-isolation: first failing scenario {item.nodeid}"
    report.kfp_outcome = outcomes[item.nodeid].value
    report.kfp_feature = item.config.stash[_RECORDER].feature_of(item.nodeid)
    return report


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    outcomes = config.stash.get(_OUTCOMES, {})
    if not outcomes:
        return
    counts = Counter(outcome.value for outcome in outcomes.values())
    summary = ", ".join(f"{counts[o.value]} {o.value}" for o in Outcome if counts[o.value])
    written = config.stash.get(_WRITTEN, {})
    if written:
        terminalreporter.write_line(f"kfp-isolation reports: "
                                    f"{', '.join(str(p) for p in written.values())}")
    writer = config.stash.get(_BUNDLES, None)
    if writer is not None and writer.written:
        terminalreporter.write_line(f"kfp-isolation repro bundles: {len(writer.written)} in "
                                    f"{writer.root}")
    for problem in writer.problems if writer is not None else ():
        terminalreporter.write_line(f"kfp-isolation: a repro bundle is incomplete or "
                                    f"missing: {problem}")
    terminalreporter.write_sep("=", f"kfp-isolation: {summary}")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the reports once every scenario ended and the tenants are gone."""
    report_dir = session.config.getoption("kfp_report_dir")
    if report_dir and not session.config.getoption("collectonly"):
        session.config.stash[_WRITTEN] = write_reports(run_result(session.config),
                                                       Path(report_dir))


def run_result(config: pytest.Config) -> RunResult:
    """What this session found, for reports (``certify`` calls it after the run)."""
    return config.stash[_RECORDER].run_result(tool_version())


def bundles_written(config: pytest.Config) -> list[Path]:
    """The repro bundles this session wrote (``replay`` names its new one)."""
    writer = config.stash.get(_BUNDLES, None)
    return list(writer.written) if writer is not None else []


def tool_version() -> str:
    try:
        return metadata.version("kfp-isolation")
    except metadata.PackageNotFoundError:
        return "0+unknown"

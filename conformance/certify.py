"""``kfp-isolation certify``: run the features against a target and write the reports.

Settings come from, in rising precedence: defaults, a YAML file (``--config``), environment
variables (``KFP_ISOLATION_*``), command-line flags.  The run is pytest underneath (the
packaged ``features/`` with the :mod:`conformance.pytest_plugin`), shown as one progress line
per feature and a summary table.  Exit code: 0 pass, 1 fail (a guarantee was violated), 2 error
(the harness, the environment or the configuration; never counted as pass or fail).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TextIO

import pytest
import yaml

from conformance.catalog import FEATURES, PROFILES, profiles_of
from conformance.outcomes import EXIT_ERROR, EXIT_FAIL, EXIT_PASS, Outcome
from conformance.pytest_plugin import emulator_settings
from conformance.report.redaction import scrub
from conformance.results import RunResult
from conformance.targets import TARGET_KINDS
from conformance.vulnerabilities import Verdict, findings
from emulator import bugs
from emulator.modes import Mode

CONFIG_API_VERSION = "kfp-isolation/v1"
CONFIG_KIND = "Certification"
DEFAULT_REPORT_DIR = "kfp-isolation-report"
ENV_PREFIX = "KFP_ISOLATION_"


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Settings:
    """What one certification run does."""

    target: str = "inprocess"
    target_file: str = ""
    mode: str = Mode.FULL_INSIDE.value  # the in-process emulator's mode
    report_dir: str = DEFAULT_REPORT_DIR
    profiles: tuple[str, ...] = ()  # empty: every profile
    features: tuple[str, ...] = ()  # empty: every feature
    keep_tenants: bool = False
    # A fault for demonstrations and the sensitivity check: operations of the in-process
    # emulator that skip authorization.  A flag only, stated in the report's configuration.
    unguarded: tuple[str, ...] = ()
    # Deployment switches of the in-process emulator (NAME=VALUE, see
    # conformance.pytest_plugin.EMULATOR_SETTINGS): certify it installed like that.
    emulator_settings: tuple[str, ...] = ()
    # Historical isolation bugs switched on in the in-process emulator (emulator.bugs), one by
    # one or as a KFP release had them: certify a reproduction, never a deployment.
    bugs: tuple[str, ...] = ()
    emulate_kfp: str = ""
    # Only the scenarios that detect these bugs (their @ISO-xxx tags): `reproduce`.
    detects: tuple[str, ...] = ()

    # config file key / environment variable (after the prefix) of each field
    NAMES = {"target": ("target", "TARGET"), "target_file": ("targetFile", "TARGET_FILE"),
             "mode": ("mode", "MODE"), "report_dir": ("reportDir", "REPORT_DIR"),
             "profiles": ("profiles", "PROFILES"), "features": ("features", "FEATURES"),
             "keep_tenants": ("keepTenants", "KEEP_TENANTS")}

    def check(self) -> Settings:
        if self.target not in TARGET_KINDS:
            raise ConfigError(f"target must be one of {', '.join(TARGET_KINDS)}, "
                              f"not {self.target!r}")
        if self.target != "inprocess" and not self.target_file:
            raise ConfigError(f"a {self.target} target needs a target file (--target-file, "
                              f"{ENV_PREFIX}TARGET_FILE or targetFile)")
        if self.mode not in {m.value for m in Mode}:
            raise ConfigError(f"mode must be one of {', '.join(m.value for m in Mode)}")
        if self.unguarded and self.target != "inprocess":
            raise ConfigError("--unguard switches the in-process emulator only")
        if self.emulator_settings and self.target != "inprocess":
            raise ConfigError("--emulator-setting sets up the in-process emulator only")
        try:
            emulator_settings(list(self.emulator_settings))
        except ValueError as exc:
            raise ConfigError(f"--emulator-setting: {exc}") from None
        if (self.bugs or self.emulate_kfp) and self.target != "inprocess":
            raise ConfigError("--bug and --emulate-kfp switch the in-process emulator only "
                              "(serve one with `kfp-isolation serve --bug …` for a url target)")
        try:
            bugs.check(self.bugs)
            if self.emulate_kfp:
                bugs.emulate(self.emulate_kfp)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        for kind, names, known in (("profile", self.profiles, PROFILES),
                                   ("feature", self.features, FEATURES)):
            unknown = [n for n in names if n not in known]
            if unknown:
                raise ConfigError(f"unknown {kind}(s) {', '.join(unknown)}; "
                                  f"known: {', '.join(known)}")
        return self

    def pytest_args(self) -> list[str]:
        args = ["--kfp-target", self.target, "--kfp-report-dir", self.report_dir]
        if self.target == "inprocess":  # elsewhere the target file or detection says
            args += ["--kfp-mode", self.mode]
        if self.target_file:
            args += ["--kfp-target-file", self.target_file]
        for operation in self.unguarded:
            args += ["--kfp-unguard", operation]
        for setting in self.emulator_settings:
            args += ["--kfp-emulator-setting", setting]
        for bug_id in self.bugs:
            args += ["--kfp-bug", bug_id]
        if self.emulate_kfp:
            args += ["--kfp-emulate-kfp", self.emulate_kfp]
        for bug_id in self.detects:
            args += ["--kfp-detects", bug_id]
        if self.keep_tenants:
            args.append("--kfp-keep-tenants")
        for profile in self.profiles:
            args += ["--kfp-profile", profile]
        if self.features:
            args += ["-m", " or ".join(self.features)]
        return args


def _parse(name: str, raw: Any, where: str) -> Any:
    """A setting's value from YAML or an environment variable, as the field's type."""
    if name in ("profiles", "features"):
        items = raw.split(",") if isinstance(raw, str) else raw
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ConfigError(f"{where}: {name} is a list of names (or comma-separated)")
        return tuple(i.strip() for i in items if i.strip())
    if name == "keep_tenants":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in {"1", "true", "yes", "on", "0",
                                                            "false", "no", "off", ""}:
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        raise ConfigError(f"{where}: keepTenants is true or false, not {raw!r}")
    if not isinstance(raw, str):
        raise ConfigError(f"{where}: {name} is a string, not {raw!r}")
    return raw


def load_settings(config_file: Path | None, environ: dict[str, str] | None = None,
                  **flags: Any) -> Settings:
    """Defaults < the YAML file < ``KFP_ISOLATION_*`` < flags (None: not given)."""
    settings = Settings()
    names = {f.name for f in fields(Settings)}
    if config_file is not None:
        try:
            data = yaml.safe_load(config_file.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read {config_file}: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{config_file}: expected a mapping")
        if data.get("apiVersion") != CONFIG_API_VERSION or data.get("kind") != CONFIG_KIND:
            raise ConfigError(f"{config_file}: expected apiVersion {CONFIG_API_VERSION} and "
                              f"kind {CONFIG_KIND}")
        keys = {key: name for name, (key, _) in Settings.NAMES.items()}
        unknown = set(data) - set(keys) - {"apiVersion", "kind"}
        if unknown:
            raise ConfigError(f"{config_file}: unknown keys {', '.join(sorted(unknown))}; "
                              f"known: {', '.join(keys)}")
        values = {keys[k]: _parse(keys[k], v, str(config_file)) for k, v in data.items()
                  if k in keys}
        if values.get("target_file"):  # relative to the file that names it
            values["target_file"] = str(config_file.parent / values["target_file"])
        settings = replace(settings, **values)
    env = os.environ if environ is None else environ
    from_env = {name: _parse(name, env[ENV_PREFIX + var], ENV_PREFIX + var)
                for name, (_, var) in Settings.NAMES.items() if ENV_PREFIX + var in env}
    settings = replace(settings, **from_env)
    given = {k: v for k, v in flags.items() if k in names and v is not None}
    return replace(settings, **given).check()


@dataclass
class Progress:
    """One line per feature as it completes, then the summary table (a pytest plugin)."""

    out: TextIO
    label: str = "certify"  # the command, in the first line
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    current: str = ""
    started: float = field(default_factory=time.monotonic)
    collect_errors: list[str] = field(default_factory=list)
    result: RunResult | None = None
    total: int = 0
    done: int = 0

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.total = len(session.items)
        self.out.write(f"kfp-isolation {self.label}: {self.total} scenarios\n")
        self.out.flush()

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors.append(f"{report.nodeid}: {report.longrepr}")

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        self.done += 1

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        outcome = getattr(report, "kfp_outcome", None)
        if outcome is None or report.when != "teardown":
            return
        feature = getattr(report, "kfp_feature", "") or "?"
        if feature != self.current:
            self._flush()
            self.current = feature
        self.counts.setdefault(feature, Counter())[outcome] += 1

    def _flush(self) -> None:
        if not self.current:
            return
        counts = self.counts[self.current]
        text = ", ".join(f"{counts[o.value]} {o.value}" for o in Outcome if counts[o.value])
        self.out.write(f"  [{self.done:>4}/{self.total}] {self.current}: {text}\n")
        self.out.flush()

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self._flush()
        from conformance.pytest_plugin import run_result  # the session's own recorder

        self.result = run_result(session.config)


def summary_table(run: RunResult) -> str:
    """Profiles as rows, outcomes as columns; then the failures and the verdict line."""
    columns = [o.value for o in Outcome]
    header = ["profile", "result", *columns]
    rows = []
    for profile in PROFILES:
        scenarios = [s for s in run.scenarios if profile in s.profiles]
        counts = run.counts(scenarios)
        rows.append([profile, run.profile_result(profile),
                     *(str(counts[c]) for c in columns)])
    totals = run.counts()
    rows.append(["all", run.verdict.value, *(str(totals[c]) for c in columns)])
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    bad = [s for s in run.scenarios if s.outcome in (Outcome.FAIL, Outcome.ERROR)]
    for scenario in bad[:20]:
        first = scrub((scenario.message.splitlines() or [""])[0])[:160]
        lines.append(f"{scenario.outcome.value.upper():5}  {scenario.feature}: "
                     f"{scenario.name}\n       {first}")
    if len(bad) > 20:
        lines.append(f"... and {len(bad) - 20} more (see the reports)")
    return "\n".join(lines)


def bug_line(run: RunResult) -> str:
    """The catalogued bugs the run's tagged scenarios decided, grouped by verdict
    (``kfp-isolation reproduce`` shows one in detail); a documented limitation is *present* or
    *lifted*."""
    groups: dict[str, list[str]] = {}
    for finding in findings(run.scenarios):
        if bugs.BUGS[finding.bug_id].expressible == "limitation":
            word = {Verdict.VULNERABLE: "limitation present",
                    Verdict.NOT_VULNERABLE: "limitation lifted"}.get(finding.verdict,
                                                                     "inconclusive")
        else:
            word = finding.verdict.value
        shared = f" (with {', '.join(finding.shared_with)})" if finding.shared_with else ""
        groups.setdefault(word, []).append(finding.bug_id + shared)
    order = ("vulnerable", "inconclusive", "not vulnerable", "limitation present",
             "limitation lifted")
    parts = [f"{word} {', '.join(groups[word])}" for word in order if word in groups]
    return "catalogued bugs: " + "; ".join(parts) if parts else ""


def features_dir() -> Path:
    import features

    return Path(features.__file__).resolve().parent


def exit_code(run: RunResult | None, pytest_status: int | pytest.ExitCode) -> int:
    if run is None or not run.scenarios:
        return EXIT_ERROR
    if run.verdict is Outcome.FAIL:
        return EXIT_FAIL
    if run.verdict is Outcome.ERROR or int(pytest_status) not in (0, 1):
        return EXIT_ERROR
    return EXIT_PASS


@dataclass
class Listing:
    """The scenarios a run would execute, grouped by feature (a pytest plugin)."""

    out: TextIO
    count: int = 0

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        by_feature: dict[str, list[str]] = {}
        for item in session.items:
            doc = getattr(getattr(item, "obj", None), "__doc__", "") or item.name
            feature, _, scenario = doc.partition(": ")
            tags = profiles_of({m.name for m in item.iter_markers()})
            label = item.name[item.name.find("["):] if "[" in item.name else ""
            by_feature.setdefault(feature, []).append(
                f"{scenario or feature}{' ' + label if label else ''}  [{', '.join(tags)}]")
        for feature, scenarios in by_feature.items():
            self.out.write(f"{Path(feature).name} ({len(scenarios)})\n")
            self.out.writelines(f"  {line}\n" for line in scenarios)
        self.count = len(session.items)


def dry_run(settings: Settings, out: TextIO) -> int:
    """List the scenarios the run would execute, by feature, without opening the target."""
    listing = Listing(out)
    status = pytest.main([str(features_dir()), "--collect-only", "-p", "no:terminal",
                          "-p", "no:warnings", *settings.pytest_args()], plugins=[listing])
    out.write(f"\n{listing.count} scenarios would run against {settings.target}"
              f"{' (' + settings.target_file + ')' if settings.target_file else ''}, mode "
              f"{settings.mode}; reports would go to {settings.report_dir}/. Scenarios that "
              "need what the target lacks end 'not supported'.\n")
    return EXIT_PASS if status in (0, pytest.ExitCode.NO_TESTS_COLLECTED) else EXIT_ERROR


def certify(settings: Settings, out: TextIO = sys.stdout) -> int:
    progress = Progress(out)
    switched = ", ".join([*settings.bugs, *([f"KFP {settings.emulate_kfp}"]
                                             if settings.emulate_kfp else [])])
    out.write(f"certifying {settings.target}"
              f"{' ' + settings.target_file if settings.target_file else ''} "
              f"(mode {settings.mode if settings.target == 'inprocess' else 'from the target'})"
              + (f" with historical bugs switched on: {switched}" if switched else "") + "\n")
    status = pytest.main([str(features_dir()), "-p", "no:terminal", "-p", "no:warnings",
                          *settings.pytest_args()], plugins=[progress])
    for error in progress.collect_errors:
        out.write(f"collection error: {scrub(error)}\n")
    run = progress.result
    if run is not None and run.aborted:
        out.write(f"kfp-isolation: aborted, no scenario ran: {scrub(run.aborted)}\n"
                  f"reports: {Path(settings.report_dir).resolve()}/\n")
    elif run is not None and run.scenarios:
        out.write("\n" + summary_table(run) + "\n")
        found = bug_line(run)
        if found:
            out.write(found + "\n")
        out.write("\n" + scrub(run.summary_line()) + "\n")
        out.write(f"reports: {Path(settings.report_dir).resolve()}/ (report.yaml, report.html, "
                  "junit.xml, cucumber.json)\n")
        bundles = Path(settings.report_dir) / "bundles"
        if bundles.is_dir() and any(bundles.iterdir()):
            out.write(f"repro bundles (one per failing scenario; `kfp-isolation replay "
                      f"<bundle>`): {bundles.resolve()}/\n")
    else:
        out.write(f"kfp-isolation: no scenario ran (pytest exit status {int(status)})\n")
    return exit_code(run, status)


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("certify", help="run the isolation features against a target and "
                                            "write the reports",
                            description=__doc__.split("\n\n")[1] if __doc__ else None)
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help=f"YAML settings (apiVersion {CONFIG_API_VERSION}, kind "
                             f"{CONFIG_KIND}); {ENV_PREFIX}* variables and flags override it")
    parser.add_argument("--target", choices=TARGET_KINDS, default=None,
                        help="inprocess (default: the embedded emulator), url, cluster")
    parser.add_argument("--target-file", default=None, metavar="FILE",
                        help="the target file of a url or cluster target")
    parser.add_argument("--mode", choices=[m.value for m in Mode], default=None,
                        help="the in-process emulator's mode (default full-inside); with "
                             "--in-cluster, whether the cluster is full Kubeflow or "
                             "standalone KFP (default: the target file's, else full)")
    parser.add_argument("--report-dir", default=None, metavar="DIR",
                        help=f"where the reports go (default ./{DEFAULT_REPORT_DIR}/)")
    parser.add_argument("--profile", dest="profiles", action="append", default=None,
                        choices=list(PROFILES), help="only this profile (repeatable)")
    parser.add_argument("--feature", dest="features", action="append", default=None,
                        choices=list(FEATURES), help="only this feature (repeatable)")
    parser.add_argument("--keep-tenants", action="store_true", default=None,
                        help="leave the provisioned tenants on the target")
    parser.add_argument("--unguard", action="append", default=None, metavar="OPERATION",
                        help="a deliberate fault (in-process emulator only): this operation "
                             "of the matrix skips authorization, to see the suite catch it")
    parser.add_argument("--emulator-setting", action="append", default=None,
                        metavar="NAME=VALUE",
                        help="install the in-process emulator like this (repeatable): "
                             "artifact_credentials=per-namespace, "
                             "require_namespace_for_pipelines=true, shared_read=true, "
                             "default_runner_service_account=NAME")
    add_bug_arguments(parser)
    parser.add_argument("--dry-run", action="store_true",
                        help="list what would run; touch no target")
    add_in_cluster_arguments(parser)
    parser.set_defaults(func=cmd_certify)


def add_in_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    """``--in-cluster`` (conformance.incluster) and the pod side's ``--report-archive``."""
    from conformance import incluster

    group = parser.add_argument_group(
        "in-cluster", "run the suite as a Kubernetes Job inside the cluster (full-inside or "
                      "standalone-inside): print its manifests, or --apply them and collect "
                      "the report from the pod's log")
    group.add_argument("--in-cluster", action="store_true",
                       help="print the Job's manifests (one YAML stream for kubectl apply -f "
                            "-); with --apply create them through --target-file's kubeconfig")
    group.add_argument("--apply", action="store_true",
                       help="with --in-cluster: create, wait for the Job, collect the report "
                            "into --report-dir, delete what was created")
    group.add_argument("--keep", action="store_true",
                       help="with --apply: leave the Job and its objects in the cluster")
    group.add_argument("--collect", action="store_true",
                       help="with --in-cluster: wait for a Job applied by hand (kubectl apply) "
                            "in --namespace, unpack its report into --report-dir, exit with "
                            "its code")
    group.add_argument("--delete", action="store_true",
                       help="with --collect: then delete what the printed manifests made "
                            "(the cluster-admin ClusterRoleBinding, the AuthorizationPolicy, "
                            "the Job, ...)")
    group.add_argument("--namespace", default=None,
                       help=f"the runner's namespace (default {incluster.RUNNER_NAMESPACE}; "
                            "made when missing, a namespace that exists is used as it is)")
    group.add_argument("--image", default=None,
                       help="the suite image (default "
                            f"{incluster.image_of('<this version>')})")
    group.add_argument("--timeout", type=int, default=None, metavar="SECONDS",
                       help=f"the Job's deadline (default {incluster.DEFAULT_TIMEOUT})")
    group.add_argument("--report-archive", action="store_true", help=argparse.SUPPRESS)


# (dest, option string): what --in-cluster refuses, what only --in-cluster takes
IN_PROCESS_ONLY = (("unguard", "--unguard"), ("emulator_setting", "--emulator-setting"),
                   ("bugs", "--bug"), ("emulate_kfp", "--emulate-kfp"), ("target", "--target"),
                   ("dry_run", "--dry-run"), ("config", "--config"))
IN_CLUSTER_ONLY = (("apply", "--apply"), ("keep", "--keep"), ("collect", "--collect"),
                   ("delete", "--delete"), ("image", "--image"), ("namespace", "--namespace"),
                   ("timeout", "--timeout"))


def _given(args: argparse.Namespace, flags: tuple[tuple[str, str], ...]) -> list[str]:
    return [option for dest, option in flags if getattr(args, dest, None) not in (None, False)]


def cmd_in_cluster(args: argparse.Namespace) -> int:
    from conformance import incluster

    given = _given(args, IN_PROCESS_ONLY)
    if given:
        print(f"kfp-isolation certify --in-cluster: {', '.join(given)} cannot be used with "
              "--in-cluster (the Job certifies the cluster it runs in)", file=sys.stderr)
        return EXIT_ERROR
    for wrong, problem in ((args.keep and not args.apply, "--keep goes with --apply"),
                           (args.delete and not args.collect, "--delete goes with --collect"),
                           (args.collect and args.apply, "--collect and --apply exclude each "
                                                         "other")):
        if wrong:
            print(f"kfp-isolation certify --in-cluster: {problem}", file=sys.stderr)
            return EXIT_ERROR
    return incluster.run(
        apply_it=args.apply, collect_it=args.collect, remove=args.delete,
        image=args.image or incluster.image_of(),
        namespace=incluster.RUNNER_NAMESPACE if args.namespace is None else args.namespace,
        timeout=incluster.DEFAULT_TIMEOUT if args.timeout is None else args.timeout,
        report_dir=Path(args.report_dir or DEFAULT_REPORT_DIR), keep=args.keep,
        profiles=args.profiles or (), features=args.features or (),
        keep_tenants=bool(args.keep_tenants), mode=args.mode,
        target_file=Path(args.target_file) if args.target_file else None)


def add_bug_arguments(parser: argparse.ArgumentParser) -> None:
    """``--bug`` and ``--emulate-kfp``, shared by the commands that run the in-process emulator
    (certify, reproduce, replay)."""
    parser.add_argument("--bug", dest="bugs", action="append", default=None,
                        metavar="ISO-xxx",
                        help="in-process emulator only: switch this historical isolation bug "
                             "on (repeatable; `kfp-isolation bugs` lists them)")
    parser.add_argument("--emulate-kfp", default=None, metavar="VERSION",
                        choices=list(bugs.KFP_VERSIONS),
                        help="in-process emulator only: the bugs (and object-store "
                             "credentials) of this KFP release: "
                             + ", ".join(bugs.KFP_VERSIONS))


def cmd_certify(args: argparse.Namespace) -> int:
    if getattr(args, "in_cluster", False):
        return cmd_in_cluster(args)
    given = _given(args, IN_CLUSTER_ONLY)
    if given:
        verb = "goes" if len(given) == 1 else "go"
        print(f"kfp-isolation certify: {', '.join(given)} only {verb} with --in-cluster",
              file=sys.stderr)
        return EXIT_ERROR
    if not getattr(args, "report_archive", False):
        return _certify_command(args)
    # Inside the Job's pod: the report folder at the end of the log (even after a crash: then
    # exit 2), then let a classic Istio sidecar exit (conformance.incluster).
    from conformance import incluster

    code = EXIT_ERROR
    try:
        code = _certify_command(args)
    finally:
        incluster.emit_archive(Path(args.report_dir or DEFAULT_REPORT_DIR), code, sys.stdout)
        incluster.quit_sidecar()
    return code


def _certify_command(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(
            args.config, target=args.target, target_file=args.target_file, mode=args.mode,
            report_dir=args.report_dir,
            profiles=tuple(args.profiles) if args.profiles else None,
            features=tuple(args.features) if args.features else None,
            keep_tenants=args.keep_tenants,
            unguarded=tuple(args.unguard) if args.unguard else None,
            emulator_settings=tuple(args.emulator_setting) if args.emulator_setting else None,
            bugs=tuple(args.bugs) if args.bugs else None, emulate_kfp=args.emulate_kfp)
    except ConfigError as exc:
        print(f"kfp-isolation certify: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if args.dry_run:
        return dry_run(settings, sys.stdout)
    return certify(settings)

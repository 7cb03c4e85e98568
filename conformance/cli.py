"""``kfp-isolation``: serve the emulator, certify a deployment, bring a local kind cluster up
or down, reproduce a catalogued bug, list the bugs, validate a report."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from conformance import bug_list, certify, replay, reproduce
from conformance.cluster import cli as cluster_cli
from conformance.report import validate_report
from conformance.targets import describe_emulator
from emulator import bugs
from emulator.clock import Clock
from emulator.config import EmulatorConfig
from emulator.core import DEFAULT_PASSWORD, Emulator, ProfileSpec
from emulator.demo import populate_demo_data
from emulator.kube.cluster import EDITOR_SA
from emulator.modes import Mode
from emulator.serving import EmulatorServer
from emulator.testing import standard_profiles


class SetupError(Exception):
    pass


@dataclass
class Setup:
    """What a setup file declares."""

    config: dict[str, Any] = field(default_factory=dict)
    profiles: list[ProfileSpec] = field(default_factory=standard_profiles)
    # Extra people: email -> login password.
    users: dict[str, str] = field(default_factory=dict)
    admins: list[str] = field(default_factory=list)


def _contributor(path: Path, profile: str, entry: Any) -> tuple[str, str]:
    """A profile's contributor: ``{email, role}`` (role ``edit`` unless given)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("email"), str) \
            or not entry["email"]:
        raise SetupError(f"{path}: profile {profile!r}: each contributor is a mapping with an "
                         f"'email' (and optionally a 'role'), not {entry!r}")
    role = entry.get("role", "edit")
    if not isinstance(role, str):
        raise SetupError(f"{path}: profile {profile!r}: contributor {entry['email']!r} has a "
                         f"role that is not a string: {role!r}")
    return entry["email"], role


def load_setup(path: Path | None) -> Setup:
    """Read ``{config: {...}, profiles: [{name, owner, contributors}], users: [...],
    admins: [...]}``; a user is an email or ``{email, password}``."""
    if path is None:
        return Setup()
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SetupError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise SetupError(f"{path}: expected a mapping at the top level")
    config = data.get("config") or {}
    if not isinstance(config, dict):
        raise SetupError(f"{path}: 'config' must be a mapping")
    profiles = []
    for entry in data.get("profiles") or []:
        if not isinstance(entry, dict) or "name" not in entry or "owner" not in entry:
            raise SetupError(f"{path}: each profile needs 'name' and 'owner'")
        contributors = tuple(_contributor(path, str(entry["name"]), c)
                             for c in entry.get("contributors") or [])
        profiles.append(ProfileSpec(str(entry["name"]), str(entry["owner"]), contributors))
    users: dict[str, str] = {}
    for entry in data.get("users") or []:
        if isinstance(entry, str):
            users[entry] = DEFAULT_PASSWORD
        elif isinstance(entry, dict) and isinstance(entry.get("email"), str):
            users[entry["email"]] = str(entry.get("password") or DEFAULT_PASSWORD)
        else:
            raise SetupError(f"{path}: each user is an email or {{email, password}}")
    admins = data.get("admins") or []
    if not isinstance(admins, list) or not all(isinstance(a, str) for a in admins):
        raise SetupError(f"{path}: 'admins' must be a list of emails")
    return Setup(config, profiles or standard_profiles(), users, list(admins))


def _mode(args: argparse.Namespace, config: EmulatorConfig) -> Mode:
    if args.mode:
        mode = Mode(args.mode)
        if args.single_user and mode.multiuser:
            raise SetupError(f"--single-user contradicts --mode {mode.value} (a full Kubeflow "
                             "mode is multi-user); use a standalone-* mode")
        return mode
    return Mode.for_multiuser(config.multiuser and not args.single_user)


def build_emulator(args: argparse.Namespace) -> tuple[Emulator, Setup]:
    setup = load_setup(args.setup)
    config_values = dict(setup.config)
    if args.single_user:
        config_values["multiuser"] = False
    if args.emulate_kfp:  # the release's settings, unless the setup file chose its own
        release = bugs.emulate(args.emulate_kfp)
        config_values = {**release.settings, **config_values,
                         "bugs": set(config_values.get("bugs") or ()) | release.switched}
    if args.bugs:
        config_values["bugs"] = set(config_values.get("bugs") or ()) | set(args.bugs)
    if args.artifact_credentials:
        config_values["artifact_credentials"] = args.artifact_credentials
    known = set(EmulatorConfig.__dataclass_fields__)
    unknown = set(config_values) - known
    if unknown:
        raise SetupError(f"unknown config keys: {', '.join(sorted(unknown))}")
    config = EmulatorConfig.from_env(**config_values)
    emulator = Emulator(config, clock=Clock(follow_wall_clock=True), profiles=setup.profiles,
                        mode=_mode(args, config))
    with emulator.kfp.state.lock:
        emulator.login_users.update(setup.users)
    for admin in setup.admins:
        # Admin on both sides: cluster-admin for Kubernetes and KFP, and KFAM's admin flag.
        emulator.make_cluster_admin(admin)
        emulator.kfam_admins.append(admin)
    if args.demo:
        populate_demo_data(emulator, seed=args.seed)
    return emulator, setup


def connection_banner(server: EmulatorServer, setup: Setup, kubeconfig: Path | None) -> str:
    emulator = server.emulator
    mode = emulator.mode
    lines = [
        f"kfp-isolation emulator  MODE: {mode.value.upper()}  ({mode.description})",
        f"  KFP host for this mode:  {server.entry_url}",
        f"  direct (ml-pipeline:8888, trusts {emulator.config.userid_header}):  {server.url}",
        f"  gateway ({'ingress + login' if mode.multiuser else 'ml-pipeline-ui'}):  "
        f"{server.gateway_url}   (KFP and the web UI under /pipeline/)",
        f"  Kubernetes API:  {server.kube_url}"
        + (f"   kubeconfig: {kubeconfig}" if kubeconfig else ""),
        f"  object store (S3, bucket mlpipeline, "
        f"{emulator.config.artifact_credentials} credentials):  {server.object_store_url}",
        f"  ML Metadata (gRPC-web, metadata-envoy:9090, no access control):  "
        f"{server.metadata_url}",
        f"  controls:  {server.url}/_emulator",
        "",
    ]
    if emulator.config.bugs:
        lines[1:1] = [f"  HISTORICAL BUGS ON (not a secure KFP): "
                      f"{', '.join(sorted(emulator.config.bugs))} ({emulator.config.tag_name})"]
    if mode.multiuser:
        with emulator.kfp.state.lock:
            owners = sorted((name, p.owner) for name, p in emulator.cluster.profiles.items())
            login_users = sorted(emulator.login_users.items())
        for name, owner in owners:
            lines.append(f"  profile {name}: owner {owner}")
            token = emulator.service_account_token(name, EDITOR_SA)
            lines.append(f"    {EDITOR_SA} token (KF_PIPELINES_SA_TOKEN_PATH content):")
            lines.append(f"      {token}")
        if login_users:
            lines.append("  login users (gateway): " + ", ".join(
                f"{email} / {password}" for email, password in login_users))
        for user in setup.users:
            lines.append(f"  user {user} bearer token: {emulator.user_token(user)}")
        lines += [
            "",
            "Connect with the kfp SDK:",
            f"  inside:  kfp.Client(host='{server.url}', existing_token='<token above>')",
            f"  outside: kfp.Client(host='{server.gateway_url}/pipeline', cookies="
            f"conformance.login.login_cookies('{server.gateway_url}/pipeline', "
            "'<email>', '<password>'))",
        ]
    else:
        lines.append(f"Connect with the kfp SDK: kfp.Client(host='{server.entry_url}')")
    return "\n".join(lines)


def _configure_logging(log_file: Path | None, verbose: bool) -> None:
    handler: logging.Handler = (logging.FileHandler(log_file) if log_file
                                else logging.StreamHandler(sys.stderr))
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


def cmd_serve(args: argparse.Namespace) -> int:
    _configure_logging(args.log_file, args.verbose)
    try:
        emulator, setup = build_emulator(args)
        server = EmulatorServer(emulator, args.host, args.port,
                                "debug" if args.verbose else "info",
                                gateway_port=args.gateway_port, kube_port=args.kube_port,
                                object_store_port=args.object_store_port,
                                metadata_port=args.metadata_port)
    except (SetupError, ValueError, TypeError, OSError) as exc:
        print(f"kfp-isolation: {exc}", file=sys.stderr)
        return 2
    kubeconfig = args.kubeconfig
    if kubeconfig is None and args.write_target is not None:
        kubeconfig = args.write_target.with_name(args.write_target.stem + ".kubeconfig")
    try:
        if kubeconfig is not None:
            server.write_kubeconfig(kubeconfig)
        if args.write_target is not None:
            describe_emulator(server, kubeconfig).dump(args.write_target)
    except OSError as exc:
        server.stop()
        print(f"kfp-isolation: {exc}", file=sys.stderr)
        return 2
    print(connection_banner(server, setup, kubeconfig), flush=True)
    if args.emulate_kfp:
        release = bugs.emulate(args.emulate_kfp)
        print(f"KFP {release.version} also had "
              f"{', '.join(release.not_expressible) or 'nothing else'} in the catalog, which "
              "the emulator cannot express; "
              + ", ".join(sorted(b for b in release.bugs if bugs.BUGS[b].expressible ==
                                 "limitation")) + " are limitations it shows by default",
              flush=True)
    server.run_forever()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kfp-isolation",
                                     description="Kubeflow Pipelines multi-user isolation tools")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the in-memory multi-user KFP emulator")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8888,
                       help="direct endpoint, as ml-pipeline:8888 (0: any free port)")
    serve.add_argument("--gateway-port", type=int, default=8080,
                       help="ingress gateway with the login proxy (0: any free port)")
    serve.add_argument("--kube-port", type=int, default=6443,
                       help="Kubernetes API (0: any free port)")
    serve.add_argument("--object-store-port", type=int, default=9000,
                       help="S3 object store, as minio-service:9000 (0: any free port)")
    serve.add_argument("--metadata-port", type=int, default=9090,
                       help="ML Metadata gRPC-web, as metadata-envoy-service:9090 "
                            "(0: any free port)")
    serve.add_argument("--artifact-credentials", choices=["shared", "per-namespace"],
                       help="object-store credentials of profile namespaces: the root pair "
                            "(KFP <= 2.14, default) or one user per namespace (KFP >= 2.15)")
    serve.add_argument("--bug", dest="bugs", action="append", default=None, metavar="ISO-xxx",
                       help="switch this historical isolation bug on (repeatable; "
                            "`kfp-isolation bugs` lists them)")
    serve.add_argument("--emulate-kfp", default=None, metavar="VERSION",
                       choices=list(bugs.KFP_VERSIONS),
                       help="behave as this KFP release did: its catalogued bugs and object-store "
                            "credentials (" + ", ".join(bugs.KFP_VERSIONS) + ")")
    serve.add_argument("--mode", choices=[m.value for m in Mode],
                       help="deployment and way in (default full-inside, or standalone-inside "
                            "with --single-user)")
    serve.add_argument("--setup", type=Path,
                       help="YAML file: config, profiles, users, admins")
    serve.add_argument("--single-user", action="store_true", help="MULTIUSER=false")
    serve.add_argument("--write-target", type=Path, metavar="FILE",
                       help="write the target file certify reads (and a kubeconfig beside it)")
    serve.add_argument("--kubeconfig", type=Path, metavar="FILE",
                       help="write the admin kubeconfig of the Kubernetes API here")
    serve.add_argument("--demo", action="store_true", help="add generated demo data")
    serve.add_argument("--seed", type=int, default=0, help="seed of the demo data")
    serve.add_argument("--log-file", type=Path, help="log here instead of stderr")
    serve.add_argument("-v", "--verbose", action="store_true")
    serve.set_defaults(func=cmd_serve)
    certify.add_parser(sub)
    cluster_cli.add_parser(sub)
    reproduce.add_parser(sub)
    replay.add_parser(sub)
    bug_list.add_parser(sub)
    validate = sub.add_parser("validate-report",
                              help="check a report.yaml against the report's JSON Schema")
    validate.add_argument("report", type=Path)
    validate.set_defaults(func=cmd_validate_report)
    return parser


def cmd_validate_report(args: argparse.Namespace) -> int:
    errors = validate_report(args.report)
    for error in errors:
        print(f"{args.report}: {error}", file=sys.stderr)
    if not errors:
        print(f"{args.report}: valid")
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())

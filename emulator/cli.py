"""``kfp-isolation``: serve the emulator (and, later, certify deployments)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

import yaml

from emulator.config import EmulatorConfig
from emulator.core import Emulator, ProfileSpec
from emulator.demo import populate_demo_data
from emulator.kube.cluster import EDITOR_SA
from emulator.serving import serve_forever
from emulator.testing import standard_profiles


class SetupError(Exception):
    pass


def load_setup(path: Path | None) -> tuple[dict[str, Any], list[ProfileSpec], list[str]]:
    """Read ``{config: {...}, profiles: [{name, owner, contributors}], users: [...]}``."""
    if path is None:
        return {}, standard_profiles(), []
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
        contributors = tuple((str(c["email"]), str(c.get("role", "edit")))
                             for c in entry.get("contributors") or [])
        profiles.append(ProfileSpec(str(entry["name"]), str(entry["owner"]), contributors))
    users = [str(u) for u in data.get("users") or []]
    return config, profiles, users


def build_emulator(args: argparse.Namespace) -> tuple[Emulator, list[str]]:
    config_values, profiles, users = load_setup(args.setup)
    if args.single_user:
        config_values["multiuser"] = False
    known = set(EmulatorConfig.__dataclass_fields__)
    unknown = set(config_values) - known
    if unknown:
        raise SetupError(f"unknown config keys: {', '.join(sorted(unknown))}")
    config = EmulatorConfig.from_env(**config_values)
    from emulator.clock import Clock

    emulator = Emulator(config, clock=Clock(follow_wall_clock=True), profiles=profiles)
    if args.demo:
        populate_demo_data(emulator, seed=args.seed)
    return emulator, users


def connection_banner(emulator: Emulator, url: str, users: list[str]) -> str:
    config = emulator.config
    lines = [
        f"kfp-isolation emulator on {url}  (multi-user: {config.multiuser})",
        f"  KFP API:   {url}/apis/v2beta1 and {url}/apis/v1beta1",
        f"  controls:  {url}/_emulator",
        "",
    ]
    if config.multiuser:
        lines.append(f"Identity header: {config.userid_header}: {config.userid_prefix}<email>")
        for name, profile in sorted(emulator.cluster.profiles.items()):
            lines.append(f"  profile {name}: owner {profile.owner}")
            token = emulator.service_account_token(name, EDITOR_SA)
            lines.append(f"    {EDITOR_SA} token (KF_PIPELINES_SA_TOKEN_PATH content):")
            lines.append(f"      {token}")
        for user in users:
            lines.append(f"  user {user} bearer token: {emulator.user_token(user)}")
        lines += [
            "",
            "Connect with the kfp SDK:",
            f"  kfp.Client(host='{url}', existing_token='<token above>')",
        ]
    else:
        lines.append(f"Connect with the kfp SDK: kfp.Client(host='{url}')")
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
        emulator, users = build_emulator(args)
    except (SetupError, ValueError, TypeError) as exc:
        print(f"kfp-isolation: {exc}", file=sys.stderr)
        return 2
    url = f"http://{args.host}:{args.port}"
    print(connection_banner(emulator, url, users), flush=True)
    serve_forever(emulator, args.host, args.port, "debug" if args.verbose else "info")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kfp-isolation",
                                     description="Kubeflow Pipelines multi-user isolation tools")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the in-memory multi-user KFP emulator")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8888)
    serve.add_argument("--setup", type=Path, help="YAML file: config, profiles, users")
    serve.add_argument("--single-user", action="store_true", help="MULTIUSER=false")
    serve.add_argument("--demo", action="store_true", help="add generated demo data")
    serve.add_argument("--seed", type=int, default=0, help="seed of the demo data")
    serve.add_argument("--log-file", type=Path, help="log here instead of stderr")
    serve.add_argument("-v", "--verbose", action="store_true")
    serve.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())

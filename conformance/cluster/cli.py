"""``kfp-isolation cluster up|down|status`` (registered by ``conformance.cli``).

Exit codes, the numbers of :mod:`conformance.outcomes`: 0 (``EXIT_PASS``) done, 1
(``EXIT_FAIL``) a step failed (its line says which and why), 2 (``EXIT_ERROR``) a configuration
error or a missing binary (the message names what is wrong).  Passwords are never printed:
they are in the target file (mode 0600) only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from conformance.cluster import commands, dex, recipe, versions
from conformance.cluster.runner import SubprocessRunner
from conformance.outcomes import EXIT_ERROR, EXIT_FAIL, EXIT_PASS
from conformance.target import TargetError


def add_parser(sub: Any) -> None:
    """Add ``cluster`` and its subcommands to the ``kfp-isolation`` subparsers."""
    cluster = sub.add_parser("cluster", help="a local kind cluster running multi-user KFP "
                                             "to certify")
    commands = cluster.add_subparsers(dest="cluster_command", required=True)

    def common(parser: argparse.ArgumentParser, *, port: bool = True) -> None:
        parser.add_argument("--name", default="kfp-isolation", help="kind cluster name")
        parser.add_argument("--state-dir", type=Path, default=Path(".kfp-isolation"),
                            help="kubeconfig, kind config, port-forward pid and log "
                                 "(in a sub-directory per cluster)")
        if port:
            parser.add_argument("--gateway-port", type=int, default=8080,
                                help="local port of the gateway's port-forward")

    up = commands.add_parser(
        "up", help="create the cluster, install Kubeflow, write the target file",
        description=f"kind {versions.KIND_VERSION}, node {versions.KIND_NODE_IMAGE.split('@')[0]},"
                    f" kubeflow/manifests {versions.KUBEFLOW_MANIFESTS_REF} (KFP "
                    f"{versions.KFP_VERSION}) unless --manifests or --kustomize say otherwise")
    common(up)
    source = up.add_mutually_exclusive_group()
    source.add_argument("--manifests", type=Path, metavar="DIR",
                        help="a kubeflow/manifests checkout (builds DIR/<--kustomization>)")
    source.add_argument("--kustomize", metavar="DIR|URL", default="",
                        help="any kustomization directory or remote target to build")
    up.add_argument("--kustomization", default="example",
                    help="the kustomization inside the manifests (default example)")
    up.add_argument("--write-target", type=Path, default=Path("kfp-isolation-cluster.yaml"),
                    metavar="FILE", help="the target file certify reads")
    up.add_argument("--node-image", default=versions.KIND_NODE_IMAGE)
    up.add_argument("--timeout", type=float, default=1800.0, metavar="SECONDS",
                    help="how long each waiting step may take")
    up.set_defaults(func=cmd_up)

    down = commands.add_parser("down", help="stop the port-forward, delete the cluster and "
                                            "its state")
    common(down, port=False)
    down.set_defaults(func=cmd_down)

    state = commands.add_parser("status", help="cluster, port-forward and gateway")
    common(state)
    state.set_defaults(func=cmd_status)


def _options(args: argparse.Namespace) -> recipe.Options:
    return recipe.Options(
        name=args.name, state_dir=args.state_dir, gateway_port=getattr(args, "gateway_port", 8080),
        manifests=getattr(args, "manifests", None), kustomize=getattr(args, "kustomize", ""),
        kustomization=getattr(args, "kustomization", "example"),
        write_target=getattr(args, "write_target", Path("kfp-isolation-cluster.yaml")),
        node_image=getattr(args, "node_image", versions.KIND_NODE_IMAGE),
        timeout=getattr(args, "timeout", 1800.0))


def _guarded(action: Any) -> int:
    try:
        return int(action())
    except (recipe.ClusterError, commands.MissingTools, dex.DexError, TargetError) as exc:
        print(f"kfp-isolation cluster: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except (recipe.StepFailed, TimeoutError, OSError) as exc:
        print(f"kfp-isolation cluster: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except Exception as exc:  # the Kubernetes client's errors: a message, not a traceback
        print(f"kfp-isolation cluster: {type(exc).__name__}: {str(exc)[:500]}", file=sys.stderr)
        return EXIT_FAIL


def cmd_up(args: argparse.Namespace) -> int:
    def run() -> int:
        done = recipe.up(_options(args).check(), SubprocessRunner(),
                         progress=lambda line: print(line, flush=True))
        print(f"\nTarget file: {done.target_file} (login passwords inside, mode 0600)")
        print("Next: kfp-isolation certify --target cluster --target-file "
              f"{done.target_file}")
        print(f"Stop: kfp-isolation cluster down --name {args.name} --state-dir {args.state_dir}")
        return EXIT_PASS
    return _guarded(run)


def cmd_down(args: argparse.Namespace) -> int:
    return _guarded(lambda: (recipe.down(_options(args).check(), SubprocessRunner()),
                             EXIT_PASS)[1])


def cmd_status(args: argparse.Namespace) -> int:
    return _guarded(lambda: EXIT_PASS if recipe.status(_options(args).check(),
                                                     SubprocessRunner()).healthy
                    else EXIT_FAIL)

"""The ``certify --in-cluster`` command: print the manifests, ``--apply`` them, or
``--collect [--delete]`` a Job applied by hand."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from conformance.incluster.apply import PREFIX, apply, collect_applied, collect_command
from conformance.incluster.manifests import (
    LOGIN_SECRET,
    InClusterError,
    Plan,
    manifests,
    yaml_stream,
)
from conformance.outcomes import EXIT_ERROR, EXIT_PASS
from conformance.target import Target, TargetError
from emulator.modes import Mode


def plan_from(image: str, namespace: str, timeout: int, profiles: Iterable[str],
              features: Iterable[str], keep_tenants: bool, mode: str | None,
              target_file: Path | None) -> tuple[Plan, Target | None]:
    """The run's plan from the flags and the operator's target file (its login users, its
    mode's multi-user-ness, its kubeconfig for ``--apply`` and ``--collect``)."""
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", namespace):
        raise InClusterError(f"--namespace {namespace!r} is not a namespace name")
    if timeout <= 0:
        raise InClusterError("--timeout is a number of seconds above 0")
    target = None
    if target_file is not None:
        try:
            target = Target.load(target_file)
        except TargetError as exc:
            raise InClusterError(str(exc)) from None
    multiuser = True
    if mode is not None:
        multiuser = Mode(mode).multiuser
    elif target is not None and target.mode is not None:
        multiuser = target.mode.multiuser
    plan = Plan(image=image, namespace=namespace, multiuser=multiuser, timeout=timeout,
                profiles=tuple(profiles), features=tuple(features), keep_tenants=keep_tenants,
                users=target.users if target is not None else ())
    return plan, target


def next_steps(plan: Plan, target_file: Path | None, report_dir: Path) -> str:
    """What to do with the printed manifests (stderr: stdout is the YAML stream)."""
    lines = []
    if plan.multiuser and plan.users:
        names = ", ".join(plan.password_env(i, u) for i, u in enumerate(plan.users))
        lines.append(f"the login users' passwords are not printed; create Secret "
                     f"{plan.namespace}/{LOGIN_SECRET} with the keys {names} before the Job "
                     "starts")
    lines.append("next: pipe this output to `kubectl apply -f -`, then run "
                 f"`{collect_command(plan, target_file, report_dir)}`: it waits for the Job, "
                 "unpacks the report and, with --delete, removes what was applied, the "
                 "cluster-admin ClusterRoleBinding"
                 + (" and the AuthorizationPolicy in kubeflow" if plan.multiuser else "")
                 + " included: do not leave them behind")
    return "".join(f"{PREFIX}: {line}\n" for line in lines)


def run(*, apply_it: bool, image: str, namespace: str, timeout: int, report_dir: Path,
        keep: bool, profiles: Iterable[str], features: Iterable[str], keep_tenants: bool,
        mode: str | None, target_file: Path | None, collect_it: bool = False,
        remove: bool = False, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """The ``--in-cluster`` command."""
    try:
        plan, target = plan_from(image, namespace, timeout, profiles, features, keep_tenants,
                                 mode, target_file)
    except InClusterError as exc:
        err.write(f"{PREFIX}: {exc}\n")
        return EXIT_ERROR
    if not apply_it and not collect_it:
        out.write(yaml_stream(manifests(plan)))
        err.write(next_steps(plan, target_file, report_dir))
        return EXIT_PASS
    flag = "--apply" if apply_it else "--collect"
    if target is None or not target.kubeconfig:
        err.write(f"{PREFIX} {flag}: needs --target-file naming the kubeconfig to "
                  f"{'create the Job with' if apply_it else 'read the Job with'}\n")
        return EXIT_ERROR
    from conformance.targets import close_client, kube_client

    try:
        api_client = kube_client(target.kubeconfig)
    except TargetError as exc:
        err.write(f"{PREFIX}: {exc}\n")
        return EXIT_ERROR
    try:
        if apply_it:
            return apply(api_client, plan, report_dir, keep, err, target_file=target_file)
        return collect_applied(api_client, plan, report_dir, remove, err)
    finally:
        close_client(api_client)


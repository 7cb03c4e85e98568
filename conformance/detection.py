"""Which of the four deployment modes a target is, from what the deployment itself answers.

* multi-user or standalone: the API server's healthz says ``multi_user`` (spec section 1);
  through an ingress gateway with a login proxy, a request without a session is refused (401 or
  a redirect to the login page) — only full Kubeflow puts one there;
* inside or outside: where the suite reaches KFP from.  A target with only a gateway endpoint is
  reached from outside, one with only a direct endpoint from inside; with both, inside when the
  suite runs in a pod (a ServiceAccount token is mounted), else outside.

A target file may leave ``mode`` out (or say ``auto``): :func:`resolve` fills in what it detects.
A declared mode the deployment contradicts is a configuration error, reported before any
scenario runs, so the run never certifies the wrong mode's scenarios.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import requests

from conformance.target import Target, TargetError
from emulator.modes import Mode

HEALTHZ = "/apis/v2beta1/healthz"
POD_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
TIMEOUT = 15
LOGIN_PATHS = ("/oauth2/", "/dex/")


@dataclass(frozen=True)
class Detection:
    multiuser: bool | None  # None: the deployment would not say
    access: str  # inside | outside
    evidence: tuple[str, ...]

    def mode(self) -> Mode | None:
        if self.multiuser is None:
            return None
        return Mode(f"{'full' if self.multiuser else 'standalone'}-{self.access}")


def in_pod() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and POD_TOKEN.exists()


def detect(target: Target, *, declared_access: str | None = None) -> Detection:
    """Ask the deployment (anonymously: healthz needs no identity, a login proxy refuses)."""
    evidence = []
    multiuser: bool | None = None
    if target.kfp_direct:
        answer = _get(target.kfp_direct + HEALTHZ)
        if isinstance(answer, requests.Response) and answer.status_code == 200:
            value = _multi_user(answer)
            if value is not None:
                multiuser = value
                evidence.append(f"direct healthz: multi_user={str(value).lower()}")
        else:
            evidence.append(f"direct healthz: {_describe(answer)}")
    if target.kfp_gateway:
        answer = _get(target.kfp_gateway + HEALTHZ)
        if isinstance(answer, requests.Response) and _login_proxy(answer):
            evidence.append(f"gateway without a session: {answer.status_code} (a login proxy: "
                            "full Kubeflow)")
            multiuser = True if multiuser is None else multiuser
        elif isinstance(answer, requests.Response) and answer.status_code == 200:
            value = _multi_user(answer)
            evidence.append(f"gateway healthz without a session: multi_user={value}")
            if multiuser is None:
                multiuser = value
        else:
            evidence.append(f"gateway: {_describe(answer)}")
    if declared_access in ("inside", "outside"):
        access = declared_access
    elif target.kfp_direct and not target.kfp_gateway:
        access = "inside"
    elif target.kfp_gateway and not target.kfp_direct:
        access = "outside"
    else:
        access = "inside" if in_pod() else "outside"
    return Detection(multiuser, access, tuple(evidence))


def resolve(target: Target) -> Target:
    """The target with its mode detected (when not declared) or confirmed (when declared)."""
    declared = target.mode
    found = detect(target, declared_access=declared.access if declared else None)
    detected = found.mode()
    if declared is None:
        if detected is None:
            raise TargetError(f"target {target.name}: cannot detect its mode ("
                              f"{'; '.join(found.evidence) or 'no answer'}); declare 'mode'")
        return replace(target, mode=detected)
    if detected is not None and detected.multiuser != declared.multiuser:
        raise TargetError(
            f"target {target.name} declares mode {declared.value}, but the deployment is "
            f"{'multi-user' if detected.multiuser else 'standalone'} "
            f"({'; '.join(found.evidence)})")
    return target


def _get(url: str) -> requests.Response | Exception:
    try:
        return requests.get(url, timeout=TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        return exc


def _login_proxy(response: requests.Response) -> bool:
    """oauth2-proxy's answers to a request without a session: 401 for API paths, or a
    redirect to its sign-in or to Dex (not any redirect: http to https is no login proxy)."""
    if response.status_code == 401:
        return True
    location = response.headers.get("Location", "")
    return response.status_code in (302, 303) and any(
        part in location for part in LOGIN_PATHS)


def _multi_user(response: requests.Response) -> bool | None:
    try:
        value = response.json().get("multi_user")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, bool) else None


def _describe(answer: requests.Response | Exception) -> str:
    if isinstance(answer, requests.Response):
        return f"HTTP {answer.status_code}"
    return f"unreachable ({type(answer).__name__})"

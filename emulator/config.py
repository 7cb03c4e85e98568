"""Deployment switches of the emulated API server, named after the real server's env vars."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from emulator.bugs import check as check_bugs

MANIFEST_USERID_HEADER = "kubeflow-userid"
# The values of EmulatorConfig.artifact_credentials (emulator.objectstore.models.
# ArtifactCredentials).
ARTIFACT_CREDENTIALS = ("shared", "per-namespace")


def _env_bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class EmulatorConfig:
    """What a KFP deployment was started with (spec section 1).

    Defaults follow the Kubeflow multi-user manifests rather than the bare Go defaults, because
    that is the deployment our users test against: multi-user on, header ``kubeflow-userid`` with
    an empty prefix.
    """

    multiuser: bool = True
    userid_header: str = MANIFEST_USERID_HEADER
    userid_prefix: str = ""
    token_review_audience: str = "pipelines.kubeflow.org"
    shared_read: bool = False
    require_namespace_for_pipelines: bool = False
    pod_namespace: str = "kubeflow"
    default_runner_service_account: str = "default-editor"
    # Seconds on the emulator clock a run spends PENDING, then RUNNING.
    run_pending_seconds: float = 1.0
    run_running_seconds: float = 5.0
    # Lifetime of tokens the emulator mints when the caller does not ask for one.
    token_ttl_seconds: int = 3600
    commit_sha: str = "kfp-isolation-emulator"
    tag_name: str = "2.17.0"
    # Fault injection, never a real server's setting: operations (``METHOD /path/{}``, see
    # emulator.http.routing.operation_key) that skip authorization entirely.  The suite's
    # sensitivity check switches them off one at a time and expects a failing scenario.
    unguarded_operations: frozenset[str] = frozenset()
    # The object store's credentials per profile namespace: "shared" (KFP <= 2.14, MinIO: every
    # namespace gets the root pair) or "per-namespace" (KFP >= 2.15, SeaweedFS: an IAM user per
    # namespace).  Not in ENV_NAMES: no server reads it from its environment -- it is the
    # manifests' choice of object store and profile controller, not an API server flag.
    artifact_credentials: str = "shared"
    # Historical isolation bugs switched back on (ids of emulator.bugs.BUGS, e.g. "ISO-005").
    # Empty is the secure behaviour.  Not in ENV_NAMES, as unguarded_operations: no environment
    # variable may weaken a deployment unseen.
    bugs: frozenset[str] = frozenset()

    ENV_NAMES: ClassVar[dict[str, str]] = {
        "multiuser": "MULTIUSER",
        "userid_header": "KUBEFLOW_USERID_HEADER",
        "userid_prefix": "KUBEFLOW_USERID_PREFIX",
        "token_review_audience": "TOKEN_REVIEW_AUDIENCE",
        "shared_read": "MULTIUSER_SHARED_READ",
        "require_namespace_for_pipelines": "REQUIRE_NAMESPACE_FOR_PIPELINES",
        "pod_namespace": "POD_NAMESPACE",
        "default_runner_service_account": "DEFAULTPIPELINERUNNERSERVICEACCOUNT",
    }

    def __post_init__(self) -> None:
        object.__setattr__(self, "bugs", check_bugs(self.bugs))
        if self.artifact_credentials not in ARTIFACT_CREDENTIALS:
            raise ValueError(f"artifact_credentials must be one of "
                             f"{', '.join(ARTIFACT_CREDENTIALS)}, not "
                             f"{self.artifact_credentials!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> EmulatorConfig:
        """Read the real server's env var names; an empty value counts as set (AllowEmptyEnv)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            env_name = cls.ENV_NAMES.get(field.name)
            if env_name is None or env_name not in env:
                continue
            raw = env[env_name]
            values[field.name] = _env_bool(raw) if field.type in ("bool", bool) else raw
        values.update(overrides)
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: sorted(value) if isinstance(value, frozenset) else value
                for f in fields(self) for value in [getattr(self, f.name)]}

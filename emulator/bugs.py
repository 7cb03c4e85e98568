"""Historical KFP isolation bugs the emulator can switch back on, and KFP versions as bug sets.

One entry per ``ISO-xxx`` of the bug catalog (``specs/isolation-bugs.md``).  A switch is a
condition on :attr:`EmulatorConfig.bugs <emulator.config.EmulatorConfig.bugs>` at the one place
in the emulator where the upstream bug lived (a handler's verb, a scope resolution, a
middleware), never a special case keyed by test data.  The default (no bugs) is the secure
behaviour.  Entries the emulator cannot express say why; documented limitations that the
emulator shows by default (ML Metadata, the shared object store) are ``limitation`` entries.

Both the emulator and the conformance suite import this module: the suite tags the scenarios
that detect a bug with its id (``@ISO-005``) and proves in CI that each switch makes every one of
those scenarios, and no other, end ``fail`` (``python -m conformance.bug_detection``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Expressible = Literal["switch", "limitation", "no"]


@dataclass(frozen=True)
class Bug:
    """A catalog entry: what went wrong, where, in which versions, and whether we can show it."""

    id: str
    title: str
    component: str
    affected: str
    fixed: str
    links: tuple[str, ...]
    expressible: Expressible
    # For a switch: where it changes behaviour; otherwise why it cannot be a switch.
    note: str
    # Parts of the entry the switch does not reproduce (empty when it reproduces all of it).
    partial: str = ""

    @property
    def switchable(self) -> bool:
        return self.expressible == "switch"

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "component": self.component,
                "affected": self.affected, "fixed": self.fixed, "links": list(self.links),
                "expressible": self.expressible, "note": self.note, "partial": self.partial}


_KFP = "https://github.com/kubeflow/pipelines"
_KF = "https://github.com/kubeflow/kubeflow"

_ENTRIES = (
    Bug("ISO-001", "Wrong RBAC verbs in 2.0.0-beta authorization (delete/terminate authorized "
        "as unarchive, etc.)", "API server", "2.0.0-beta.0 … 2.0.0-beta.2", "2.0.0-rc.1",
        (f"{_KFP}/pull/9373",), "switch",
        "the verb each run/experiment/recurring-run handler asks for (WRONG_VERBS)",
        partial="the same PR's latent sub-issue (a caller-supplied namespace kept beside an "
                "object id) is not modelled: no caller passed both"),
    Bug("ISO-002", "ReadArtifact and ReportRunMetrics performed no authorization",
        "API server", "multi-user releases through 1.8.5", "2.0.0-alpha.4",
        (f"{_KFP}/issues/7818", f"{_KFP}/pull/7819"), "switch",
        "the :read and :reportMetrics handlers skip canAccessRun"),
    Bug("ISO-003", "Persistence-agent report endpoints (ReportWorkflow, "
        "ReportScheduledWorkflow) unauthenticated", "API server", "through 2.0.1", "2.0.2",
        (f"{_KFP}/issues/8074", f"{_KFP}/pull/9699"), "switch",
        "the report handlers skip authentication and the report SAR",
        partial="a report for an unknown run id is ignored, not injected as a new run; of a "
                "report the emulator applies only the workflow's phase (it keeps no reported "
                "manifest or node statuses a forged spec could overwrite); a ScheduledWorkflow "
                "report changes nothing (upstream's UpdateJob overwrites enabled, trigger, "
                "max_concurrency and no_catchup), so a forged one is detected by its status"),
    Bug("ISO-004", "v1 CreatePipelineVersion authorized against the empty namespace",
        "API server", "1.5.0 … 1.8.5", "2.0.0 (v2 refactor, #8633)",
        (f"{_KFP}/pull/8633", f"{_KFP}/pull/9373"), "switch",
        "v1 CreatePipelineVersion asks `list` in namespace \"\" (always allowed)",
        partial="1.8.5's fail-open of CanAccessPipeline(Version) for ids whose namespace "
                "lookup fails is not modelled: an unknown pipeline id answers 404"),
    Bug("ISO-005", "Writes to shared pipelines skipped authorization (gRPC/JSON API)",
        "API server", "2.0.0 … 2.16.x", "2.17.0", (f"{_KFP}/pull/13288",), "switch",
        "the shared-pipeline branch of the pipeline authorizer allows JSON writes (create, "
        "update, delete, create version, v1 default version) without a SAR; the multipart "
        "uploads stay checked (ISO-006)"),
    Bug("ISO-006", "Multipart uploads of shared pipelines and versions lack authorization "
        "(CVE-2026-77596)", "API server", "≤ 2.17.x", "2.18.0", (f"{_KFP}/pull/14352",),
        "switch", "the upload handlers skip the SAR when the target namespace is empty"),
    Bug("ISO-007", "Run and recurring-run creation can execute another tenant's private "
        "pipeline (GHSA-v83x-544f-ph2r)", "API server", "1.5.0 … 2.17.x", "2.18.0",
        (f"{_KFP}/pull/14348",), "switch",
        "resolving a run's pipeline reference skips the `get pipelines` check",
        partial="a recurring run's experiment always sets its namespace here, so the "
                "'experiment outside the recurring run's namespace' variant cannot occur; "
                "the v2beta1 run answer carries the version reference (pipeline_source is a "
                "oneof), so the foreign definition reaches the caller through the v1beta1 "
                "run's pipeline_runtime.pipeline_manifest, not a v2 pipeline_spec"),
    Bug("ISO-008", "Confused deputy via a run's service_account", "API server", "≤ 2.17.x",
        "2.18.0", (f"{_KFP}/pull/14181", f"{_KFP}/issues/14357"), "limitation",
        "present by default: the emulator behaves as KFP 2.17 does and runs as any service "
        "account of the run's namespace (the 2.18 `use serviceaccounts` check and its "
        "allow-list are not modelled: their exact denial is not public)"),
    Bug("ISO-009", "Run-log streaming endpoint had no authorization", "API server",
        "1.1 … 2.17.x", "2.18.0", (f"{_KFP}/pull/13684",), "switch",
        "GET /apis/v1alpha1/runs/{run_id}/nodes/{node_id}/log skips canAccessRun",
        partial="the fixed check's answer is inferred: like ReadArtifact's, its plain HTTP "
                "handler sees no identity, so in multi-user mode the secure emulator refuses "
                "every caller with 403 (the owner too)"),
    Bug("ISO-010", "Legacy visualization API: empty namespace bypasses authz and runs code in "
        "the shared visualization server", "API server", "0.5.0 … 2.18.0", "2.18.1",
        (f"{_KFP}/issues/2899",), "no",
        "the emulator has no visualization server that could execute code"),
    Bug("ISO-011", "SQL injection through page_token in list APIs", "API server", "≤ 2.16.x",
        "2.17.0", (f"{_KFP}/pull/13127",), "no",
        "the emulator has no SQL: page tokens are parsed and their fields validated in Python"),
    Bug("ISO-012", "Empty-namespace SAR broke shared-pipeline listing (over-restriction)",
        "API server", "2.0.0-beta.0", "2.0.0-beta.1",
        (f"{_KFP}/issues/8897", f"{_KFP}/pull/8859"), "switch",
        "get/list of shared pipelines ask a cluster-scope SAR (namespace \"\")",
        partial="the SAR sits in the pipeline authorizer, which the 2.18 run-reference check "
                "also uses: alone (without ISO-007, unlike 2.0.0-beta.0) it also refuses runs "
                "of shared pipeline versions to users without a cluster-scope grant"),
    Bug("ISO-013", "Recurring runs in multi-user mode: controller identity and service "
        "account handling", "API server / scheduled-workflow controller", "2.15 … 2.16",
        "2.17.0", (f"{_KFP}/pull/13472", f"{_KFP}/issues/13311", f"{_KFP}/pull/13325"), "no",
        "the recurring-run controller is part of the in-process server: it neither "
        "authenticates nor has a token to lose; the ignored-service-account variant is a "
        "functional bug no isolation scenario observes"),
    Bug("ISO-014", "Artifact download without namespace skipped all checks and used the UI's "
        "admin object-store credentials", "UI server", "multi-user releases through 2.16.x",
        "2.17.0", (f"{_KFP}/issues/9889", f"{_KFP}/issues/12373", f"{_KFP}/pull/12860"),
        "switch", "the UI server's artifact handlers skip their authorization middleware",
        partial="the per-namespace artifact proxy (namespace=bob proxied to "
                "ml-pipeline-ui-artifact.bob) and secret-backed providerInfo are not modelled: "
                "the emulator serves no artifact proxy and its UI server reads no Secrets"),
    Bug("ISO-015", "Artifact IDOR via namespace swap (authorized namespace, foreign key)",
        "UI server", "builds with #12860 but not #13433", "2.17.0",
        (f"{_KFP}/pull/13433", f"{_KFP}/pull/13683", f"{_KFP}/pull/14407"), "switch",
        "the UI server's artifact handlers skip the ownership check (MLMD, then key prefix)",
        partial="the still-open custom pipeline_root variant (GHSA-r482-6q48-hfp4) is not "
                "modelled"),
    Bug("ISO-016", "Artifact proxy SSRF through the namespace parameter (CVE-2023-6570) and "
        "decimal-IP bypass (CVE-2026-88980)", "UI server", "≤ 2.16.x / ≤ 2.17.x",
        "2.17.0 / 2.18.0", (f"{_KFP}/pull/13126", f"{_KFP}/pull/13677"), "no",
        "needs the per-namespace artifact proxy and outbound HTTP, which the emulator does not "
        "have; without them nothing observable leaks"),
    Bug("ISO-017", "Generic /_proxy/ route: unauthenticated SSRF (CVE-2026-54745)", "UI server",
        "≤ 2.16.x", "2.17.0", (f"{_KFP}/pull/13511",), "switch",
        "the UI server forwards /_proxy/ URLs (and requests with a /_proxy/ Referer) "
        "instead of answering 410",
        partial="only hosts the emulator serves answer (ml-pipeline:8888, its API paths; "
                "metadata-envoy-service:9090); cloud metadata, TensorBoard viewers and the "
                "per-namespace services that admit the ml-pipeline-ui mesh principal do not "
                "exist here. The forwarded request carries the caller's own headers (the "
                "gateway's identity header), so the API server answers the caller as "
                "herself: no cross-tenant read through it"),
    Bug("ISO-018", "Pod info, events and logs endpoints were not namespace-restricted",
        "UI server", "≤ 2.15.x", "2.16.0",
        (f"{_KFP}/issues/12509", f"{_KFP}/pull/12528", f"{_KFP}/pull/12778"), "switch",
        "the UI server's /k8s/pod, /k8s/pod/events and /k8s/pod/logs skip their namespace "
        "check",
        partial="logs without podnamespace fall back to the server's namespace, where the "
                "emulator runs no pods (upstream: the KFP system pods): 500, not a log"),
    Bug("ISO-019", "TensorBoard viewer CRUD without authorization", "UI server", "< 0.5.1",
        "0.5.1", (f"{_KFP}/issues/3294", f"{_KFP}/pull/3639"), "no",
        "the emulator serves no TensorBoard endpoints (and the bug predates multi-user GA)"),
    Bug("ISO-020", "ML Metadata shared and unauthenticated (GHSA-j53r-x5f5-j4hr)",
        "ML Metadata", "all releases", "not fixed (2.18.1 blocked it, 2.18.2 reverted that)",
        (f"{_KFP}/issues/4790",), "limitation",
        "a documented limitation, present by default: ML Metadata answers every caller"),
    Bug("ISO-021", "Root object-store credentials in every profile namespace (shared MinIO)",
        "object store / profile controller", "≤ 2.14.x manifests", "2.15.0 (SeaweedFS)",
        (f"{_KFP}/issues/4649", f"{_KFP}/pull/11965"), "limitation",
        "a documented limitation, present by default (artifact_credentials=shared); "
        "artifact_credentials=per-namespace installs the fix"),
    Bug("ISO-022", "Cross-tenant execution-cache hits in the v1 cache webhook "
        "(CVE-2026-88982)", "cache server", "1.0 … 2.17.x", "2.18.0",
        (f"{_KFP}/pull/14359",), "no", "the emulator has no execution cache"),
    Bug("ISO-023", "kubeflow-userid header trusted from any source", "gateway (Istio)",
        "manifests before 1.5.0 / distributions without the policy", "1.5.0 (#5420)",
        (f"{_KFP}/issues/4440", f"{_KFP}/pull/5420", f"{_KFP}/pull/11347"), "switch",
        "the gateway keeps a client-sent identity header instead of replacing it",
        partial="mesh principals (step 4: a non-gateway pod in istio-system) do not exist "
                "here; the direct listener trusts the header by design (no Istio policy on "
                "ml-pipeline), so the switch acts at the gateway"),
    Bug("ISO-024", "KFAM unprotected: any user can make themselves a contributor of any "
        "profile", "Kubeflow access management", "Kubeflow ≤ 1.4", "Kubeflow 1.5",
        (f"{_KF}/issues/6228", f"{_KF}/pull/6077"), "switch",
        "the Istio policy in front of KFAM admits any caller, not only the dashboard",
        partial="the catalog's curl without an identity header meets KFAM's own owner check "
                "(caller \"\") and is refused; the forged-header form reproduces"),
    Bug("ISO-025", "SDK namespace handling: the client's namespace was ignored",
        "SDK", "< 1.8.11", "1.8.11", (f"{_KFP}/pull/7056", f"{_KFP}/issues/8777"), "no",
        "a client-side bug: the suite detects it in the SDK under test (features/sdk.feature), "
        "no server switch can make it"),
    Bug("ISO-026", "Run retry from another user (unconfirmed)", "API server", "unconfirmed",
        "—", (f"{_KFP}/issues/9687",), "no",
        "unconfirmed upstream (RetryRun always checked `retry`): kept as a negative control"),
    Bug("ISO-027", "GetPipelineByName falling back to the installation namespace "
        "(open, uncertain)", "API server", "uncertain", "—", (f"{_KFP}/pull/14052",), "no",
        "the leak path is not confirmed upstream"),
)

BUGS: dict[str, Bug] = {bug.id: bug for bug in _ENTRIES}
SWITCHABLE: tuple[str, ...] = tuple(bug.id for bug in _ENTRIES if bug.switchable)


@dataclass(frozen=True)
class KfpVersion:
    """A historical KFP release as the catalog's section 8 describes it."""

    version: str
    bugs: frozenset[str]
    # Settings of the deployment that came with the release (EmulatorConfig fields).
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def switched(self) -> frozenset[str]:
        return frozenset(b for b in self.bugs if BUGS[b].switchable)

    @property
    def not_expressible(self) -> tuple[str, ...]:
        return tuple(sorted(b for b in self.bugs if BUGS[b].expressible == "no"))


def _version(version: str, numbers: str, *, credentials: str) -> KfpVersion:
    bugs = frozenset(f"ISO-{n}" for n in numbers.split())
    return KfpVersion(version, bugs, {"tag_name": version, "artifact_credentials": credentials})


# Catalog section 8, the table (its prose lists a shorter 1.8.5 set; the table is the fuller
# one).  ISO-008 is affected through 2.17.x per its entry but missing from the table's rows;
# the emulator's default already behaves like 2.17 there (a limitation entry).
KFP_VERSIONS: dict[str, KfpVersion] = {v.version: v for v in (
    _version("1.8.5", "002 003 004 005 006 007 009 010 011 014 016 017 018 020 021 022",
             credentials="shared"),
    _version("2.0.0-beta.0", "001 003 005 006 007 009 010 011 012 014 016 017 018 020 021 "
             "022", credentials="shared"),
    _version("2.5.0", "005 006 007 009 010 011 014 016 017 018 020 021 022",
             credentials="shared"),
    _version("2.16.0", "005 006 007 009 010 011 014 016 017 020 022",
             credentials="per-namespace"),
    _version("2.17.0", "006 007 009 010 016 020 022", credentials="per-namespace"),
    _version("2.18.0", "010 020", credentials="per-namespace"),
)}

# ISO-001: the verb 2.0.0-beta asked for instead of the right one, per (resource, verb).
WRONG_VERBS: dict[tuple[str, str], str] = {
    ("runs", "delete"): "unarchive",
    ("runs", "terminate"): "unarchive",
    ("experiments", "delete"): "archive",
    ("experiments", "unarchive"): "archive",
    ("jobs", "disable"): "enable",
}


class _HasBugs(Protocol):
    @property
    def bugs(self) -> frozenset[str]: ...


def on(config: _HasBugs, bug_id: str) -> bool:
    """Is this bug switched on?  (An unknown id is a programming error, not a quiet False.)"""
    if bug_id not in BUGS:
        raise KeyError(f"unknown bug {bug_id!r}")
    return bug_id in config.bugs


def verb(config: _HasBugs, resource: str, right: str) -> str:
    """The RBAC verb a handler asks for: the right one, or 2.0.0-beta's (ISO-001)."""
    if "ISO-001" in config.bugs:
        return WRONG_VERBS.get((resource, right), right)
    return right


def check(ids: frozenset[str] | set[str] | tuple[str, ...]) -> frozenset[str]:
    """Validate bug ids for a configuration: every one must be a switchable catalog entry."""
    found = set()
    for raw in ids:
        bug_id = normalize(raw)
        bug = BUGS.get(bug_id)
        if bug is None:
            raise ValueError(f"unknown bug {raw!r}; known: ISO-001 … ISO-{len(BUGS):03d} "
                             f"(`kfp-isolation bugs` lists them)")
        if not bug.switchable:
            kind = "a limitation the emulator shows by default" \
                if bug.expressible == "limitation" else "not expressible"
            raise ValueError(f"{bug_id} cannot be switched on ({kind}): {bug.note}")
        found.add(bug_id)
    return frozenset(found)


def normalize(raw: str) -> str:
    """``iso-5``, ``5`` and ``ISO-005`` all name ISO-005."""
    text = raw.strip().upper()
    text = text.removeprefix("ISO-").removeprefix("ISO")
    return f"ISO-{int(text):03d}" if text.isdigit() else raw.strip()


def emulate(version: str) -> KfpVersion:
    """The catalog's profile of a KFP release, by exact version."""
    try:
        return KFP_VERSIONS[version]
    except KeyError:
        raise ValueError(f"no bug profile for KFP {version!r}; known: "
                         f"{', '.join(KFP_VERSIONS)}") from None

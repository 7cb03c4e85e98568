"""The operation x identity matrix: current with the swagger files, faithful to the RBAC table,
and complete: every operation the emulator authorizes is probed, and every probe reaches the
authorization it claims."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from conformance import matrix
from conformance.matrix import ALLOWED, DENIED, IDENTITIES, UNAUTHENTICATED
from tests.support.feature_runs import FEATURES


def identity(kind: str) -> matrix.Identity:
    return next(i for i in IDENTITIES if i.kind == kind)


def test_the_committed_feature_is_current() -> None:
    operations = matrix.swagger_operations()
    assert matrix.unclassified(operations) == []
    assert matrix.FEATURE_FILE.read_text() == matrix.render_feature(operations), \
        "features/api_matrix.feature is stale: run python -m conformance.matrix"


def test_every_swagger_operation_is_probed_or_explained() -> None:
    operations = matrix.swagger_operations()
    listed = {(p.api, p.operation_id) for p in (*matrix.PROBES, *matrix.NOT_PROBED)}
    assert {(op.api, op.operation_id) for op in operations} <= listed
    assert len(matrix.PROBES) >= 70
    broken = [*operations[:1]]
    wrong = matrix.SwaggerOperation(broken[0].api, broken[0].operation_id, "PUT", "/elsewhere")
    assert matrix.unclassified([wrong]), "a probe disagreeing with the swagger goes unnoticed"
    unknown = matrix.SwaggerOperation("v2beta1", "NewService_DoIt", "GET", "/apis/v2beta1/x")
    assert matrix.unclassified([unknown]), "a new swagger operation goes unnoticed"


@pytest.mark.parametrize(("operation", "kind", "expected"), [
    ("RunService_GetRun", "view contributor", ALLOWED),  # kubeflow-view: runs get
    ("RunService_ArchiveRun", "view contributor", DENIED),
    ("RunService_GetRun", "custom role", DENIED),  # experiment-reader: experiments only
    ("ExperimentService_ListExperiments", "custom role", ALLOWED),
    ("ExperimentService_DeleteExperiment", "custom role", DENIED),
    # una: reads, plus exactly the verbs 2.0.0-beta asked for by mistake (ISO-001)
    ("RunService_UnarchiveRun", "partial custom role", ALLOWED),
    ("RunService_DeleteRunV1", "partial custom role", DENIED),
    ("RunService_TerminateRun", "partial custom role", DENIED),
    ("RunService_ArchiveRun", "partial custom role", DENIED),
    ("ExperimentService_ArchiveExperiment", "partial custom role", ALLOWED),
    ("ExperimentService_UnarchiveExperimentV1", "partial custom role", DENIED),
    ("JobService_EnableJob", "partial custom role", ALLOWED),
    ("RecurringRunService_DisableRecurringRun", "partial custom role", DENIED),
    ("RunService_GetRunV1", "partial custom role", ALLOWED),
    ("PipelineService_GetPipeline", "partial custom role", DENIED),
    ("AuthService_AuthorizeV1", "view contributor", ALLOWED),  # viewers: get for kubeflow-view
    ("ReportService_ReportWorkflow", "owner", DENIED),  # cluster-wide: the persistence agent
    ("ReportService_ReportWorkflow", "admin", ALLOWED),
    ("JobService_EnableJob", "namespace service account", ALLOWED),  # default-editor: edit
    ("PipelineService_DeletePipelineV1", "other service account", DENIED),
    ("UploadPipeline (v2beta1)", "anonymous", UNAUTHENTICATED),
])
def test_expectations_follow_the_rbac_model(operation: str, kind: str, expected: str) -> None:
    assert matrix.probe_named(operation).expected(identity(kind)) == expected


def test_the_iso_001_outlines_are_the_operations_whose_verb_2_0_0_beta_got_wrong() -> None:
    """The partial custom role holds each wrong verb but not the right one, so every operation
    ISO-001 misauthorizes flips for her, and exactly those outlines carry the tag."""
    from emulator.bugs import WRONG_VERBS

    una = identity("partial custom role")
    wrong = {matrix.scenario_id(p) for p in matrix.PROBES if (p.resource, p.verb) in WRONG_VERBS}
    assert len(wrong) == 10  # delete/terminate run, delete/unarchive experiment, disable: x2
    tagged = {matrix.scenario_id(p) for p in matrix.PROBES
              if "ISO-001" in matrix.BUG_TAGS.get(p.operation_id, ())}
    assert tagged == wrong
    for probe in matrix.PROBES:
        mistaken = WRONG_VERBS.get((probe.resource, probe.verb))
        if mistaken is None:
            continue
        assert probe.expected(una) == DENIED, probe.operation_id
        as_asked = dataclasses.replace(probe, verb=mistaken)
        assert as_asked.expected(una) == ALLOWED, (probe.operation_id, mistaken)


def test_operation_keys_match_the_emulator_routes() -> None:
    from emulator.http.routing import operation_key

    assert operation_key("patch", "/apis/v2beta1/pipelines/{pipeline_version.pipeline_id}"
                                  "/versions/{pipeline_version.pipeline_version_id}") == \
        "PATCH /apis/v2beta1/pipelines/{}/versions/{}"
    assert len({p.key for p in matrix.PROBES}) == len(matrix.PROBES)


# Operations of the emulated API server that authorize no one, and why.
UNGUARDED_BY_DESIGN = {
    "GET /apis/v1beta1/healthz": "health, no identity needed",
    "GET /apis/v2beta1/healthz": "health, no identity needed",
    "GET /apis/v2beta1/auth": "in the swagger, not registered by the real server (404)",
    "POST /apis/v2beta1/visualizations/{}": "in the swagger, not registered (404)",
    # A plain HTTP handler: no gRPC metadata reaches canAccessRun, so in multi-user mode it
    # refuses everyone (spec 3.9); nothing to probe per identity.  Not in the swagger.
    "GET /apis/v1beta1/runs/{}/nodes/{}/artifacts/{}:read": "cannot authenticate in MU (3.9)",
    "GET /apis/v2beta1/runs/{}/nodes/{}/artifacts/{}:read": "cannot authenticate in MU (3.9)",
    # The run log (ISO-009's route), in no swagger file: the same kind of plain handler; its
    # 2.18 check (get runs) sees no identity either.  runs.feature's @ISO-009 scenario covers
    # it: with its check skipped, bob reads alice's pod log.
    "GET /apis/v1alpha1/runs/{}/nodes/{}/log": "cannot authenticate in MU (3.9, inferred)",
}


def test_every_routed_operation_is_probed_or_unguarded_by_design() -> None:
    """A new route of the emulated API server fails this test until the matrix probes it
    (or it is listed above with the reason it authorizes no one)."""
    from emulator.core import Emulator
    from emulator.http.app import build_apps
    from emulator.modes import Listener

    app = build_apps(Emulator(profiles=[]))[Listener.DIRECT]
    routed = {op for op in app.router.operations() if " /apis/" in op}
    assert routed - {p.key for p in matrix.PROBES} == set(UNGUARDED_BY_DESIGN)
    assert {p.key for p in matrix.PROBES} <= routed


def test_the_probes_are_exactly_the_operations_that_ask_for_authorization(
        pytester: pytest.Pytester, tmp_path: Path) -> None:
    """Run the matrix against an emulator we hold: every probe reaches the authorizer (a probe
    that never does proves nothing), and no other operation did (with the test above: every
    guarded route is probed)."""
    from conformance.targets import describe_emulator
    from emulator.core import Emulator
    from emulator.serving import EmulatorServer

    emulator = Emulator(profiles=[])
    with EmulatorServer(emulator) as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        target = describe_emulator(server, kubeconfig).dump(tmp_path / "target.yaml")
        result = pytester.inline_run(str(FEATURES), "-p", "no:cacheprovider", "-m",
                                     "api-matrix", "--kfp-target", "url",
                                     "--kfp-target-file", str(target),
                                     "--kfp-report-dir", str(tmp_path / "report"))
    passed, _, failed = result.listoutcomes()
    assert not failed and len(passed) == len(matrix.PROBES) * len(IDENTITIES)
    # The report's coverage: every cell of the matrix, each with its scenario's outcome.
    report = yaml.safe_load((tmp_path / "report" / "report.yaml").read_text())
    cells = report["coverage"]["cells"]
    assert len(cells) == len(matrix.PROBES) * len(IDENTITIES)
    assert {(c["api"], c["operation_id"]) for c in cells} == \
        {(p.api, p.operation_id) for p in matrix.PROBES}
    assert {c["outcome"] for c in cells} == {"pass"}
    assert {c["identity"] for c in cells} == {i.kind for i in IDENTITIES}
    consulted = emulator.kfp.state.access.consulted
    assert consulted == {p.key for p in matrix.PROBES}, (
        sorted(consulted - {p.key for p in matrix.PROBES}),
        sorted({p.key for p in matrix.PROBES} - consulted))

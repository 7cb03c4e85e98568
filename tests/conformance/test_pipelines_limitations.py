"""The pipelines, limitations and standalone features end as intended, and can end otherwise:
a pipelines scenario fails when the emulator stops authorizing one pipeline operation, the shared
pipelines limitation reports "lifted" on a deployment that requires a namespace for pipelines,
and what the steps make is gone afterwards."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.targets import describe_emulator
from emulator.config import EmulatorConfig
from emulator.core import Emulator
from emulator.modes import Mode
from emulator.serving import EmulatorServer
from tests.support.feature_runs import outcomes as feature_outcomes

MINE = ("pipelines", "limitations", "standalone")
SHARED = "test_pipeline_definitions_are_shared"
# The core scenarios about shared pipelines (isolation-bugs ISO-005, ISO-006, ISO-012): a target
# that requires a namespace for pipelines has no shared pipeline to test them on.
SHARED_CORE = ("test_actor_may_read_and_list_shared_pipelines",
               "test_actor_may_not_create_change_or_extend_a_shared_pipeline",
               "test_actor_may_neither_publish_a_shared_pipeline")
DATA_PLANE = ("test_ml_metadata_is_shared", "test_the_object_store_is_shared")


def outcomes(pytester: pytest.Pytester, *args: str,
             features: tuple[str, ...] = MINE) -> dict[str, str]:
    """Run only these features in-process; each scenario's outcome by its test name."""
    found = {node.split("::")[-1]: outcome
             for node, outcome in feature_outcomes(pytester, features, *args).items()}
    assert found, "no scenario ran"
    return found


STANDALONE = ("test_without_any_identity", "test_the_namespace_a_request_names",
              "test_the_serverwide_default")


def expected_in_full_mode(name: str) -> str:
    """The emulator's defaults: every documented limitation present (shared artifact
    credentials), the standalone scenarios not for a multi-user target."""
    if name.startswith(SHARED) or name.startswith(DATA_PLANE):
        return "limitation present"
    if name.startswith(STANDALONE):
        return "not supported"
    return "pass"


@pytest.fixture
def emulator_target(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[
        tuple[Emulator, Path]]:
    """A running emulator with the config the test asks for, described by a target file."""
    config: EmulatorConfig = getattr(request, "param", EmulatorConfig())
    emulator = Emulator(config, profiles=[], mode=Mode.FULL_INSIDE)
    with EmulatorServer(emulator) as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        yield emulator, describe_emulator(server, kubeconfig).dump(tmp_path / "target.yaml")


def test_intended_outcomes_and_nothing_left_behind(
        pytester: pytest.Pytester, emulator_target: tuple[Emulator, Path]) -> None:
    emulator, target = emulator_target
    found = outcomes(pytester, "--kfp-target", "url", "--kfp-target-file", str(target))
    wrong = {name: outcome for name, outcome in found.items()
             if outcome != expected_in_full_mode(name)}
    assert not wrong, wrong
    assert Counter(found.values())["limitation present"] == 6
    # the admin's shared pipelines and their versions are deleted again (a failed cleanup of
    # the namespaced ones would have ended its scenario in "error")
    state = emulator.kfp.state
    assert (len(state.pipelines), len(state.versions)) == (0, 0), list(state.pipelines)


@pytest.mark.parametrize("emulator_target",
                         [EmulatorConfig(require_namespace_for_pipelines=True)], indirect=True)
def test_requiring_a_namespace_for_pipelines_lifts_the_shared_pipelines_limitation(
        pytester: pytest.Pytester, emulator_target: tuple[Emulator, Path]) -> None:
    _, target = emulator_target
    found = outcomes(pytester, "--kfp-target", "url", "--kfp-target-file", str(target))
    shared = {name: outcome for name, outcome in found.items() if name.startswith(SHARED)}
    assert len(shared) == 3 and set(shared.values()) == {"limitation lifted"}, shared
    core = {name: outcome for name, outcome in found.items() if name.startswith(SHARED_CORE)}
    assert len(core) == 7 and set(core.values()) == {"not supported"}, core
    others = {name: outcome for name, outcome in found.items()
              if not name.startswith((SHARED, *SHARED_CORE))}
    assert all(outcome == expected_in_full_mode(name) for name, outcome in others.items()), \
        others


# Both operations also write shared pipelines: the shared-pipeline writes scenario notices too.
SHARED_WRITES = "test_actor_may_not_create_change_or_extend_a_shared_pipeline"


@pytest.mark.parametrize(("operation", "noticed_by"), [
    ("PipelineService_DeletePipeline", "test_actor_may_not_change_alices_pipeline"),
    ("PipelineService_CreatePipelineVersion", "test_actor_may_not_add_a_version"),
])
def test_an_unguarded_pipeline_operation_fails_the_suite(pytester: pytest.Pytester,
                                                         operation: str, noticed_by: str) -> None:
    """The emulator's sensitivity fault: one operation skips authorization."""
    found = outcomes(pytester, "--kfp-unguard", operation, features=("pipelines",))
    failed = sorted(name for name, outcome in found.items() if outcome == "fail")
    assert any(name.startswith(noticed_by) and name.endswith("[bob-is denied]")
               for name in failed), failed
    assert any(name.startswith(SHARED_WRITES) for name in failed), failed
    assert all(name.startswith((noticed_by, SHARED_WRITES)) for name in failed), failed
    assert set(found.values()) == {"pass", "fail"}


@pytest.mark.parametrize("mode", ["standalone-outside"])
def test_on_standalone_only_the_standalone_scenarios_run(pytester: pytest.Pytester,
                                                         mode: str) -> None:
    found = outcomes(pytester, "--kfp-mode", mode)
    ran = {name: outcome for name, outcome in found.items() if outcome != "not supported"}
    assert sorted(ran) == sorted(n for n in found if n.startswith(STANDALONE)), ran
    assert set(ran.values()) == {"pass"}, ran

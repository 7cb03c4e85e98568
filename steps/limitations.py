"""Steps of the data-plane limitations: ML Metadata and the object store are shared.

These scenarios are written as they will run once the suite reaches the data plane (issue 5):
a finished run of alice's, then bob, with his own credentials, reading what it recorded in ML
Metadata and stored in the ``mlpipeline`` bucket.  Their ``@requires-data-plane`` tag makes them
end "not supported" before any step runs; should a step be reached anyway (the tag removed, a
target claiming a data plane), it refuses the same way, naming what it would need, rather than
pass or fail on something it did not check.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import NoReturn

from pytest_bdd import given, parsers, then, when

from conformance.outcomes import HarnessError, NotSupported
from conformance.world import EXPERIMENTS, World
from steps import oracles
from steps.generic import ACTOR, NAME, TENANT

RUN = r'"(?P<run>[^"]+)"'
BUCKET = r'"(?P<bucket>[^"]+)"'
WHAT = r"(?P<what>artifacts|executions)"

MLMD = ("ML Metadata access: a gRPC (or gRPC-web through the gateway) client of the metadata "
        "service, and a run that really executes and records its artifacts there; this release "
        "of the suite reaches the KFP API server only (the data plane is issue 5)")
OBJECT_STORE = ("object-store access: an S3 client with the object-store credentials held in "
                "bob's namespace, and a run that really executes and writes its artifacts to the "
                "bucket; this release of the suite reaches the KFP API server only (the data plane "
                "is issue 5)")


NAMESPACE_REQUIRED = "Namespace is required for pipeline operations"


@then("the shared pipeline is accepted")
def shared_pipeline_accepted(world: World) -> None:
    """The admin's shared create or upload: accepted (the limitation stands), refused for want
    of a namespace (REQUIRE_NAMESPACE_FOR_PIPELINES: the limitation is lifted), or anything
    else, which says nothing about the limitation (an error, never "lifted")."""
    response = world.last()
    if response.status_code == 200:
        return
    if response.status_code == 400 and NAMESPACE_REQUIRED in response.text:
        raise AssertionError(f"the target refuses shared pipelines: {response.text[:200]}")
    raise HarnessError(f"the admin's shared pipeline request failed for another reason: "
                       f"{response.status_code} {response.text[:300]}")


def _needs(what: str, step: str) -> NoReturn:
    raise NotSupported(f"the step {step!r} needs {what}")


# -- ML Metadata --------------------------------------------------------------------------------

@given(parsers.re(f"alice's run {RUN} in {TENANT} has finished and recorded its artifacts in "
                  "ML Metadata"))
def run_recorded_in_mlmd(world: World, run: str, tenant: str) -> None:
    _needs(MLMD, f"run {run} in {tenant} recorded in ML Metadata")


@when(parsers.re(f"bob asks ML Metadata for the {WHAT} of alice's run {RUN}"))
def asks_mlmd(what: str, run: str) -> None:
    _needs(MLMD, f"bob asks ML Metadata for the {what} of run {run}")


@then(parsers.re(f"ML Metadata returns the {WHAT} of alice's run {RUN} to bob"))
def mlmd_returns(what: str, run: str) -> None:
    _needs(MLMD, f"ML Metadata returns the {what} of run {run}")


# -- the object store ---------------------------------------------------------------------------

@given(parsers.re(f"alice's run {RUN} in {TENANT} has finished and stored its output artifact "
                  "in the object store"))
def run_stored_artifact(world: World, run: str, tenant: str) -> None:
    _needs(OBJECT_STORE, f"run {run} in {tenant} stored its output artifact")


@when(parsers.re(f"bob lists the objects under the prefix of alice's run {RUN} in the {BUCKET} "
                 "bucket"))
def lists_objects(run: str, bucket: str) -> None:
    _needs(OBJECT_STORE, f"bob lists {bucket} under the prefix of run {run}")


@then(parsers.re(f"the listing shows the output artifact of alice's run {RUN}"))
def listing_shows_artifact(run: str) -> None:
    _needs(OBJECT_STORE, f"the listing shows the output artifact of run {run}")


@when(parsers.re(f"bob reads the output artifact of alice's run {RUN} from the {BUCKET} bucket"))
def reads_object(run: str, bucket: str) -> None:
    _needs(OBJECT_STORE, f"bob reads the output artifact of run {run} from {bucket}")


@then(parsers.re(f"bob receives the content of the output artifact of alice's run {RUN}"))
def receives_artifact(run: str) -> None:
    _needs(OBJECT_STORE, f"bob receives the output artifact of run {run}")


# -- standalone KFP: no identity, no namespaces ---------------------------------------------------
# Kept here because it is the documented limitation "multi-user isolation only in full Kubeflow":
# a standalone server stores every experiment in the empty namespace and serves everyone.



def _experiments_named(name: str) -> str:
    predicate = {"key": "display_name", "operation": "EQUALS", "string_value": name}
    return urllib.parse.quote(json.dumps({"predicates": [predicate]}))


@when(parsers.re(ACTOR + f" lists the experiments named {NAME}(?: in {TENANT})?"))
def lists_experiments_named(world: World, actor: str, name: str, tenant: str | None) -> None:
    """Narrowed to one name (a real deployment holds experiments of its own); with a tenant,
    the request also names its namespace."""
    scope = f"&namespace={world.cast.namespace(tenant)}" if tenant else ""
    world.send(actor, "GET", f"{EXPERIMENTS}?filter={_experiments_named(name)}"
                             f"&page_size=200{scope}")


@then(parsers.re(f"the experiment {NAME} has no namespace"))
def experiment_without_namespace(world: World, name: str) -> None:
    now = oracles.succeeded(world.owner_view(world.named("experiment", name)))
    assert not now.get("namespace"), f"expected no namespace (spec 3.1, SU), got {now}"


@then(parsers.re(f"the listed experiment {NAME} has no namespace and the description "
                 r'"(?P<description>.*)"'))
def listed_experiment_is(world: World, name: str, description: str) -> None:
    data = oracles.succeeded(world.last())
    found = [e for e in data.get("experiments") or [] if e.get("display_name") == name]
    assert len(found) == 1, f"expected one experiment {name!r} in the list, got {data}"
    assert not found[0].get("namespace"), f"expected no namespace, got {found[0]}"
    assert found[0].get("description") == description, \
        f"expected the description {description!r}, got {found[0]}"

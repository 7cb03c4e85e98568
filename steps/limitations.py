"""Steps of the documented limitations: shared pipelines, ML Metadata and the object store.

The data-plane ones take a finished run of alice's, then let bob, with his own credentials,
read what it recorded in ML Metadata (the way the KFP UI asks) and stored in the ``mlpipeline``
bucket (with the credentials his namespace holds).  alice's own read comes first: without it a
refusal of bob's would say nothing.
"""

from __future__ import annotations

import json
import urllib.parse

from pytest_bdd import given, parsers, then, when

from conformance import dataplane, metadata
from conformance.outcomes import HarnessError
from conformance.pipeline_spec import PRODUCER_OUTPUT, PRODUCER_PIPELINE_NAME, PRODUCER_TASK
from conformance.world import EXPERIMENTS, World
from steps import oracles
from steps.generic import ACTOR, NAME, TENANT

RUN = r'"(?P<run>[^"]+)"'
BUCKET = r'"(?P<bucket>[^"]+)"'
WHAT = r"(?P<what>artifacts|executions)"
TEXT = r'"(?P<text>[^"]*)"'

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


# -- ML Metadata --------------------------------------------------------------------------------

def _records(world: World, actor: str, run: str, what: str) -> metadata.Answer:
    run_id = world.named("run", run).id
    answer = metadata.run_records(world, actor, run_id, what)
    world.notes[f"mlmd {actor} {what} {run}"] = answer
    return answer


@when(parsers.re(f"(?P<who>alice|bob) asks ML Metadata for the {WHAT} of "
                 f"(?:her|alice's) run {RUN}"))
def asks_mlmd(world: World, who: str, what: str, run: str) -> None:
    _records(world, who, run, what)


@then(parsers.re(f"ML Metadata returns the {WHAT} of alice's run {RUN} to (?P<who>alice|bob)"))
def mlmd_returns(world: World, what: str, run: str, who: str) -> None:
    """alice's own answer is the positive control: empty, or failing for any reason but a
    refusal, it says nothing (a harness error).  A refusal, of alice or of bob, is a deployment
    that keeps tenants out of ML Metadata: the limitation is lifted."""
    answer = world.notes[f"mlmd {who} {what} {run}"]
    if not answer.ok and not answer.denied:
        raise HarnessError(f"{who}'s ML Metadata request failed for another reason: "
                           f"{answer.describe()}")
    assert answer.ok, f"ML Metadata refused {who}: {answer.describe()}"
    if who == "alice":
        if not answer.items:
            raise HarnessError(f"ML Metadata holds no {what} of alice's run {run!r}")
        return
    owners = world.notes[f"mlmd alice {what} {run}"]
    assert metadata.ids(answer) == metadata.ids(owners), \
        f"bob got other {what} than alice: {answer.items} vs {owners.items}"


# -- the object store ---------------------------------------------------------------------------

def _store(world: World, tenant: str) -> dataplane.ObjectStore:
    namespace = world.cast.namespace(tenant)
    return dataplane.ObjectStore(world.connection.target.object_store,
                                 dataplane.namespace_credentials(world.connection, namespace))


def _refused(answer: dataplane.StoreAnswer, what: str) -> None:
    """A refusal lifts the limitation only if it is the store's AccessDenied: any other error
    says nothing about sharing (a harness error, never "lifted")."""
    if answer.ok:
        return
    if answer.code != "AccessDenied":
        raise HarnessError(f"{what} failed for another reason: {answer.describe()}")
    raise AssertionError(f"the object store refused {what}: {answer.describe()}")


def _artifact(world: World, run: str) -> tuple[str, str, bytes]:
    found = world.notes.get(f"artifact {run}")
    if not isinstance(found, tuple):
        raise HarnessError(f"no step found the output artifact of run {run!r} first")
    bucket, key, content = found
    return str(bucket), str(key), bytes(content)


@given(parsers.re(f"alice reads the output artifact of her run {RUN} with her namespace's "
                  "credentials"))
def owner_reads_artifact(world: World, run: str) -> None:
    """The positive control: alice finds her run's output under the run's prefix with her own
    namespace's credentials, and reads it."""
    named = world.named("run", run)
    namespace = world.cast.namespace(named.tenant)
    bucket, prefix = dataplane.run_prefix(world.connection, namespace,
                                          PRODUCER_PIPELINE_NAME, named.id)
    store = _store(world, "alice")
    listing = store.list_keys(bucket, prefix)
    suffix = f"/{PRODUCER_TASK}/"
    keys = [k for k in listing.value or [] if suffix in k and k.endswith(f"/{PRODUCER_OUTPUT}")]
    if not listing.ok or not keys:
        raise HarnessError(f"alice finds no output artifact of her run {run!r} under "
                           f"{bucket}/{prefix}: {listing.describe()} {listing.value}")
    content = store.read(bucket, keys[0])
    if not content.ok:
        raise HarnessError(f"alice cannot read {bucket}/{keys[0]}: {content.describe()}")
    world.notes[f"artifact {run}"] = (bucket, keys[0], content.value)
    world.notes[f"prefix {run}"] = prefix


@when(parsers.re(f"bob lists the objects under the prefix of alice's run {RUN} in the {BUCKET} "
                 "bucket"))
def lists_objects(world: World, run: str, bucket: str) -> None:
    world.notes["bob's listing"] = _store(world, "bob").list_keys(bucket,
                                                                world.notes[f"prefix {run}"])


@then(parsers.re(f"the listing shows the output artifact of alice's run {RUN}"))
def listing_shows_artifact(world: World, run: str) -> None:
    answer = world.notes["bob's listing"]
    _, key, _ = _artifact(world, run)
    _refused(answer, "bob's listing")
    assert key in answer.value, f"bob's listing lacks {key}: {answer.value}"


@when(parsers.re(f"bob reads the output artifact of alice's run {RUN} from the {BUCKET} bucket"))
def reads_object(world: World, run: str, bucket: str) -> None:
    _, key, _ = _artifact(world, run)
    world.notes["bob's read"] = _store(world, "bob").read(bucket, key)


@then(parsers.re(f"bob receives the content of the output artifact of alice's run {RUN}"))
def receives_artifact(world: World, run: str) -> None:
    answer = world.notes["bob's read"]
    _, _, content = _artifact(world, run)
    _refused(answer, "bob's read")
    assert answer.value == content, "bob read other bytes than alice's artifact"


@when(parsers.re(f"bob writes {TEXT} over the output artifact of alice's run {RUN}"))
def writes_object(world: World, text: str, run: str) -> None:
    bucket, key, _ = _artifact(world, run)
    world.notes["bob's write"] = _store(world, "bob").write(bucket, key, text.encode())


@then(parsers.re(f"alice reads {TEXT} from the output artifact of her run {RUN}"))
def owner_reads_text(world: World, text: str, run: str) -> None:
    bucket, key, _ = _artifact(world, run)
    answer = _store(world, "alice").read(bucket, key)
    if not answer.ok:
        raise HarnessError(f"alice cannot read her artifact any more: {answer.describe()}")
    written = world.notes["bob's write"]
    _refused(written, "bob's write")
    assert answer.value == text.encode(), \
        f"alice's artifact is not bob's text (bob's write: {written.describe()})"


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

"""SDK steps: the kfp 2 client, unmodified, as the cast's actors use it (spec section 9).

Each actor gets one ``kfp.Client`` per scenario, built for the mode's door with the credentials
the actor has there: a person's gateway session cookie (``cookies=``) outside, the identity
header an in-cluster component sends (context.json ``client_authentication_header_*``) inside;
a service account's TokenRequest token (``existing_token=``) anywhere.  The SDK keeps its
settings in ``$HOME/.config/kfp/context.json``: every SDK call runs with HOME pointed at a
folder of the scenario's own (and the SDK's class-level context path with it), so the real
home is never read or written.  ``kfp`` is imported lazily: without it the steps skip.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import parsers, then, when

from conformance.outcomes import HarnessError
from conformance.pipeline_spec import MINIMAL_PIPELINE_TEXT
from conformance.targets import USERID_HEADER, Nobody, Person, ServiceAccount
from conformance.world import World
from steps import oracles
from steps.generic import ACTOR, NAME, NAMES, TENANT, names_in

SKIP_REASON = "the kfp SDK is not installed where the suite runs"
CONTEXT = Path(".config") / "kfp" / "context.json"
# Env vars the SDK reads that would change what a step asks for (spec section 9).
SDK_ENV = ("KF_PIPELINES_ENDPOINT", "KF_PIPELINES_UI_ENDPOINT", "KF_PIPELINES_SA_TOKEN_PATH",
           "KF_PIPELINES_DEFAULT_EXPERIMENT_NAME", "KF_PIPELINES_OVERRIDE_EXPERIMENT_NAME",
           "KF_PIPELINES_IAP_OAUTH2_CLIENT_ID", "KF_PIPELINES_APP_OAUTH2_CLIENT_ID",
           "KF_PIPELINES_APP_OAUTH2_CLIENT_SECRET")
PACKAGE = "pipeline.yaml"
CLIENTS_NOTE = "sdk clients"


def _kfp() -> Any:
    try:
        import kfp
    except ImportError:
        pytest.skip(SKIP_REASON)
    return kfp


@dataclass
class SdkCall:
    """What the last SDK call returned, or the ApiException it raised."""

    actor: str
    value: Any = None
    error: Any = None  # kfp_server_api.exceptions.ApiException


@dataclass
class SdkActor:
    client: Any  # kfp.Client
    home: Path


@contextmanager
def at_home(home: Path) -> Iterator[None]:
    """HOME (and the SDK's context path, fixed when kfp was imported) in the scenario's folder,
    and none of the SDK's env defaults, for the duration of one SDK call."""
    from kfp.client.client import Client
    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        patch.setenv("HOME", str(home))
        for name in SDK_ENV:
            patch.delenv(name, raising=False)
        patch.setattr(Client, "_LOCAL_KFP_CONTEXT", str(home / CONTEXT))
        # Not a pod: the SDK must not adopt the namespace of the pod the suite runs in.
        patch.setattr(Client, "_NAMESPACE_PATH", str(home / "no-pod-namespace"))
        yield


def sdk_actor(world: World, tmp_path: Path, actor: str) -> SdkActor:
    """The actor's client for this scenario (built once: building one is slow)."""
    clients: dict[str, SdkActor] = world.notes.setdefault(CLIENTS_NOTE, {})
    if actor in clients:
        return clients[actor]
    kfp = _kfp()
    home = tmp_path / f"home-{actor.replace(' ', '-').replace(chr(39), '')}"
    home.mkdir(parents=True, exist_ok=True)
    door = world.mode_door
    target = world.connection.target
    host = target.kfp_gateway if door == "gateway" else target.kfp_direct
    caller = world.cast.caller(actor)
    kwargs: dict[str, Any] = {}
    if isinstance(caller, ServiceAccount):
        kwargs["existing_token"] = world.connection.token(caller)
    elif isinstance(caller, Person) and door == "gateway":
        kwargs["cookies"] = world.connection.login(caller.email)
    elif isinstance(caller, Person):
        # What an in-cluster component sends for a person (spec section 2.2), the SDK's way.
        (home / CONTEXT).parent.mkdir(parents=True, exist_ok=True)
        (home / CONTEXT).write_text(json.dumps({
            "namespace": "", "client_authentication_header_name": USERID_HEADER,
            "client_authentication_header_value": caller.email}))
    elif not isinstance(caller, Nobody):
        raise HarnessError(f"no SDK credentials for {actor}")
    with at_home(home):
        client = kfp.Client(host=host, **kwargs)
    clients[actor] = SdkActor(client, home)
    return clients[actor]


def call(world: World, tmp_path: Path, actor: str,
         action: Callable[[Any], Any]) -> SdkCall:
    """Run one SDK call as ``actor``; an ApiException is the call's answer, kept for Then."""
    made = sdk_actor(world, tmp_path, actor)  # skips first when kfp is not installed
    from kfp_server_api.exceptions import ApiException
    outcome = SdkCall(actor)
    with at_home(made.home):
        try:
            outcome.value = action(made.client)
        except ApiException as exc:
            outcome.error = exc
    world.notes["sdk call"] = outcome
    return outcome


def last_call(world: World) -> SdkCall:
    outcome = world.notes.get("sdk call")
    if not isinstance(outcome, SdkCall):
        raise HarnessError("no SDK call was made before this step")
    return outcome


def _tenant_of(world: World, namespace: str) -> str:
    for tenant in ("alice", "bob"):
        if world.cast.namespace(tenant) == namespace:
            return tenant
    raise HarnessError(f"the SDK made an object in {namespace!r}, no tenant of the cast")


def _package(tmp_path: Path) -> str:
    """A pipeline package file as the compiler writes one (JSON is YAML too)."""
    path = tmp_path / PACKAGE
    if not path.exists():
        path.write_text(MINIMAL_PIPELINE_TEXT)
    return str(path)


def _remember_experiment(world: World, name: str, experiment: Any) -> None:
    world.remember("experiment", name, str(experiment.experiment_id),
                   _tenant_of(world, str(experiment.namespace)), given=False)


# -- experiments --------------------------------------------------------------------------------


@when(parsers.re(ACTOR + f" creates an experiment {NAME}(?: in {TENANT})? with the SDK"))
def sdk_creates_experiment(world: World, tmp_path: Path, actor: str, name: str,
                           tenant: str | None) -> None:
    namespace = world.cast.namespace(tenant) if tenant else None
    outcome = call(world, tmp_path, actor,
                   lambda client: client.create_experiment(name, namespace=namespace))
    if outcome.error is None:
        _remember_experiment(world, name, outcome.value)


@when(parsers.re(ACTOR + f" lists experiments(?: in {TENANT})? with the SDK"))
def sdk_lists_experiments(world: World, tmp_path: Path, actor: str,
                          tenant: str | None) -> None:
    namespace = world.cast.namespace(tenant) if tenant else None
    call(world, tmp_path, actor,
         lambda client: client.list_experiments(page_size=100, namespace=namespace))


@when(parsers.re(ACTOR + f" sets the SDK's user namespace to {TENANT}"))
def sdk_sets_namespace(world: World, tmp_path: Path, actor: str, tenant: str) -> None:
    namespace = world.cast.namespace(tenant)
    call(world, tmp_path, actor, lambda client: client.set_user_namespace(namespace))


@then(parsers.re(ACTOR + f"'s SDK context names {TENANT}"))
def sdk_context_names(world: World, tmp_path: Path, actor: str, tenant: str) -> None:
    made = sdk_actor(world, tmp_path, actor)
    namespace = world.cast.namespace(tenant)
    path = made.home / CONTEXT
    assert path.is_file(), f"the SDK wrote no {path}"
    written = json.loads(path.read_text())
    assert written.get("namespace") == namespace, f"{path} holds {written}"
    with at_home(made.home):
        assert made.client.get_user_namespace() == namespace


# -- runs ---------------------------------------------------------------------------------------


@when(parsers.re(ACTOR + r' runs the pipeline package as "(?P<run>[^"]+)" in the experiment '
                 f"{NAME} with the SDK"))
def sdk_runs_in_experiment(world: World, tmp_path: Path, actor: str, run: str,
                           name: str) -> None:
    experiment = world.named("experiment", name)
    package = _package(tmp_path)
    outcome = call(world, tmp_path, actor, lambda client: client.run_pipeline(
        experiment.id, run, pipeline_package_path=package))
    if outcome.error is None:
        world.remember("run", run, str(outcome.value.run_id), experiment.tenant, given=False)


@when(parsers.re(ACTOR + r' runs the pipeline package as "(?P<run>[^"]+)" in a new experiment '
                 f"{NAME} in {TENANT} with the SDK"))
def sdk_runs_in_new_experiment(world: World, tmp_path: Path, actor: str, run: str, name: str,
                               tenant: str) -> None:
    namespace, package = world.cast.namespace(tenant), _package(tmp_path)
    outcome = call(world, tmp_path, actor, lambda client: client.create_run_from_pipeline_package(
        package, run_name=run, experiment_name=name, namespace=namespace))
    if outcome.error is None:
        info = outcome.value.run_info
        experiment = oracles.succeeded(world.session(world.cast.owner(tenant)).get(
            f"/apis/v2beta1/experiments/{info.experiment_id}"))
        world.remember("experiment", name, str(info.experiment_id),
                       _tenant_of(world, str(experiment.get("namespace"))), given=False)
        world.remember("run", run, str(info.run_id), tenant, given=False)


@when(parsers.re(ACTOR + f" lists runs of the experiment {NAME} with the SDK"))
def sdk_lists_runs_of_experiment(world: World, tmp_path: Path, actor: str, name: str) -> None:
    experiment_id = world.named("experiment", name).id
    call(world, tmp_path, actor,
         lambda client: client.list_runs(experiment_id=experiment_id, page_size=100))


@when(parsers.re(ACTOR + f" lists runs in {TENANT} with the SDK"))
def sdk_lists_runs_in(world: World, tmp_path: Path, actor: str, tenant: str) -> None:
    namespace = world.cast.namespace(tenant)
    call(world, tmp_path, actor,
         lambda client: client.list_runs(namespace=namespace, page_size=100))


@then(parsers.re(r'the run "(?P<run>[^"]+)" started with the SDK belongs to '
                 f"{TENANT}"))
def sdk_run_in_tenant(world: World, run: str, tenant: str) -> None:
    """The v1beta1 view names a run's namespace (v2beta1 runs carry none): as the tenant's
    owner sees it, the NAMESPACE reference is the tenant's."""
    named = world.named("run", run)
    owner = world.cast.owner(tenant)
    response = world.session(owner).get(f"/apis/v1beta1/runs/{named.id}")
    world.record(owner, world.mode_door, response)
    detail = oracles.succeeded(response)
    references = (detail.get("run") or {}).get("resource_references") or []
    namespaces = [(r.get("key") or {}).get("id") for r in references
                  if (r.get("key") or {}).get("type") == "NAMESPACE"]
    assert namespaces == [world.cast.namespace(tenant)], \
        f"run {run!r} is in {namespaces}, expected {world.cast.namespace(tenant)}: {detail}"


# -- outcomes -----------------------------------------------------------------------------------


def _error_text(error: Any) -> str:
    raw = error.body
    return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)


@then("the SDK call succeeds")
def sdk_call_succeeds(world: World) -> None:
    outcome = last_call(world)
    assert outcome.error is None, \
        f"expected success, the SDK raised {outcome.error.status}: {_error_text(outcome.error)}"


@then("the SDK call is denied")
def sdk_call_denied(world: World) -> None:
    """An ApiException carrying exactly the server's PermissionDenied naming the caller."""
    outcome = last_call(world)
    assert outcome.error is not None, f"expected a 403 ApiException, got {outcome.value}"
    try:
        data = json.loads(_error_text(outcome.error))
    except ValueError:
        raise AssertionError(f"expected a JSON error body, got {outcome.error.status}: "
                             f"{_error_text(outcome.error)[:300]!r}") from None
    identity = world.cast.identity(outcome.actor)
    assert outcome.error.status == 403, f"expected 403, got {outcome.error.status}: {data}"
    assert isinstance(data, dict) and data.get("code") == oracles.PERMISSION_DENIED, data
    details = data.get("details") or [{}]
    message = str(details[0].get("message", ""))
    assert f"User '{identity}' is not authorized" in message, \
        f"expected a PermissionDenied detail naming {identity!r}, got {message!r}"


@then(parsers.re(f"the SDK listed exactly {NAMES}"))
def sdk_listed_exactly(world: World, names: str) -> None:
    outcome = last_call(world)
    assert outcome.error is None, \
        f"expected a list, the SDK raised {outcome.error.status}: {_error_text(outcome.error)}"
    items = (getattr(outcome.value, "experiments", None) or
             getattr(outcome.value, "runs", None) or [])
    found = sorted(str(item.display_name) for item in items)
    expected = sorted(names_in(names))
    assert found == expected, f"expected exactly {expected}, the SDK listed {found}"
    total = int(getattr(outcome.value, "total_size", 0) or 0)
    assert total == len(expected), f"total_size {total} for {found}"


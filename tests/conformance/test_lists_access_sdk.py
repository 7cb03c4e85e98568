"""The lists, access-changes and sdk features: green against the emulator in both full modes,
not supported on a standalone one, and failing against emulators with the faults they are
about (a filter that widens the scope, shared reads, an authorizer that caches its decisions,
an unguarded run listing); their Then steps refuse wrong answers."""

from __future__ import annotations

import functools
import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import requests

from conformance.cast import Cast
from conformance.world import World
from emulator.config import EmulatorConfig
from emulator.errors import KfpError
from emulator.kfp.access import AccessControl, Credentials
from emulator.kfp.experiments import ExperimentService
from emulator.kube.rbac import ResourceAttributes
from steps import access, lists, sdk
from tests.support.feature_runs import failed, outcomes

OURS = ("lists.feature", "access_changes.feature", "sdk.feature")


@pytest.mark.parametrize("mode", ["full-inside", "full-outside"])
def test_the_three_features_pass_against_the_emulator(pytester: pytest.Pytester,
                                                      mode: str) -> None:
    pytest.importorskip("kfp")
    found = outcomes(pytester, OURS, "--kfp-mode", mode)
    assert len(found) >= 30
    assert Counter(found.values()) == {"pass": len(found)}, \
        {node: outcome for node, outcome in found.items() if outcome != "pass"}


def test_a_standalone_target_supports_none_of_them(pytester: pytest.Pytester) -> None:
    found = outcomes(pytester, OURS, "--kfp-mode", "standalone-inside")
    assert found and set(found.values()) == {"not supported"}, found


# -- lists ---------------------------------------------------------------------------------------


def test_a_filter_that_widens_the_scope_fails_the_lists(pytester: pytest.Pytester,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that applies the user's filter to every namespace's rows instead of AND-ing it
    with the scope (spec 4.9)."""
    original = ExperimentService.list

    def leaky(self: ExperimentService, *args: Any, filter_text: str = "",
              **kwargs: Any) -> Any:
        if not filter_text:
            return original(self, *args, **kwargs)
        store = self.state.experiments
        with mock.patch.object(store, "in_namespace", lambda namespace: list(store)):
            return original(self, *args, filter_text=filter_text, **kwargs)

    monkeypatch.setattr(ExperimentService, "list", leaky)
    found = outcomes(pytester, ("lists.feature",), "--kfp-mode", "full-inside")
    broken = failed(found)
    assert any("cannot_reach_bobs" in node and "display_name-EQUALS" in node
               for node in broken), broken
    assert any("cannot_reach_bobs" in node and "v1beta1-namespace-EQUALS" in node
               for node in broken), broken
    assert any("matches_both_tenants" in node for node in broken), broken
    assert all("filter" in node for node in broken), broken  # the unfiltered ones still pass
    assert set(found.values()) == {"pass", "fail"}


def test_shared_reads_fail_the_page_token_scenarios(pytester: pytest.Pytester,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """MULTIUSER_SHARED_READ lets anyone list any namespace: bob reading alice's next page."""
    import emulator.core
    monkeypatch.setattr(emulator.core, "EmulatorConfig",
                        functools.partial(EmulatorConfig, shared_read=True))
    found = outcomes(pytester, ("lists.feature",), "--kfp-mode", "full-inside")
    broken = failed(found)
    assert broken and all("page_token_is_useless" in node for node in broken), broken
    assert len(broken) == 2, broken  # v2beta1 and v1beta1


def test_an_unguarded_experiment_listing_fails_the_lists(pytester: pytest.Pytester) -> None:
    found = outcomes(pytester, ("lists.feature",), "--kfp-mode", "full-outside",
                     "--kfp-unguard", "GET /apis/v2beta1/experiments")
    broken = failed(found)
    assert any("page_token_is_useless_to_bob_api[v2beta1" in node for node in broken), broken
    assert not [node for node in broken if "v1beta1" in node], broken


# -- access changes -----------------------------------------------------------------------------


@pytest.fixture
def cached_decisions(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A KFP server that remembers each authorization answer (credentials, attributes) instead
    of asking Kubernetes again: access changes never reach it."""
    original = AccessControl.authorize
    seen: dict[tuple[Credentials, ResourceAttributes], KfpError | None] = {}

    def caching(self: AccessControl, credentials: Credentials,
                attrs: ResourceAttributes) -> None:
        key = (credentials, attrs)
        if key not in seen:
            try:
                original(self, credentials, attrs)
                seen[key] = None
            except KfpError as error:
                seen[key] = error
        if seen[key] is not None:
            raise seen[key]  # type: ignore[misc]

    monkeypatch.setattr(AccessControl, "authorize", caching)
    yield


@pytest.mark.usefixtures("cached_decisions")
@pytest.mark.parametrize("mode", ["full-inside", "full-outside"])
def test_an_authorizer_that_caches_decisions_fails_the_access_changes(
        pytester: pytest.Pytester, mode: str) -> None:
    found = outcomes(pytester, ("access_changes.feature",), "--kfp-mode", mode)
    broken = failed(found)
    # Outside, the gateway itself refuses an expired token before the API server is asked.
    expired = ("expired_token",) if mode == "full-inside" else ()
    for scenario in ("contributor_removed", "added_as_a_contributor", "deleted_service_account",
                     *expired):
        assert any(scenario in node for node in broken), (scenario, found)
    # A token for another audience is a new credential: no cached answer to reuse.
    assert not [node for node in broken if "another_audience" in node], broken


# -- sdk ----------------------------------------------------------------------------------------


def test_an_unguarded_run_listing_fails_the_sdk_feature(pytester: pytest.Pytester) -> None:
    pytest.importorskip("kfp")
    found = outcomes(pytester, ("sdk.feature",), "--kfp-mode", "full-inside",
                     "--kfp-unguard", "GET /apis/v2beta1/runs")
    broken = failed(found)
    assert broken == [node for node in found
                      if "neither_start_nor_list_runs" in node], found


# -- the Then steps refuse wrong answers ---------------------------------------------------------


def answer(status: int, body: Any, content_type: str = "application/json",
           headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = (body if isinstance(body, str) else json.dumps(body)).encode()
    response.headers.update({"content-type": content_type, **(headers or {})})
    return response


def a_world(response: requests.Response | None = None, door: str = "direct") -> World:
    world = World(connection=None, cast=Cast())  # type: ignore[arg-type]
    world.response, world.door, world.actor = response, door, "bob"
    return world


UNAUTHENTICATED = {"code": 16, "message": "...: Unauthenticated: Review.Status.Authenticated is "
                   "false. Error [invalid bearer token]",
                   "details": [{"code": 16, "message": access.oracles.EMPTY_IDENTITY}]}


def test_the_token_review_oracle() -> None:
    access.refused_by_review(a_world(answer(401, UNAUTHENTICATED)))
    no_token = {**UNAUTHENTICATED, "message": "Unauthenticated: Request header error"}
    with pytest.raises(AssertionError, match="token review"):
        access.refused_by_review(a_world(answer(401, no_token)))
    with pytest.raises(AssertionError, match="401"):
        access.refused_by_review(a_world(answer(200, {})))


def test_the_expired_token_oracle_decides_by_door() -> None:
    challenge = {"www-authenticate": 'Bearer realm="http://gw/x", error="invalid_token"'}
    access.expired_refused(a_world(answer(401, "Jwt is expired", "text/plain", challenge),
                                   door="gateway"))
    with pytest.raises(AssertionError):
        access.expired_refused(a_world(answer(401, "{}", headers=challenge), door="gateway"))
    with pytest.raises(AssertionError):  # the gateway's answer is no API server answer
        access.expired_refused(a_world(answer(401, "Jwt is expired", "text/plain", challenge)))
    access.expired_refused(a_world(answer(401, UNAUTHENTICATED)))


def test_the_list_oracles() -> None:
    world = a_world(answer(200, {"experiments": [
        {"experiment_id": "1", "display_name": "plans", "namespace": "alice"}]}))
    lists.nothing_of(world, "bob")
    with pytest.raises(AssertionError, match="alice's experiments"):
        lists.nothing_of(world, "alice")
    v1 = a_world(answer(200, {"experiments": [{"id": "1", "name": "plans", "resource_references": [
        {"key": {"type": "NAMESPACE", "id": "alice"}, "relationship": "OWNER"}]}]}))
    lists.listed_exactly(v1, '"plans"')
    with pytest.raises(AssertionError, match="alice's experiments"):
        lists.nothing_of(v1, "alice")
    with pytest.raises(AssertionError):
        lists.listed_none(v1)
    with pytest.raises(AssertionError, match="next_page_token"):
        lists.has_next_page(v1)


class FakeApiException(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status, self.body = status, json.dumps(body).encode()


def test_the_sdk_oracles() -> None:
    world = a_world()
    denied = {"code": 7, "details": [{"message": "User 'bob@example.com' is not authorized with "
                                                 "reason:  (request: ...)"}]}
    world.notes["sdk call"] = sdk.SdkCall("bob", error=FakeApiException(403, denied))
    sdk.sdk_call_denied(world)
    with pytest.raises(AssertionError, match="expected success"):
        sdk.sdk_call_succeeds(world)
    world.notes["sdk call"] = sdk.SdkCall("alice", error=FakeApiException(403, denied))
    with pytest.raises(AssertionError, match=re.escape("naming 'alice@example.com'")):
        sdk.sdk_call_denied(world)
    world.notes["sdk call"] = sdk.SdkCall("bob", error=FakeApiException(404, {"code": 5}))
    with pytest.raises(AssertionError, match="expected 403"):
        sdk.sdk_call_denied(world)
    listed = mock.Mock(experiments=[mock.Mock(display_name="plans")], total_size=2)
    world.notes["sdk call"] = sdk.SdkCall("bob", value=listed)
    with pytest.raises(AssertionError, match="a 403 ApiException"):
        sdk.sdk_call_denied(world)
    with pytest.raises(AssertionError, match="total_size 2"):
        sdk.sdk_listed_exactly(world, '"plans"')
    with pytest.raises(AssertionError, match="exactly"):
        sdk.sdk_listed_exactly(world, "nothing")


def test_the_sdk_steps_skip_without_kfp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "kfp", None)  # what an absent package looks like
    with pytest.raises(pytest.skip.Exception, match="the kfp SDK is not installed"):
        sdk.sdk_actor(a_world(), Path("/nonexistent"), "alice")

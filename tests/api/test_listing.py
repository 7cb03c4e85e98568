"""List semantics of the KFP API server (spec section 6) through plain HTTP.

Page size defaults and clamping, opaque page tokens bound to sort and filter, ``sort_by``
formats, filters (v1 ``op`` / v2 ``operation``, enum names and numbers, camelCase and snake_case
value keys, every operator), ``total_size``, the empty page ``{}``, and the namespace scope that a
filter can never widen. Expected orders are computed here from what the test created, never read
back from the emulator.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from emulator.testing import (
    OWNER_NAMESPACE,
    STRANGER_NAMESPACE,
    KfpTestEnv,
    assert_denied,
    assert_error,
)
from tests.support.swagger import assert_response

NS = OWNER_NAMESPACE
BOB = STRANGER_NAMESPACE
V1 = "/apis/v1beta1"
V2 = "/apis/v2beta1"
TOKEN_MISMATCH = ("page token does not match the supplied sort by and/or filtering criteria. "
                  "Either specify the same criteria or leave the latter empty if page token is "
                  "specified")
SPEC = {"pipelineInfo": {"name": "p"}, "root": {"dag": {"tasks": {}}}, "schemaVersion": "2.1.0",
        "sdkVersion": "kfp-2.17.3"}


# -- helpers -----------------------------------------------------------------------------------


def create_experiments(env: KfpTestEnv, session: requests.Session, names: list[str],
                       namespace: str = NS, step: float = 1) -> list[dict[str, Any]]:
    """Create experiments in order, ``step`` seconds apart (0: same second)."""
    created = []
    for name in names:
        response = session.post(f"{V2}/experiments",
                                json={"display_name": name, "namespace": namespace,
                                      "description": f"about {name}"})
        assert response.status_code == 200, response.text
        created.append(response.json())
        if step:
            env.advance(step)
    return created


def filter_of(*predicates: dict[str, Any]) -> str:
    return json.dumps({"predicates": list(predicates)})


def get_ok(session: requests.Session, path: str, params: dict[str, Any]) -> dict[str, Any]:
    response = session.get(path, params=params)
    assert response.status_code == 200, f"{path} {params}: {response.text}"
    body = response.json()
    assert_response("v1beta1" if path.startswith(V1) else "v2beta1", "GET", path, 200, body)
    return body


def walk(session: requests.Session, path: str, key: str, params: dict[str, Any],
         page_size: int, repeat_criteria: bool = True) -> tuple[list[dict[str, Any]], int]:
    """Follow next_page_token to the end; returns the items and the number of pages."""
    items: list[dict[str, Any]] = []
    token = ""
    pages = 0
    totals = set()
    while True:
        query = {k: v for k, v in params.items()
                 if repeat_criteria or not token or k not in ("sort_by", "filter")}
        query["page_size"] = page_size
        if token:
            query["page_token"] = token
        body = get_ok(session, path, query)
        pages += 1
        page = body.get(key, [])
        assert len(page) <= page_size
        items.extend(page)
        totals.add(body.get("total_size", 0))
        token = body.get("next_page_token", "")
        if not token:
            break
        assert len(page) == min(page_size, 200), "a page before the last one is short"
        assert pages < 100, "pagination does not terminate"
    assert len(totals) == 1 and totals.pop() == len(items), "total_size differs from the walk"
    return items, pages


def ids(items: list[dict[str, Any]], key: str = "experiment_id") -> list[str]:
    return [item[key] for item in items]


def by_created(items: list[dict[str, Any]], key: str = "experiment_id",
               reverse: bool = False) -> list[str]:
    ordered = sorted(items, key=lambda e: (e["created_at"], e[key]), reverse=reverse)
    return [e[key] for e in ordered]


def detail(response: requests.Response) -> str:
    return str(response.json()["details"][0]["message"])


def normalized(text: str) -> str:
    """protojson randomly uses U+00A0 instead of a space after "proto:"; compare loosely."""
    return " ".join(text.split())


@pytest.fixture
def owner(kfp_env: KfpTestEnv) -> Iterator[requests.Session]:
    with kfp_env.as_owner() as session:
        yield session


@pytest.fixture
def stranger(kfp_env: KfpTestEnv) -> Iterator[requests.Session]:
    with kfp_env.as_stranger() as session:
        yield session


# -- page size ---------------------------------------------------------------------------------


def test_default_page_size_is_20(kfp_env: KfpTestEnv, owner: requests.Session) -> None:
    created = create_experiments(kfp_env, owner, [f"e{i:02d}" for i in range(25)], step=0)
    for size in (None, 0, ""):
        params: dict[str, Any] = {"namespace": NS}
        if size is not None:
            params["page_size"] = size
        body = get_ok(owner, f"{V2}/experiments", params)
        assert len(body["experiments"]) == 20 and body["total_size"] == 25
        assert body["next_page_token"]
        rest = get_ok(owner, f"{V2}/experiments",
                      {"namespace": NS, "page_token": body["next_page_token"]})
        assert len(rest["experiments"]) == 5 and "next_page_token" not in rest
        assert ids(body["experiments"]) + ids(rest["experiments"]) == by_created(created)
    v1 = get_ok(owner, f"{V1}/experiments", {"resource_reference_key.type": "NAMESPACE",
                                             "resource_reference_key.id": NS})
    assert len(v1["experiments"]) == 20 and v1["total_size"] == 25


def test_page_size_is_capped_at_200(kfp_env: KfpTestEnv, owner: requests.Session) -> None:
    create_experiments(kfp_env, owner, [f"bulk-{i:03d}" for i in range(203)], step=0)
    first = get_ok(owner, f"{V2}/experiments", {"namespace": NS, "page_size": 5000})
    assert len(first["experiments"]) == 200 and first["total_size"] == 203
    second = get_ok(owner, f"{V2}/experiments", {"namespace": NS, "page_size": 201,
                                                 "page_token": first["next_page_token"]})
    assert len(second["experiments"]) == 3 and "next_page_token" not in second
    walked, pages = walk(owner, f"{V2}/experiments", "experiments", {"namespace": NS}, 2**31 - 1)
    assert (len(walked), pages) == (203, 2)


@pytest.mark.parametrize(("path", "params"), [
    (f"{V2}/experiments", {"namespace": NS}),
    (f"{V2}/runs", {"namespace": NS}),
    (f"{V2}/recurringruns", {"namespace": NS}),
    (f"{V2}/pipelines", {"namespace": NS}),
    (f"{V1}/experiments", {"resource_reference_key.type": "NAMESPACE",
                           "resource_reference_key.id": NS}),
    (f"{V1}/runs", {"resource_reference_key.type": "NAMESPACE", "resource_reference_key.id": NS}),
    (f"{V1}/jobs", {"resource_reference_key.type": "NAMESPACE", "resource_reference_key.id": NS}),
    (f"{V1}/pipelines", {}),
])
def test_negative_page_size_is_rejected(owner: requests.Session, path: str,
                                        params: dict[str, Any]) -> None:
    response = owner.get(path, params={**params, "page_size": -3})
    assert_error(response, 400, 3, "The page size should be greater than 0. Got -3")
    assert_response("v2beta1", "GET", f"{V2}/experiments", 400, response.json())
    response = owner.get(path, params={**params, "page_size": "ten"})
    body = assert_error(response, 400, 3)
    assert "page_size" in body["message"] and "invalid syntax" in body["message"], body


# -- page tokens -------------------------------------------------------------------------------


def test_page_tokens_walk_every_row_once(kfp_env: KfpTestEnv, owner: requests.Session) -> None:
    names = [f"walk-{i:02d}" for i in range(23)]
    # Runs of three experiments per second, so created_at ties are broken by the id.
    created: list[dict[str, Any]] = []
    for start in range(0, len(names), 3):
        created += create_experiments(kfp_env, owner, names[start:start + 3], step=0)
        kfp_env.advance(1)
    assert len({e["created_at"] for e in created}) == 8

    path, key = f"{V2}/experiments", "experiments"
    for size in (1, 4, 7, 22, 23, 24):
        for repeat in (True, False):
            walked, pages = walk(owner, path, key, {"namespace": NS}, size, repeat)
            assert ids(walked) == by_created(created)
            assert pages == -(-23 // size)

    walked, _ = walk(owner, path, key, {"namespace": NS, "sort_by": "created_at desc"}, 5)
    assert ids(walked) == by_created(created, reverse=True)
    walked, _ = walk(owner, path, key, {"namespace": NS, "sort_by": "name desc"}, 6, False)
    assert [e["display_name"] for e in walked] == sorted(names, reverse=True)

    wanted = {e["display_name"] for e in created if e["display_name"] > "walk-10"}
    params = {"namespace": NS, "sort_by": "name",
              "filter": filter_of({"key": "name", "operation": "GREATER_THAN",
                                   "string_value": "walk-10"})}
    for repeat in (True, False):
        walked, pages = walk(owner, path, key, params, 4, repeat)
        assert [e["display_name"] for e in walked] == sorted(wanted)
        assert pages == -(-len(wanted) // 4)


def test_page_token_is_bound_to_sort_and_filter(kfp_env: KfpTestEnv,
                                                owner: requests.Session) -> None:
    create_experiments(kfp_env, owner, [f"t{i}" for i in range(6)])
    path = f"{V2}/experiments"
    by_name = get_ok(owner, path, {"namespace": NS, "page_size": 2, "sort_by": "name"})
    token = by_name["next_page_token"]
    # The same criteria (sort_by is case-insensitive and whitespace-split) are accepted.
    for sort_by in ("name", "NAME", " name  asc ", "Name ASC"):
        body = get_ok(owner, path, {"namespace": NS, "page_token": token, "sort_by": sort_by})
        assert [e["display_name"] for e in body["experiments"]] == ["t2", "t3", "t4", "t5"]
    for changed in ({"sort_by": "name desc"}, {"sort_by": "created_at"},
                    {"filter": filter_of({"key": "name", "operation": "EQUALS",
                                          "string_value": "t3"})}):
        response = owner.get(path, params={"namespace": NS, "page_token": token, **changed})
        assert_error(response, 400, 3, TOKEN_MISMATCH)

    name_filter = filter_of({"key": "name", "operation": "NOT_EQUALS", "string_value": "t0"})
    filtered = get_ok(owner, path, {"namespace": NS, "page_size": 2, "filter": name_filter})
    token = filtered["next_page_token"]
    assert filtered["total_size"] == 5
    # The same filter, spelled with camelCase keys and the operation's number, still matches.
    same = filter_of({"key": "name", "operation": 2, "stringValue": "t0"})
    body = get_ok(owner, path, {"namespace": NS, "page_token": token, "filter": same})
    assert [e["display_name"] for e in body["experiments"]] == ["t3", "t4", "t5"]
    # Sending only a sort_by compares the whole criteria: the filter would then be "none".
    response = owner.get(path, params={"namespace": NS, "page_token": token,
                                       "sort_by": "created_at"})
    assert_error(response, 400, 3, TOKEN_MISMATCH)
    response = owner.get(path, params={"namespace": NS, "page_token": token,
                                       "filter": filter_of({"key": "name", "operation": 2,
                                                            "string_value": "t1"})})
    assert_error(response, 400, 3, TOKEN_MISMATCH)


@pytest.mark.parametrize("token", [
    "not-a-token!", "e30", base64.b64encode(b"not json").decode(),
    base64.b64encode(b"[1, 2]").decode(),
])
def test_bad_page_tokens_are_rejected(owner: requests.Session, token: str) -> None:
    for path, params in ((f"{V2}/experiments", {"namespace": NS}),
                         (f"{V2}/runs", {"namespace": NS}),
                         (f"{V1}/experiments", {"resource_reference_key.type": "NAMESPACE",
                                                "resource_reference_key.id": NS})):
        response = owner.get(path, params={**params, "page_token": token})
        assert_error(response, 400, 3, "Invalid page token")


def test_namespace_scope_is_not_carried_by_the_token(kfp_env: KfpTestEnv,
                                                     owner: requests.Session,
                                                     stranger: requests.Session) -> None:
    alice = create_experiments(kfp_env, owner, [f"a{i}" for i in range(4)])
    bob = create_experiments(kfp_env, stranger, [f"b{i}" for i in range(3)], namespace=BOB)
    first = get_ok(owner, f"{V2}/experiments", {"namespace": NS, "page_size": 1})
    token = first["next_page_token"]
    # Bob replays alice's token against his own namespace: the scope is his, never hers.
    replay = get_ok(stranger, f"{V2}/experiments", {"namespace": BOB, "page_token": token})
    assert set(ids(replay.get("experiments", []))) <= set(ids(bob))
    assert replay.get("total_size", 0) == 3
    # ...and cannot use it to read alice's namespace.
    assert_denied(stranger.get(f"{V2}/experiments", params={"namespace": NS,
                                                            "page_token": token}))
    assert ids(first["experiments"]) == [alice[0]["experiment_id"]]


# -- sorting -----------------------------------------------------------------------------------


def test_sort_by_fields_and_directions(kfp_env: KfpTestEnv, owner: requests.Session) -> None:
    names = ["delta", "alpha", "charlie", "bravo", "echo"]
    created = create_experiments(kfp_env, owner, names)
    path = f"{V2}/experiments"

    def order(sort_by: str) -> list[str]:
        body = get_ok(owner, path, {"namespace": NS, "sort_by": sort_by})
        return [e["display_name"] for e in body["experiments"]]

    assert order("") == names  # default: created_at ascending
    assert order("created_at desc") == names[::-1]
    assert order("name") == order("name asc") == order("display_name") == sorted(names)
    assert order("name desc") == order("NAME DESC") == order("\tname\n desc ") == \
        sorted(names, reverse=True)
    assert order("id") == [e["display_name"] for e in
                           sorted(created, key=lambda e: e["experiment_id"])]
    v1 = get_ok(owner, f"{V1}/experiments", {"resource_reference_key.type": "NAMESPACE",
                                             "resource_reference_key.id": NS,
                                             "sort_by": "name desc"})
    assert [e["name"] for e in v1["experiments"]] == sorted(names, reverse=True)


@pytest.mark.parametrize("sort_by", ["name sideways", "name desc extra", "created_at  asc  x",
                                     "name,desc desc asc"])
def test_invalid_sort_by_format(owner: requests.Session, sort_by: str) -> None:
    response = owner.get(f"{V2}/experiments", params={"namespace": NS, "sort_by": sort_by})
    assert_error(response, 400, 3,
                 f'Received invalid sort by format "{sort_by}". Supported format: "field_name", '
                 '"field_name desc", or "field_name asc"')


@pytest.mark.parametrize(("path", "params", "model"), [
    (f"{V2}/experiments", {"namespace": NS}, "Experiment"),
    (f"{V2}/runs", {"namespace": NS}, "Run"),
    (f"{V2}/recurringruns", {"namespace": NS}, "Job"),
    (f"{V2}/pipelines", {"namespace": NS}, "Pipeline"),
    (f"{V1}/experiments", {"resource_reference_key.type": "NAMESPACE",
                           "resource_reference_key.id": NS}, "Experiment"),
    (f"{V1}/jobs", {"resource_reference_key.type": "NAMESPACE",
                    "resource_reference_key.id": NS}, "Job"),
])
def test_invalid_sort_field(owner: requests.Session, path: str, params: dict[str, Any],
                            model: str) -> None:
    response = owner.get(path, params={**params, "sort_by": "Colour desc"})
    # The server lower-cases sort_by before looking the field up.
    assert_error(response, 400, 3, f'Invalid sorting field: "colour" on listable type {model}')


def test_pipeline_versions_sort_field_error(owner: requests.Session) -> None:
    created = owner.post(f"{V2}/pipelines", json={"name": "sortable", "namespace": NS})
    pid = created.json()["pipeline_id"]
    response = owner.get(f"{V2}/pipelines/{pid}/versions", params={"sort_by": "weight"})
    assert_error(response, 400, 3, 'Invalid sorting field: "weight" on listable type '
                                   "PipelineVersion")


# -- filters -----------------------------------------------------------------------------------


@pytest.fixture
def catalog(kfp_env: KfpTestEnv, owner: requests.Session,
            stranger: requests.Session) -> list[dict[str, Any]]:
    """Six experiments in alice (one second apart), two archived; three in bob."""
    created = create_experiments(kfp_env, owner, ["red", "green", "blue", "red-2", "teal",
                                                  "a b"])
    for experiment in created[3:5]:
        archived = owner.post(f"{V2}/experiments/{experiment['experiment_id']}:archive")
        assert archived.status_code == 200
    create_experiments(kfp_env, stranger, ["red", "bob-only", "blue"], namespace=BOB)
    return created


def names_for(session: requests.Session, flt: str, path: str = f"{V2}/experiments",
              params: dict[str, Any] | None = None, name_key: str = "display_name",
              list_key: str = "experiments") -> list[str]:
    query = params if params is not None else {"namespace": NS}
    body = get_ok(session, path, {**query, "filter": flt})
    items = body.get(list_key, [])
    assert body.get("total_size", 0) == len(items)
    return sorted(item[name_key] for item in items)


def test_string_filters_in_every_spelling(catalog: list[dict[str, Any]],
                                          owner: requests.Session) -> None:
    for predicate in ({"key": "name", "operation": "EQUALS", "string_value": "red"},
                      {"key": "display_name", "operation": 1, "stringValue": "red"},
                      {"key": "name", "operation": "EQUALS", "stringValue": "red"}):
        assert names_for(owner, filter_of(predicate)) == ["red"]
    assert names_for(owner, filter_of({"key": "name", "operation": "NOT_EQUALS",
                                       "string_value": "red"})) == \
        ["a b", "blue", "green", "red-2", "teal"]
    assert names_for(owner, filter_of({"key": "name", "operation": "IS_SUBSTRING",
                                       "string_value": "re"})) == ["green", "red", "red-2"]
    assert names_for(owner, filter_of({"key": "name", "operation": 9,
                                       "stringValue": "e"})) == \
        ["blue", "green", "red", "red-2", "teal"]
    for values in ({"string_values": {"values": ["red", "teal", "absent"]}},
                   {"stringValues": {"values": ["red", "teal", "absent"]}}):
        assert names_for(owner, filter_of({"key": "name", "operation": "IN", **values})) == \
            ["red", "teal"]
    assert names_for(owner, filter_of({"key": "storage_state", "operation": "EQUALS",
                                       "string_value": "ARCHIVED"})) == ["red-2", "teal"]
    # Predicates are AND-ed.
    assert names_for(owner, filter_of(
        {"key": "name", "operation": "IS_SUBSTRING", "string_value": "red"},
        {"key": "storage_state", "operation": "EQUALS", "string_value": "AVAILABLE"})) == \
        ["red"]
    # The server URL-unescapes the decoded value once more: "+" turns into a space.
    assert names_for(owner, filter_of({"key": "name", "operation": "EQUALS",
                                       "string_value": "a+b"})) == ["a b"]
    assert names_for(owner, filter_of({"key": "description", "operation": "EQUALS",
                                       "string_value": "about green"})) == ["green"]


def test_integer_and_timestamp_filters(catalog: list[dict[str, Any]],
                                       owner: requests.Session) -> None:
    stamps = {e["display_name"]: e["created_at"] for e in catalog}
    seconds = {name: int(_epoch(value)) for name, value in stamps.items()}
    pivot = seconds["blue"]
    after_blue = ["a b", "red-2", "teal"]
    assert names_for(owner, filter_of({"key": "created_at", "operation": "GREATER_THAN",
                                       "int_value": pivot})) == after_blue
    assert names_for(owner, filter_of({"key": "created_at", "operation": 3,
                                       "longValue": str(pivot)})) == after_blue
    assert names_for(owner, filter_of({"key": "created_at", "operation": "GREATER_THAN",
                                       "timestamp_value": stamps["blue"]})) == after_blue
    assert names_for(owner, filter_of({"key": "created_at", "operation": "GREATER_THAN_EQUALS",
                                       "intValue": pivot})) == ["a b", "blue", "red-2", "teal"]
    assert names_for(owner, filter_of({"key": "created_at", "operation": "LESS_THAN",
                                       "long_value": pivot})) == ["green", "red"]
    assert names_for(owner, filter_of({"key": "created_at", "operation": "LESS_THAN_EQUALS",
                                       "timestampValue": stamps["blue"]})) == \
        ["blue", "green", "red"]
    assert names_for(owner, filter_of({"key": "created_at", "operation": "IN", "intValues": {
        "values": [seconds["red"], seconds["teal"]]}})) == ["red", "teal"]
    assert names_for(owner, filter_of({"key": "created_at", "operation": "IN", "int_values": {
        "values": [seconds["blue"]]}})) == ["blue"]
    assert names_for(owner, filter_of({"key": "created_at", "operation": "IN", "longValues": {
        "values": [str(seconds["green"])]}})) == ["green"]


def _epoch(rfc3339: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def test_v1_filters_use_op(catalog: list[dict[str, Any]], owner: requests.Session) -> None:
    params = {"resource_reference_key.type": "NAMESPACE", "resource_reference_key.id": NS}
    v1_filter = filter_of({"key": "name", "op": "EQUALS", "string_value": "green"})
    assert names_for(owner, v1_filter, f"{V1}/experiments", params, "name") == ["green"]
    assert names_for(owner, filter_of({"key": "name", "op": 8, "stringValues": {
        "values": ["green", "blue"]}}), f"{V1}/experiments", params, "name") == \
        ["blue", "green"]
    # Each API version rejects the other's operator field.
    v2_filter = filter_of({"key": "name", "operation": "EQUALS", "string_value": "green"})
    for path, query, flt, field in ((f"{V1}/experiments", params, v2_filter, "operation"),
                                    (f"{V2}/experiments", {"namespace": NS}, v1_filter, "op")):
        response = owner.get(path, params={**query, "filter": flt})
        message = normalized(detail(assert_error_response(response)))
        assert re.fullmatch(
            rf'failed to parse valid filter from "{re.escape(_go_quote(flt))}": '
            rf'proto: \(line 1:\d+\): unknown field "{field}"', message), message


def assert_error_response(response: requests.Response) -> requests.Response:
    assert_error(response, 400, 3)
    return response


def _go_quote(text: str) -> str:
    """Go's %q of an ASCII string."""
    return json.dumps(text)[1:-1]


@pytest.mark.parametrize(("predicate", "message"), [
    ({"key": "colour", "operation": "EQUALS", "string_value": "red"},
     'no support for filtering on unrecognized field "colour"'),
    ({"key": "name", "operation": "IN", "string_value": "red"},
     "cannot use IN operator with scalar type string"),
    ({"key": "created_at", "operation": "IN", "int_value": 5},
     "cannot use IN operator with scalar type int32"),
    ({"key": "created_at", "operation": "IN", "long_value": "5"},
     "cannot use IN operator with scalar type int64"),
    ({"key": "name", "operation": "EQUALS", "string_values": {"values": ["a"]}},
     "cannot use scalar operator EQUALS on array type []string"),
    ({"key": "created_at", "operation": "LESS_THAN", "int_values": {"values": [1]}},
     "cannot use scalar operator LESS_THAN on array type []int32"),
    ({"key": "created_at", "operation": "NOT_EQUALS", "long_values": {"values": ["1"]}},
     "cannot use scalar operator NOT_EQUALS on array type []int64"),
    # Upstream passes the format arguments swapped: the operation's type, then the value.
    ({"key": "name", "operation": "IS_SUBSTRING", "int_value": 5},
     "cannot use non string value type string with operator 5"),
    ({"key": "", "operation": "EQUALS", "string_value": "red"},
     "Predicate key cannot be empty for operation EQUALS and value red"),
    ({"operation": "IN", "string_values": {"values": ["a", "b"]}},
     "Predicate key cannot be empty for operation IN and value [a b]"),
    ({"key": "name", "string_value": "red"},
     "Error using Filter.Predicate.Operation with go_client.Predicate_Operation"),
    ({"key": "name", "operation": "EQUALS"},
     "Error using Filter.Predicate.Value with <nil>"),
])
def test_filter_errors_carry_the_real_messages(owner: requests.Session,
                                               predicate: dict[str, Any], message: str) -> None:
    for path, params in ((f"{V2}/experiments", {"namespace": NS}),
                         (f"{V2}/runs", {"namespace": NS}),
                         (f"{V2}/pipelines", {})):
        response = owner.get(path, params={**params, "filter": filter_of(predicate)})
        assert_error(response, 400, 3, message)


def test_v1_unspecified_op_names_its_own_enum(owner: requests.Session) -> None:
    response = owner.get(f"{V1}/experiments", params={
        "resource_reference_key.type": "NAMESPACE", "resource_reference_key.id": NS,
        "filter": filter_of({"key": "name", "string_value": "x"})})
    assert_error(response, 400, 3,
                 "Error using Filter.Predicate.Operation with go_client.Predicate_Op")


@pytest.mark.parametrize(("raw", "fragment"), [
    ("{not json", None),
    (json.dumps({"predicates": {"key": "name"}}), None),
    (json.dumps({"predicates": [{"key": "name", "operation": "SIMILAR", "string_value": "x"}]}),
     None),
    ("100%", 'invalid URL escape "%"'),
    (json.dumps({"predicates": [{"key": "name", "operation": 1, "string_value": "50%off"}]}),
     'invalid URL escape "%of"'),
])
def test_undecodable_filters(owner: requests.Session, raw: str, fragment: str | None) -> None:
    response = owner.get(f"{V2}/experiments", params={"namespace": NS, "filter": raw})
    message = normalized(detail(assert_error_response(response)))
    prefix = f'failed to parse valid filter from "{_go_quote(raw)}": '
    assert message.startswith(prefix), message
    if fragment is not None:
        assert message == prefix + fragment


# -- total_size, empty pages and scope ---------------------------------------------------------


def test_total_size_counts_scope_and_filter_not_the_page(catalog: list[dict[str, Any]],
                                                         owner: requests.Session) -> None:
    body = get_ok(owner, f"{V2}/experiments", {"namespace": NS, "page_size": 2})
    assert len(body["experiments"]) == 2 and body["total_size"] == 6
    body = get_ok(owner, f"{V2}/experiments", {
        "namespace": NS, "page_size": 1,
        "filter": filter_of({"key": "name", "operation": "IS_SUBSTRING",
                             "string_value": "red"})})
    assert len(body["experiments"]) == 1 and body["total_size"] == 2


@pytest.mark.parametrize(("path", "params"), [
    (f"{V2}/experiments", {"namespace": NS}),
    (f"{V2}/runs", {"namespace": NS}),
    (f"{V2}/recurringruns", {"namespace": NS}),
    (f"{V2}/pipelines", {"namespace": NS}),
    (f"{V2}/pipelines", {}),
    (f"{V1}/experiments", {"resource_reference_key.type": "NAMESPACE",
                           "resource_reference_key.id": NS}),
    (f"{V1}/runs", {"resource_reference_key.type": "NAMESPACE", "resource_reference_key.id": NS}),
    (f"{V1}/jobs", {"resource_reference_key.type": "NAMESPACE", "resource_reference_key.id": NS}),
    (f"{V1}/pipelines", {}),
])
def test_empty_page_is_an_empty_object(owner: requests.Session, path: str,
                                       params: dict[str, Any]) -> None:
    response = owner.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.json() == {}


def test_filtered_to_nothing_is_an_empty_object(catalog: list[dict[str, Any]],
                                                owner: requests.Session) -> None:
    response = owner.get(f"{V2}/experiments", params={
        "namespace": NS, "filter": filter_of({"key": "name", "operation": "EQUALS",
                                              "string_value": "absent"})})
    assert (response.status_code, response.json()) == (200, {})


def test_a_filter_cannot_widen_the_namespace_scope(kfp_env: KfpTestEnv,
                                                   catalog: list[dict[str, Any]],
                                                   owner: requests.Session) -> None:
    wideners = [
        {"key": "namespace", "operation": "EQUALS", "string_value": BOB},
        {"key": "namespace", "operation": "NOT_EQUALS", "string_value": NS},
        {"key": "namespace", "operation": "IN", "string_values": {"values": [NS, BOB]}},
        {"key": "namespace", "operation": "IS_SUBSTRING", "string_value": "b"},
    ]
    expected = [[], [], sorted(e["display_name"] for e in catalog), []]
    for predicate, want in zip(wideners, expected, strict=True):
        assert names_for(owner, filter_of(predicate)) == want, predicate
    # Runs: a run of bob's never shows up in alice's listing, whatever the filter says.
    bob_session = kfp_env.as_stranger()
    bob_experiment = get_ok(bob_session, f"{V2}/experiments", {"namespace": BOB})["experiments"][0]
    bob_run = bob_session.post(f"{V2}/runs", json={
        "display_name": "bobs-run", "experiment_id": bob_experiment["experiment_id"],
        "pipeline_spec": SPEC})
    assert bob_run.status_code == 200, bob_run.text
    alice_run = owner.post(f"{V2}/runs", json={
        "display_name": "alices-run", "experiment_id": catalog[0]["experiment_id"],
        "pipeline_spec": SPEC})
    assert alice_run.status_code == 200, alice_run.text
    for predicate in (
            {"key": "namespace", "operation": "EQUALS", "string_value": BOB},
            {"key": "experiment_id", "operation": "EQUALS",
             "string_value": bob_experiment["experiment_id"]},
            {"key": "run_id", "operation": "EQUALS", "string_value": bob_run.json()["run_id"]}):
        assert names_for(owner, filter_of(predicate), f"{V2}/runs", {"namespace": NS},
                         list_key="runs") == [], predicate
    assert names_for(owner, filter_of({"key": "namespace", "operation": "IN", "string_values": {
        "values": [NS, BOB]}}), f"{V2}/runs", {"namespace": NS}, list_key="runs") == \
        ["alices-run"]
    # Scoping by alice's experiment while filtering on bob's experiment id: still nothing.
    assert names_for(owner, filter_of({"key": "experiment_id", "operation": "EQUALS",
                                       "string_value": bob_experiment["experiment_id"]}),
                     f"{V2}/runs", {"experiment_id": catalog[0]["experiment_id"]},
                     list_key="runs") == []


def test_run_filters_on_state_and_experiment(kfp_env: KfpTestEnv,
                                             owner: requests.Session) -> None:
    experiments = create_experiments(kfp_env, owner, ["x", "y"])
    run_ids = {}
    for name, experiment in (("r1", experiments[0]), ("r2", experiments[0]),
                             ("r3", experiments[1])):
        response = owner.post(f"{V2}/runs", json={
            "display_name": name, "experiment_id": experiment["experiment_id"],
            "pipeline_spec": SPEC})
        assert response.status_code == 200, response.text
        run_ids[name] = response.json()["run_id"]
    assert owner.post(f"{V2}/runs/{run_ids['r2']}:terminate").status_code == 200
    runs = {"path": f"{V2}/runs", "params": {"namespace": NS}, "list_key": "runs"}
    assert names_for(owner, filter_of({"key": "state", "operation": "EQUALS",
                                       "string_value": "PENDING"}), **runs) == ["r1", "r3"]
    assert names_for(owner, filter_of({"key": "experiment_id", "operation": "EQUALS",
                                       "string_value": experiments[0]["experiment_id"]}),
                     **runs) == ["r1", "r2"]
    v1 = get_ok(owner, f"{V1}/runs", {
        "resource_reference_key.type": "NAMESPACE", "resource_reference_key.id": NS,
        "filter": filter_of({"key": "name", "op": "IN", "string_values": {
            "values": ["r1", "r3"]}}), "sort_by": "name desc"})
    assert [r["name"] for r in v1["runs"]] == ["r3", "r1"] and v1["total_size"] == 2

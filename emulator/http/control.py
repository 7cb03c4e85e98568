"""Test controls under ``/_emulator`` (never under ``/apis``): provisioning, clock, state, log."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.core import Emulator, ProfileSpec
from emulator.errors import KfpError
from emulator.http.common import json_response
from emulator.http.routing import Router
from emulator.kube.cluster import ClusterError
from emulator.snapshot import SnapshotError

PREFIX = "/_emulator"


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ControlError(400, f"request body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ControlError(400, "request body must be a JSON object")
    return data


def _field(data: dict[str, Any], name: str, kind: type, default: Any = None) -> Any:
    value = data.get(name, default)
    if value is None or (kind is float and isinstance(value, int) and not isinstance(value,
                                                                                    bool)):
        if value is None and default is None:
            raise ControlError(400, f"field {name!r} is required")
        return value
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ControlError(400, f"field {name!r} must be of type {kind.__name__}")
    return value


def register(router: Router, emulator: Emulator) -> None:
    def add(method: str, path: str, handler: Any) -> None:
        async def wrapped(request: Request, **params: str) -> Response:
            try:
                return await handler(request, **params)
            except ControlError as error:
                return json_response({"error": error.message}, error.status)
            except ClusterError as error:
                return json_response({"error": error.message, "reason": error.reason},
                                     error.code)
            except (SnapshotError, ValueError) as error:
                return json_response({"error": str(error)}, 400)
            except KfpError as error:  # e.g. an outcome for an unknown run
                return json_response({"error": error.external}, error.http_status)
            except KeyError as error:
                return json_response({"error": f"not found: {error}"}, 404)
        router.add(method, PREFIX + path, wrapped)

    async def info(request: Request) -> Response:
        return json_response({"mode": emulator.mode.value,
                              "config": emulator.config.as_dict(), "now": emulator.clock.now(),
                              "pending_timers": emulator.clock.pending_timers()})

    async def reset(request: Request) -> Response:
        emulator.reset()
        return json_response({})

    async def advance(request: Request) -> Response:
        data = await _json(request)
        seconds = _field(data, "seconds", float)
        if seconds < 0:
            raise ControlError(400, "the emulator clock cannot go backwards")
        fired = emulator.advance(float(seconds))
        return json_response({"now": emulator.clock.now(), "timers_fired": fired})

    async def decisions(request: Request) -> Response:
        try:
            since = int(request.query_params.get("since", "0"))
            limit = int(request.query_params["limit"]) if "limit" in request.query_params \
                else None
        except ValueError:
            raise ControlError(400, "since and limit must be integers") from None
        if limit is not None and limit < 0:
            raise ControlError(400, "limit must not be negative")
        # ``last`` is the newest decision's number: ``limit=0`` asks only for it (where a
        # scenario begins, for its repro bundle).
        last = emulator.cluster.authorizer.last_seq()
        found = emulator.decisions(since)
        if limit is not None:
            found = found[:limit]
        return json_response({"decisions": [d.as_dict() for d in found], "last": last})

    async def export(request: Request) -> Response:
        return json_response(emulator.export_state())

    async def import_(request: Request) -> Response:
        emulator.import_state(await _json(request))
        return json_response({})

    async def add_profile(request: Request) -> Response:
        data = await _json(request)
        contributors = data.get("contributors", [])
        if not isinstance(contributors, list) or not all(
                isinstance(c, dict) and isinstance(c.get("email"), str)
                and isinstance(c.get("role"), str) for c in contributors):
            raise ControlError(400, "contributors must be a list of {email, role}")
        spec = ProfileSpec(_field(data, "name", str), _field(data, "owner", str),
                           tuple((c["email"], c["role"]) for c in contributors))
        emulator.add_profile(spec)
        return json_response({"name": spec.name, "owner": spec.owner})

    async def add_contributor(request: Request, name: str) -> Response:
        data = await _json(request)
        with emulator.kfp.state.lock:
            binding = emulator.cluster.add_contributor(name, _field(data, "email", str),
                                                       _field(data, "role", str))
        return json_response({"binding": binding.name})

    async def remove_contributor(request: Request, name: str) -> Response:
        data = await _json(request)
        with emulator.kfp.state.lock:
            emulator.cluster.remove_contributor(name, _field(data, "email", str),
                                                _field(data, "role", str))
        return json_response({})

    async def token(request: Request) -> Response:
        data = await _json(request)
        ttl = data.get("ttl_seconds")
        if ttl is not None and (not isinstance(ttl, int) or isinstance(ttl, bool) or ttl <= 0):
            raise ControlError(400, "ttl_seconds must be a positive integer")
        audiences = data.get("audiences")
        if audiences is not None and (not isinstance(audiences, list) or not all(
                isinstance(a, str) for a in audiences)):
            raise ControlError(400, "audiences must be a list of strings")
        if "service_account" in data:
            value = emulator.service_account_token(_field(data, "namespace", str),
                                                   _field(data, "service_account", str), ttl,
                                                   audiences)
        else:
            value = emulator.user_token(_field(data, "user", str), ttl, audiences)
        return json_response({"token": value})

    async def run_outcome(request: Request, run_id: str) -> Response:
        data = await _json(request)
        emulator.set_run_outcome(run_id, _field(data, "outcome", str))
        return json_response({})

    add("GET", "", info)
    add("POST", "/reset", reset)
    add("POST", "/clock:advance", advance)
    add("GET", "/decisions", decisions)
    add("GET", "/state", export)
    add("PUT", "/state", import_)
    add("POST", "/profiles", add_profile)
    add("POST", "/profiles/{name}/contributors", add_contributor)
    add("DELETE", "/profiles/{name}/contributors", remove_contributor)
    add("POST", "/tokens", token)
    add("POST", "/runs/{run_id}/outcome", run_outcome)

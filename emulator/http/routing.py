"""A small method+path router with grpc-gateway's answers for unknown paths and methods."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.kfp.access import CURRENT_OPERATION

Handler = Callable[..., Awaitable[Response]]
Fallback = Callable[[Request, bool], Awaitable[Response]]

_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_.]*)}")
_PARAM_ANY = re.compile(r"{[^}]*}")


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    params: tuple[tuple[str, str], ...]  # (regex group, handler keyword)
    operation: str  # operation_key(method, path)


def operation_key(method: str, path: str) -> str:
    """``POST /apis/v2beta1/runs/{run_id}:archive`` -> ``POST /apis/v2beta1/runs/{}:archive``:
    one name per operation, whatever its parameters are called (routes and swagger files name
    them differently)."""
    return f"{method.upper()} {_PARAM_ANY.sub('{}', path)}"


def compile_path(path: str) -> tuple[re.Pattern[str], tuple[tuple[str, str], ...]]:
    """``/runs/{run_id}:archive`` -> regex; parameters may not contain ``/``."""
    regex, params, last = "^", [], 0
    for index, match in enumerate(_PARAM.finditer(path)):
        regex += re.escape(path[last:match.start()])
        group = f"p{index}"
        regex += f"(?P<{group}>[^/]+?)"
        params.append((group, match.group(1).replace(".", "_")))
        last = match.end()
    regex += re.escape(path[last:]) + "$"
    return re.compile(regex), tuple(params)


class Router:
    """Routes bucketed by their first three path segments (``/apis/v2beta1/runs``), so a request
    is matched against a handful of patterns.  Routes with a parameter among those segments (only
    test controls) go to a per-two-segment fallback list, tried after the literal bucket."""

    def __init__(self) -> None:
        self._literal: dict[str, list[Route]] = {}
        self._fallback: dict[str, list[Route]] = {}

    def add(self, method: str, path: str, handler: Handler) -> None:
        pattern, params = compile_path(path)
        route = Route(method, pattern, handler, params, operation_key(method, path))
        literal = _prefix(path, 3)
        if "{" in literal:
            self._fallback.setdefault(_prefix(path, 2), []).append(route)
        else:
            self._literal.setdefault(literal, []).append(route)

    def operations(self) -> set[str]:
        """Every operation routed here, by its key."""
        return {route.operation for bucket in (*self._literal.values(), *self._fallback.values())
                for route in bucket}

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """The route, its parameters, and whether the path matched under another method."""
        path_matched = False
        for bucket in (self._literal.get(_prefix(path, 3), ()),
                       self._fallback.get(_prefix(path, 2), ())):
            for route in bucket:
                found = route.pattern.match(path)
                if found is None:
                    continue
                if route.method != method and not (method == "HEAD" and route.method == "GET"):
                    path_matched = True
                    continue
                params = {keyword: found.group(group) for group, keyword in route.params}
                return route, params, path_matched
        return None, {}, path_matched


def _prefix(path: str, segments: int) -> str:
    return "/".join(path.split("/", segments + 1)[:segments + 1])


async def dispatch(router: Router, request: Request, fallback: Fallback,
                   **extra: Any) -> Response:
    # The decoded path straight from the ASGI scope: cheaper than building ``request.url``, and
    # a decoded "?" or "#" (sent as %3F, %23) stays part of the path instead of cutting it.
    route, params, other_method = router.match(request.method, request.scope["path"])
    if route is None:
        return await fallback(request, other_method)
    token = CURRENT_OPERATION.set(route.operation)
    try:
        return await route.handler(request, **params, **extra)
    finally:
        CURRENT_OPERATION.reset(token)

"""A small method+path router with grpc-gateway's answers for unknown paths and methods."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

Handler = Callable[..., Awaitable[Response]]
Fallback = Callable[[Request, bool], Awaitable[Response]]

_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_.]*)}")


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    params: tuple[tuple[str, str], ...]  # (regex group, handler keyword)


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
    def __init__(self) -> None:
        self._routes: dict[str, list[Route]] = {}

    def add(self, method: str, path: str, handler: Handler) -> None:
        pattern, params = compile_path(path)
        prefix = self._prefix(path)
        self._routes.setdefault(prefix, []).append(Route(method, pattern, handler, params))

    @staticmethod
    def _prefix(path: str) -> str:
        """Bucket routes by their first two segments (``/apis/v2beta1``): no route has a
        parameter there, so a request's bucket is computed from its path alone."""
        return "/".join(path.split("/")[:3])

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """The route, its parameters, and whether the path matched under another method."""
        path_matched = False
        for route in self._routes.get(self._prefix(path), ()):
            found = route.pattern.match(path)
            if found is None:
                continue
            if route.method != method and not (method == "HEAD" and route.method == "GET"):
                path_matched = True
                continue
            params = {keyword: found.group(group) for group, keyword in route.params}
            return route, params, path_matched
        return None, {}, path_matched

    def routes(self) -> list[tuple[str, str]]:
        return [(r.method, r.pattern.pattern) for rs in self._routes.values() for r in rs]


async def dispatch(router: Router, request: Request, fallback: Fallback,
                   **extra: Any) -> Response:
    # The decoded path straight from the ASGI scope: cheaper than building ``request.url``, and
    # a decoded "?" or "#" (sent as %3F, %23) stays part of the path instead of cutting it.
    route, params, other_method = router.match(request.method, request.scope["path"])
    if route is None:
        return await fallback(request, other_method)
    return await route.handler(request, **params, **extra)

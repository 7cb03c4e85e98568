"""KFAM's HTTP routes (``profiles-kfam.kubeflow:8081/kfam``), docs/upstream/kubeflow-platform.md
1.2 and 1.5.

Upstream, an Istio AuthorizationPolicy admits only the central dashboard to KFAM (1.7), and the
dashboard is the emulator's in-process caller of :class:`~emulator.kfam.service.KfamService`.
So by default every ``/kfam`` request on the direct listener gets Istio's 403 ``RBAC: access
denied``, whatever identity header it forges.  ``Emulator(expose_kfam=True)``, or the
switch of isolation bug ISO-024, serves the API there instead, trusting the identity header,
as Kubeflow <= 1.4 did; the gateway's ``/kfam/`` route (a VirtualService) then reaches it too,
with the gateway's identity header."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from emulator import bugs
from emulator.gateway.jwt import rbac_denied
from emulator.gateway.pages import request_uri
from emulator.http.routing import Router
from emulator.kfam.service import KfamResponse, KfamService

if TYPE_CHECKING:
    from emulator.core import Emulator

PREFIX = "/kfam"
# Every KFAM handler sets this first, whatever it then writes (text, "true", or nothing).
CONTENT_TYPE = "application/json; charset=UTF-8"


def kfam_response(answer: KfamResponse) -> Response:
    return Response(answer.body.encode(), status_code=answer.status,
                    headers={"Content-Type": CONTENT_TYPE})


def is_kfam_path(path: str) -> bool:
    return path == PREFIX or path.startswith(f"{PREFIX}/")


def istio_policy(emulator: Emulator, path: str) -> Response | None:
    """The ``profiles-kfam`` AuthorizationPolicy on the direct listener: its 403 for any KFAM
    path unless the emulator exposes KFAM (ISO-024); None when the request may go on."""
    # ISO-024: Kubeflow <= 1.4 had no policy in front of KFAM: anyone in the mesh reached it.
    if is_kfam_path(path) and not (emulator.expose_kfam or bugs.on(emulator.config, "ISO-024")):
        return rbac_denied()
    return None


def register(router: Router, emulator: Emulator) -> None:
    service = KfamService(emulator)
    lock = emulator.kfp.state.lock
    header = emulator.config.userid_header.lower()

    def caller(request: Request) -> str:
        return service.caller(request.headers.get(header))

    async def index(request: Request) -> Response:
        # Index sets no content type; Go sniffs the text.
        return Response(b"Hello World!", media_type="text/plain; charset=utf-8")

    async def redirect_to_slash(request: Request) -> Response:
        # gorilla/mux StrictSlash(true): /kfam is redirected to /kfam/.
        return Response(status_code=301, headers={"Location": f"{PREFIX}/"})

    async def read_bindings(request: Request) -> Response:
        query = request.query_params
        with lock:
            answer = service.read_bindings(query.get("user", ""), query.get("namespace", ""),
                                           query.get("role", ""))
        return kfam_response(answer)

    async def create_binding(request: Request) -> Response:
        raw = await request.body()
        with lock:
            answer = service.create_binding(caller(request), raw)
        return kfam_response(answer)

    async def delete_binding(request: Request) -> Response:
        raw = await request.body()
        with lock:
            answer = service.delete_binding(caller(request), raw)
        return kfam_response(answer)

    async def cluster_admin(request: Request) -> Response:
        with lock:
            answer = service.query_cluster_admin(request.query_params.get("user", ""))
        return kfam_response(answer)

    async def create_profile(request: Request) -> Response:
        raw = await request.body()
        with lock:
            answer = service.create_profile(raw)
        return kfam_response(answer)

    async def delete_profile(request: Request, profile: str) -> Response:
        # path.Base(r.RequestURI): a query string ends up in the name.
        name = request_uri(request.scope).rstrip("/").rsplit("/", 1)[-1]
        with lock:
            answer = service.delete_profile(caller(request), name)
        return kfam_response(answer)

    router.add("GET", PREFIX, redirect_to_slash)
    router.add("GET", f"{PREFIX}/", index)
    router.add("GET", f"{PREFIX}/v1/bindings", read_bindings)
    router.add("POST", f"{PREFIX}/v1/bindings", create_binding)
    router.add("DELETE", f"{PREFIX}/v1/bindings", delete_binding)
    router.add("GET", f"{PREFIX}/v1/role/clusteradmin", cluster_admin)
    router.add("POST", f"{PREFIX}/v1/profiles", create_profile)
    router.add("DELETE", f"{PREFIX}/v1/profiles/{{profile}}", delete_profile)

"""The central dashboard behind the gateway's ``/`` route: its workgroup API
(docs/upstream/kubeflow-platform.md 2.1-2.3) and a minimal home page.

The dashboard reads the identity header the gateway set and calls KFAM as that user; here KFAM
is the in-process :class:`~emulator.kfam.service.KfamService` (the only caller KFAM's Istio
policy admits).

Served workgroup routes:

- ``GET /api/workgroup/env-info`` and ``GET /api/workgroup/exists`` (with or without identity);
- behind the hasAuth guard (405 without identity): ``GET /api/workgroup/get-contributors/<ns>``,
  ``POST /api/workgroup/add-contributor/<ns>``, ``DELETE /api/workgroup/remove-contributor/<ns>``.

Not served (404 ``Could not find the route ...``; without identity any other
``/api/workgroup/`` path gets the guard's 405): ``POST /api/workgroup/create`` (the
registration flow is off in the manifests, ``CD_REGISTRATION_FLOW=false``),
``DELETE /api/workgroup/nuke-self``, ``GET /api/workgroup/get-all-namespaces``, and the general
``/api`` routes (``/api/activities/<ns>``, ``/api/namespaces``, ``/api/dashboard-links``, ...).
Any other ``GET`` path is the home page.
"""

from __future__ import annotations

import contextlib
import html
import json
import re
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.gateway.pages import HTML, page
from emulator.kfam.service import KfamResponse, KfamService

if TYPE_CHECKING:
    from emulator.core import Emulator

ANONYMOUS = "anonymous@kubeflow.org"
LOGOUT_URL = "/oauth2/sign_out"
ROLE_MAP = {"admin": "owner", "edit": "contributor", "view": "viewer"}
# The HTML5 e-mail regex the dashboard checks contributors with.
EMAIL_RGX = re.compile(r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}"
                       r"[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$")
NO_ROUTE = "Could not find the route you're looking for"
NO_IDENTITY = "Unable to ascertain user identity from request, cannot access route."


class KfamFailure(Exception):
    def __init__(self, answer: KfamResponse) -> None:
        super().__init__(answer.body)
        self.answer = answer


def json_response(body: Any, status: int = 200) -> Response:
    """Express's res.json: compact JSON, ``application/json; charset=utf-8``."""
    return Response(json.dumps(body, separators=(",", ":")).encode(), status_code=status,
                    headers={"Content-Type": "application/json; charset=utf-8"})


def api_error(error: str, code: int = 400) -> Response:
    return json_response({"error": error}, code)


def surface_kfam_error(failure: KfamFailure, message: str) -> Response:
    """The KFAM status, and its body when there is one, else the dashboard's own message."""
    return api_error(failure.answer.body or message, failure.answer.status)


class Dashboard:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.kfam = KfamService(emulator)
        self.lock = emulator.kfp.state.lock

    def identity(self, request: Request) -> str | None:
        """attachUser: the identity header with the prefix sliced off; None without one."""
        value = request.headers.get(self.emulator.config.userid_header.lower())
        if value is None:
            return None
        return value[len(self.emulator.config.userid_prefix):]

    # -- KFAM calls ------------------------------------------------------------------------------

    def _kfam(self, answer: KfamResponse) -> KfamResponse:
        if answer.status != 200:
            raise KfamFailure(answer)
        return answer

    def bindings(self, user: str = "", namespace: str = "") -> list[dict[str, Any]] | None:
        """KFAM's list; None when it answered ``{}`` (the generated client's undefined)."""
        with self.lock:
            answer = self._kfam(self.kfam.read_bindings(user, namespace))
        found = json.loads(answer.body).get("bindings")
        return list(found) if found is not None else None

    def simple(self, bindings: list[dict[str, Any]]) -> list[dict[str, str]]:
        rows = []
        for binding in bindings:
            row = {"user": binding["user"]["name"], "namespace": binding["referredNamespace"]}
            role = ROLE_MAP.get(binding["RoleRef"]["name"])
            if role is not None:  # an unknown role is undefined: the key disappears
                row["role"] = role
            rows.append(row)
        return rows

    def workgroup_info(self, email: str) -> tuple[list[dict[str, str]], bool]:
        """The user's bindings and the admin answer, read in one lock block (one view of the
        cluster, as the dashboard's two parallel KFAM calls are meant to give)."""
        with self.lock:
            admin = self._kfam(self.kfam.query_cluster_admin(email))
            found = self.bindings(user=email)
        return self.simple(found or []), admin.body == "true"

    def contributors(self, namespace: str) -> list[str]:
        found = self.bindings(namespace=namespace)
        if found is None:  # mapWorkgroupBindingToSimpleBinding(undefined) throws
            raise KfamFailure(KfamResponse(400))
        return [row["user"] for row in self.simple(found) if row.get("role") == "contributor"]

    def platform(self) -> dict[str, str]:
        provider = "other://"
        return {"kubeflowVersion": "unknown", "provider": provider,
                "providerName": provider.split(":", 1)[0], "logoutUrl": LOGOUT_URL}

    # -- routes ----------------------------------------------------------------------------------

    async def env_info(self, email: str | None) -> Response:
        try:
            if email is not None:
                namespaces, is_admin = self.workgroup_info(email)
                return json_response({"user": email, "platform": self.platform(),
                                      "namespaces": namespaces, "isClusterAdmin": is_admin})
            names = dict.fromkeys(row["namespace"]
                                  for row in self.simple(self.bindings() or []))
            return json_response({
                "user": ANONYMOUS, "platform": self.platform(),
                "namespaces": [{"namespace": n, "role": "contributor", "user": ANONYMOUS}
                               for n in names],
                "isClusterAdmin": True})
        except KfamFailure as failure:
            return surface_kfam_error(failure, "Unexpected error getting environment info")

    async def exists(self, email: str | None) -> Response:
        user = (email if email is not None else ANONYMOUS).split("@", 1)[0]
        try:
            if email is not None:
                namespaces, _ = self.workgroup_info(email)
                has = any(row.get("role") == "owner" for row in namespaces)
            else:
                has = bool(self.bindings())
        except KfamFailure as failure:
            return surface_kfam_error(failure, "Unable to contact Profile Controller")
        return json_response({"hasAuth": email is not None, "user": user, "hasWorkgroup": has,
                              "registrationFlowAllowed": False})

    async def get_contributors(self, namespace: str) -> Response:
        try:
            return json_response(self.contributors(namespace))
        except KfamFailure as failure:
            return surface_kfam_error(failure, f"Unable to fetch contributors for {namespace}")

    async def change_contributor(self, request: Request, email: str, namespace: str,
                                 add: bool) -> Response:
        body: Any = {}
        if "application/json" in request.headers.get("content-type", ""):
            try:
                body = json.loads(await request.body() or b"{}")
            except ValueError:
                body = {}
        contributor = body.get("contributor") if isinstance(body, dict) else None
        if not contributor or not namespace:
            missing = [name for name, value in (("contributor", contributor),
                                                 ("namespace", namespace)) if not value]
            return api_error(f"Missing {' and '.join(missing)} "
                             f"field{'s' if len(missing) > 1 else ''}.")
        if not EMAIL_RGX.match(str(contributor)):
            return api_error("Contributor doesn't look like a valid email address")
        binding = json.dumps({"user": {"kind": "User", "name": str(contributor)},
                              "referredNamespace": namespace,
                              "RoleRef": {"kind": "ClusterRole", "name": "edit"}}).encode()
        with self.lock:
            answer = (self.kfam.create_binding if add else self.kfam.delete_binding)(email,
                                                                                     binding)
        if answer.status != 200:
            # The same "add" wording for both actions, as the dashboard has it.
            reason = HTTPStatus(answer.status).phrase
            return surface_kfam_error(KfamFailure(answer), f"Unable to add new contributor for "
                                                           f"{namespace}. HTTP {answer.status} - "
                                                           f"{reason}")
        return await self.get_contributors(namespace)

    async def home(self, email: str | None) -> Response:
        """A minimal home page: who is signed in, and their namespaces with roles."""
        rows: list[dict[str, str]] = []
        is_admin, user = False, ANONYMOUS
        if email is not None:
            user = email
            with contextlib.suppress(KfamFailure):  # a KFAM failure shows no namespaces
                rows, is_admin = self.workgroup_info(email)
        items = "\n".join(
            f"<tr><td>{html.escape(row['namespace'])}</td>"
            f"<td>{html.escape(row.get('role', ''))}</td></tr>" for row in rows)
        body = page("Kubeflow Central Dashboard", (
            "<h1>Kubeflow</h1>\n"
            f"<p>Signed in as <span id=\"user\">{html.escape(user)}</span>"
            f"{' (cluster admin)' if is_admin else ''}. "
            f"<a href=\"{LOGOUT_URL}\">Log out</a></p>\n"
            "<table id=\"namespaces\">\n<tr><th>Namespace</th><th>Role</th></tr>\n"
            f"{items}\n</table>\n"
            "<p><a href=\"/pipeline/\">Pipelines</a></p>"))
        return Response(body, media_type=HTML)

    async def __call__(self, request: Request) -> Response:
        path = request.scope["path"]
        method = request.method
        email = self.identity(request)
        if not (path == "/api" or path.startswith("/api/")):
            if method in ("GET", "HEAD"):
                return await self.home(email)
            return api_error(NO_ROUTE, 404)
        parts = path.split("/")
        if path == "/api/workgroup/env-info" and method == "GET":
            return await self.env_info(email)
        if path == "/api/workgroup/exists" and method == "GET":
            return await self.exists(email)
        if path.startswith("/api/workgroup/") and email is None:
            return api_error(NO_IDENTITY, 405)
        if len(parts) == 5 and parts[:3] == ["", "api", "workgroup"] and email is not None:
            action, namespace = parts[3], parts[4]
            if action == "get-contributors" and method == "GET":
                return await self.get_contributors(namespace)
            if action == "add-contributor" and method == "POST":
                return await self.change_contributor(request, email, namespace, add=True)
            if action == "remove-contributor" and method == "DELETE":
                return await self.change_contributor(request, email, namespace, add=False)
        return api_error(NO_ROUTE, 404)

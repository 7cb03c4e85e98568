"""ReportService routes, served identically under ``/apis/v1beta1`` and ``/apis/v2beta1``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.http.common import credentials, guarded, run_async
from emulator.http.routing import Router
from emulator.kfp import messages
from emulator.kfp.server import KfpApiServer


async def _manifest_string(request: Request) -> str:
    """The body is the workflow marshalled into a JSON *string* (``body: "workflow"``)."""
    raw = await request.body()
    data = messages.decode_json(raw)
    if not isinstance(data, str):
        raise messages.bad_body("proto: (line 1:1): invalid value for string type: "
                                f"{type(data).__name__}")
    return data


def register(router: Router, server: KfpApiServer, prefix: str) -> None:
    reports = server.reports

    async def report_workflow(request: Request) -> Response:
        text = await _manifest_string(request)
        creds = credentials(request, server)
        return await guarded(server, lambda: reports.report_workflow(creds, text))

    async def report_scheduled_workflow(request: Request) -> Response:
        text = await _manifest_string(request)
        creds = credentials(request, server)
        return await guarded(server, lambda: reports.report_scheduled_workflow(creds, text))

    handlers: dict[str, Any] = {"/workflows": report_workflow,
                                "/scheduledworkflows": report_scheduled_workflow}
    for path, handler in handlers.items():
        router.add("POST", prefix + path, run_async(handler))

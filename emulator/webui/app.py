"""The web UI's ASGI app: the page shell, its static files and the decisions view."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from emulator.core import Emulator

PREFIX = "/pipeline"

_SHELL = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<title>Kubeflow Pipelines (emulator UI)</title></head>"
          "<body><div id=\"root\">Kubeflow Pipelines</div></body></html>\n")


class WebApp:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        await Response(_SHELL, media_type="text/html; charset=utf-8")(scope, receive, send)


def build_web_app(emulator: Emulator) -> ASGIApp:
    """The web UI, for every ``/pipeline/...`` path the UI server does not serve itself."""
    return WebApp(emulator)

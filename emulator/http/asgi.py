"""What every listener's ASGI app does the same way: answer lifespan events, and never drop a
connection on a bug (log it, answer the component's own 500 if nothing was sent yet)."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable

from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send


async def answer_lifespan(receive: Receive, send: Send) -> None:
    """Acknowledge startup and shutdown: the emulator holds no resources that need them."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def with_error_net(handle: Callable[[Send], Awaitable[None]], scope: Scope,
                         receive: Receive, send: Send, *, log: logging.Logger, what: str,
                         failure: Callable[[], Response]) -> None:
    """Run ``handle`` with a send that notes whether a response started; an unexpected
    exception is logged and, if nothing was sent yet, answered with ``failure()``."""
    started = False

    async def tracking_send(message: Message) -> None:
        nonlocal started
        if message["type"] == "http.response.start":
            started = True
        await send(message)

    try:
        await handle(tracking_send)
    except Exception:
        log.error("unhandled %s error on %s %s\n%s", what, scope.get("method"),
                  scope.get("path"), traceback.format_exc())
        if not started:
            await failure()(scope, receive, send)

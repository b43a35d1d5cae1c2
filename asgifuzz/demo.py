"""A small Starlette app with a real-world middleware bug, for ``asgifuzz demo``.

The app is an ordinary JSON API: a health check, an upload endpoint that
counts the bytes of the request body, and a CSV export that streams rows.
In front of it sits ``ErrorEnvelopeMiddleware``, a pure-ASGI middleware in
the style found in many codebases: it catches any exception from the app,
logs it, and answers ``500`` with a JSON error envelope.

The bug: it sends its ``500`` even when the app had already started the
response.  When a streamed response (the export, or any endpoint behind the
middleware) fails halfway through, or a background task raises after the
response was sent, the middleware sends a second ``http.response.start``.  uvicorn raises
``RuntimeError: Expected ASGI message 'http.response.body', but got
'http.response.start'`` and the client sees a truncated CSV with status 200.
The fix is to remember whether ``http.response.start`` went out and re-raise
instead of answering when it did (see ``FixedErrorEnvelopeMiddleware``).

Run ``asgifuzz demo`` (or ``asgifuzz run asgifuzz.demo:app``) to watch
asgifuzz find it, and ``asgifuzz run asgifuzz.demo:fixed_app`` to see the
fixed version pass.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from asgifuzz._types import ASGIApp, Message, Receive, Scope, Send

__all__ = ("ErrorEnvelopeMiddleware", "FixedErrorEnvelopeMiddleware", "app", "fixed_app")

logger = logging.getLogger("asgifuzz.demo")


async def _send_error(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"error": {"status": status, "detail": detail}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ErrorEnvelopeMiddleware:
    """Answer unhandled exceptions with a JSON 500 (buggy: also after the response started)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        except Exception:
            logger.debug("unhandled error on %s %s", scope.get("method"), scope.get("path"), exc_info=True)
            await _send_error(send, 500, "internal server error")
            raise  # let the server log it too


class FixedErrorEnvelopeMiddleware:
    """The same middleware, fixed: once the response started, re-raise instead of answering."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            if not started:
                logger.debug("unhandled error on %s %s", scope.get("method"), scope.get("path"), exc_info=True)
                await _send_error(send, 500, "internal server error")
            raise  # let the server log it too


def _build(middleware_class: Any) -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route

    rows = [("id", "name", "amount"), (1, "coffee", 3.5), (2, "bagel", 2.25), (3, "juice", 4.0)]

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def upload(request: Request) -> JSONResponse:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return JSONResponse({"received": size})

    async def export(request: Request) -> StreamingResponse:
        async def lines() -> AsyncIterator[str]:
            for row in rows:
                yield ",".join(f"{value:.2f}" if isinstance(value, float) else str(value) for value in row) + "\n"

        return StreamingResponse(lines(), media_type="text/csv")

    return Starlette(
        routes=[
            Route("/health", health),
            Route("/upload", upload, methods=["POST"]),
            Route("/export.csv", export),
        ],
        middleware=[Middleware(middleware_class)],
    )


#: The demo app, with the bug.
app = _build(ErrorEnvelopeMiddleware)
#: The same app with the fixed middleware: asgifuzz finds nothing.
fixed_app = _build(FixedErrorEnvelopeMiddleware)

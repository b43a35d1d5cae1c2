"""A Starlette app with an HTTP and a websocket route behind aioprometheus' MetricsMiddleware.

Served in the aioprometheus-* pinned environments (tests/test_ws_middleware_release.py).  The
websocket endpoint echoes text and binary frames until the client leaves.
"""

from __future__ import annotations

from aioprometheus.asgi.middleware import MetricsMiddleware  # type: ignore[import-not-found,unused-ignore]
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket


async def home(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await websocket.send_text(f"echo: {message['text']}")
        else:
            await websocket.send_bytes(message.get("bytes") or b"")


app = Starlette(
    routes=[Route("/", home), WebSocketRoute("/ws", echo)],
    middleware=[Middleware(MetricsMiddleware)],
)

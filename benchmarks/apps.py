"""The apps the benchmarks drive, and the one scripted request of the bare loop.

Each app is importable as ``benchmarks.apps:NAME`` (worker subprocesses load
them by name).  All of them answer ``POST /`` by echoing the request body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = ("APPS", "LABELS", "SCRIPT_BODY", "script_scope")

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]

#: The body of the bare loop's scripted request.
SCRIPT_BODY = b"hello"


def script_scope() -> Scope:
    """``POST /`` with a 5-byte body, as uvicorn would build it."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench"), (b"content-length", str(len(SCRIPT_BODY)).encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def raw_echo(scope: Scope, receive: Receive, send: Send) -> None:
    """A raw ASGI app: read the whole body, send it back."""
    body = b""
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return
        body += message.get("body", b"")
        more = message.get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/octet-stream"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def echo(request: Request) -> Response:
    return Response(await request.body(), media_type="application/octet-stream")


class PassThrough(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: Any) -> Any:
        return await call_next(request)


class PureASGIPassThrough:
    """A pure ASGI middleware that wraps receive and send (and changes nothing)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def wrapped_receive() -> Any:
            return await receive()

        async def wrapped_send(message: dict[str, Any]) -> None:
            await send(message)

        await self.app(scope, wrapped_receive, wrapped_send)


def _starlette(middleware: list[Middleware]) -> Starlette:
    return Starlette(routes=[Route("/", echo, methods=["GET", "POST"])], middleware=middleware)


starlette_route = _starlette([])
bhm4 = _starlette([Middleware(PassThrough) for _ in range(4)])
pure4 = _starlette([Middleware(PureASGIPassThrough) for _ in range(4)])

#: name -> app, in table order.
APPS: dict[str, Any] = {
    "raw_echo": raw_echo,
    "starlette_route": starlette_route,
    "bhm4": bhm4,
    "pure4": pure4,
}

LABELS: dict[str, str] = {
    "raw_echo": "raw ASGI echo",
    "starlette_route": "Starlette + 1 route",
    "bhm4": "Starlette + 4 BaseHTTPMiddleware",
    "pure4": "Starlette + 4 pure-ASGI layers",
}

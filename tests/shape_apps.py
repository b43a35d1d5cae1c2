"""An app with one bug that only a slow upload shows (issue 12, class 7; ``benchmarks/recall.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = ("FirstChunkOnly", "first_chunk_only_app")

Scope = dict[str, Any]


class FirstChunkOnly:
    """Hands the app only the first request event, as the whole body (the bug).

    Later ``receive()`` calls skip the rest of the body and return the
    disconnect when it comes.  Nothing else changes: the app is called at
    once and its messages pass through.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Callable[[], Any], send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        first = True

        async def replay() -> Any:
            nonlocal first
            if first:
                first = False
                message = await receive()
                return {**message, "more_body": False} if message["type"] == "http.request" else message
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return message

        await self.app(scope, replay, send)


async def _echo(request: Request) -> Response:
    return Response(await request.body(), media_type="application/octet-stream")


def first_chunk_only_app() -> Starlette:
    return Starlette(routes=[Route("/", _echo, methods=["POST"])], middleware=[Middleware(FirstChunkOnly)])

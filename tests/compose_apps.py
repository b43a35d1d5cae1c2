"""Middleware for composed-stack tests: a bug that needs two layers to show."""

from __future__ import annotations

from typing import Any

from asgifuzz._types import Receive, Scope, Send


class CountingBuffer:
    """Buffers the response, but only when it is the second (or deeper) copy of
    itself in the stack: a depth-dependent bug, like the seed."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # as real middleware: other protocols pass through
            await self.app(scope, receive, send)
            return
        depth = scope.get("test.depth", 0) + 1
        scope = dict(scope, **{"test.depth": depth})
        if depth < 2:
            await self.app(scope, receive, send)
            return
        held: list[Any] = []

        async def hold(message: Any) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        for message in held:
            await send(message)


MIDDLEWARE = [CountingBuffer]

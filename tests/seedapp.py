"""The seed bug's app: five pass-through BaseHTTPMiddleware layers (any Starlette)."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route


class PassThrough(BaseHTTPMiddleware):
    async def dispatch(self, request: Any, call_next: Any) -> Any:
        return await call_next(request)


async def homepage(request: Any) -> PlainTextResponse:
    return PlainTextResponse("hello")


app = Starlette(routes=[Route("/", homepage)], middleware=[Middleware(PassThrough) for _ in range(5)])

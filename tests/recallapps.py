"""Apps for issue 12's oracles, importable in the pinned old-release virtualenvs (Starlette >= 0.18).

Each app is the user's own Starlette app behind one pass-through
``BaseHTTPMiddleware`` (the middleware whose releases had the bugs), with
routes that exercise one class: a background task that fails after the
response, a stream that breaks off mid-way, background work attached by the
route and by the middleware.
"""

from __future__ import annotations

from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.background import BackgroundTask, BackgroundTasks
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route


class PassThrough(BaseHTTPMiddleware):
    async def dispatch(self, request: Any, call_next: Any) -> Any:
        return await call_next(request)


class AttachesWork(BaseHTTPMiddleware):
    """Sets a background task on the response from ``call_next`` (documented Starlette usage)."""

    async def dispatch(self, request: Any, call_next: Any) -> Any:
        response = await call_next(request)
        response.background = BackgroundTask(audit)
        return response


async def audit() -> None:
    await anyio.sleep(0.2)


async def send_email() -> None:
    await anyio.sleep(0.5)


async def failing_job() -> None:
    await anyio.sleep(0.1)
    raise ValueError("the background job failed")


async def report(request: Any) -> PlainTextResponse:
    return PlainTextResponse("queued", background=BackgroundTask(failing_job))


async def broken_stream(request: Any) -> StreamingResponse:
    async def rows() -> Any:
        yield b"row 1\n"
        await anyio.sleep(0.1)
        raise ConnectionError("the database went away")

    return StreamingResponse(rows(), media_type="text/plain")


async def signup(request: Any) -> PlainTextResponse:
    tasks = BackgroundTasks()
    tasks.add_task(send_email)
    return PlainTextResponse("welcome", background=tasks)


#: Class 1: the route's background task fails after the response (bare: reaches the server).
background_failure = Starlette(routes=[Route("/report", report)], middleware=[Middleware(PassThrough)])
#: Class 2: the route's stream breaks off mid-way.
stream_failure = Starlette(routes=[Route("/export", broken_stream)], middleware=[Middleware(PassThrough)])
#: Class 3: the route's own background work.
route_work = Starlette(routes=[Route("/signup", signup)], middleware=[Middleware(PassThrough)])
#: Class 3: background work a middleware attaches to the response from call_next.
middleware_work = Starlette(routes=[Route("/", signup)], middleware=[Middleware(AttachesWork)])

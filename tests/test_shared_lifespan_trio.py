"""The app's lifespan, started once per loop, lives until the search ends on trio too.

A lifespan written as an ``asynccontextmanager`` (Starlette's ``lifespan=``,
Litestar's ``app.lifespan()``) is an async generator first iterated during
the first case.  The trio runner closed the async generators a case left
unfinished, and so closed this one from the case's task at the end of the
first case: the app's shutdown ran early, and a task group held by the
lifespan (Litestar's event emitter) was exited from the wrong task, which
corrupted trio's run ("I/O operation on closed epoll object", the loop
thread dead, every later case an error).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import asgifuzz
from asgifuzz._config import Backend


def _app(events: list[str]) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        # A task group held open across the lifespan, as Litestar's event emitter does.
        async with anyio.create_task_group() as tg:
            tg.start_soon(anyio.sleep_forever)
            events.append("startup")
            try:
                yield {"ready": True}
            finally:
                events.append("shutdown")
                tg.cancel_scope.cancel()

    async def index(request: Request) -> PlainTextResponse:
        events.append("request" if request.state.ready and events[-1] != "shutdown" else "request after shutdown")
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/", index)], lifespan=lifespan)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_shared_lifespan_generator_lives_until_the_search_ends(backend: Backend) -> None:
    events: list[str] = []
    result = asgifuzz.fuzz(
        _app(events),
        max_examples=30,
        backend=backend,
        seed=1,
        database=None,
        target_ids=["route GET /"],
        profile="uvicorn",
    )
    assert result.findings == [] and result.notes == [], (result.findings, result.notes)
    assert result.examples >= 30
    # One startup, requests while it lives, one shutdown when the search ends.
    assert events[0] == "startup" and events[-1] == "shutdown", events
    assert set(events[1:-1]) == {"request"}, events

"""Issue 12, class 3: the app's streaming iterator must be closed when the client leaves.

A route streams from an async generator that holds a resource in a
``try``/``finally`` (or ``async with``).  When the client leaves mid-stream,
Starlette's ``StreamingResponse`` stops iterating but never closes the
generator (up to the newest release): on a server whose ``send()`` raises
once the client has gone (ASGI spec 2.4) the generator is left suspended at
its ``yield`` and its cleanup runs only when the garbage collector finalizes
it, after the request.  That is ``app-stream-left-open``,
a warning (the event loop does finalize it later: deferred, not lost).  A
response that closes its iterator, and a generator with nothing to clean up,
are clean.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.responses import StreamingResponse
from starlette.routing import Route

from asgifuzz import fuzz
from asgifuzz.checks.invariants import INVARIANTS

RELEASED: list[str] = []  # what the finally blocks released (kept for a reader stepping through)


async def rows() -> AsyncIterator[bytes]:
    try:  # a cursor, a file, an upstream stream: released in finally
        for i in range(4):
            yield b"row %d\n" % i
            await anyio.sleep(0.2)
    finally:
        RELEASED.append("cursor")


async def ticks() -> AsyncIterator[bytes]:
    for i in range(4):
        yield b"tick %d\n" % i
        await anyio.sleep(0.2)


class ClosingStreamingResponse(StreamingResponse):
    """The correct twin: closes its iterator however the response ends."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.body_iterator.aclose()  # type: ignore[attr-defined]


async def export(request: Any) -> StreamingResponse:
    return StreamingResponse(rows(), media_type="text/plain")


async def export_closing(request: Any) -> StreamingResponse:
    return ClosingStreamingResponse(rows(), media_type="text/plain")


async def clock(request: Any) -> StreamingResponse:
    return StreamingResponse(ticks(), media_type="text/plain")


def run(endpoint: Any) -> Any:
    app = Starlette(routes=[Route("/export", endpoint)])
    return fuzz(app, max_examples=200, seed=3, checks=["app-stream-left-open"], exitfirst=True, endpoints=[])


def test_a_stream_left_suspended_in_its_finally_when_the_client_leaves_is_a_warning() -> None:
    result = run(export)
    (finding,) = result.findings
    assert finding.code == "app-stream-left-open" and INVARIANTS[finding.code].severity == "warning"
    assert finding.where == "rows" and finding.case.target == "route GET /export"
    assert any(type(a).__name__ == "Disconnect" for a in finding.case.actions), finding.case  # the client left
    # Only where send() raises once the client has gone (spec 2.4): Starlette then leaves the loop at the
    # send, with the generator suspended at its yield.  Measured on uvicorn 0.28 (spec 2.4, raises) with
    # Starlette 1.10: the app ends (ClientDisconnect) before the generator's finally runs; on uvicorn 0.54
    # (spec 2.3) the cancellation lands inside the generator and its finally runs before the app ends.
    assert finding.behaviours == ["strict", "uvicorn+send-after-disconnect=raise"], finding.behaviours


def test_a_response_that_closes_its_iterator_is_clean() -> None:
    result = run(export_closing)
    assert result.findings == [] and result.examples == 200


def test_a_stream_with_nothing_to_clean_up_is_clean() -> None:
    result = run(clock)
    assert result.findings == [] and result.examples == 200

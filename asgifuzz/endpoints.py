"""Adversarial endpoints: instrumented apps that record what happens to them.

Each endpoint exists as a Starlette endpoint (used when Starlette is
installed, behind the user's middleware stack) and as a pure ASGI app (for
stacks of pure ASGI middleware).  Every endpoint reports to the run's probe
(``asgifuzz.server.probe``): the body it received and how the read ended, whether
it saw the client leave, the chunks it produced, and when its background
tasks started and finished.  The transparency oracle compares these reports
between the bare endpoint and the endpoint behind the stack.

Exceptions raised on purpose are ``PlantedError``; they are never findings
by themselves.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from asgifuzz._types import ASGIApp, Receive, Scope, Send
from asgifuzz.server.probe import PlantedError, Probe, current_probe

__all__ = ("ENDPOINTS", "Endpoint", "PlantedError", "starlette_endpoint_app")

StarletteEndpoint = Callable[[Any], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str
    description: str
    starlette: Callable[[], StarletteEndpoint]
    asgi: ASGIApp
    #: Produces a text/event-stream response (checked for timely delivery).
    sse: bool = False


# ----------------------------------------------------------- shared pieces

_FILE: list[str] = []


def _file_path() -> str:
    """A small file for FileResponse, created once per process."""
    if not _FILE:
        fd, path = tempfile.mkstemp(prefix="asgifuzz-", suffix=".txt")
        with os.fdopen(fd, "wb") as f:
            f.write(b"asgifuzz file response\n" * 8)
        _FILE.append(path)
    return _FILE[0]


async def _read_request(request: Any, probe: Probe, *, limit: int | None = None) -> None:
    from starlette.requests import ClientDisconnect

    probe.on_request_headers(request.scope.get("headers", []))
    try:
        async for chunk in request.stream():
            probe.on_body(chunk, done=False)
            if limit is not None and len(probe.body) >= limit:
                return
        probe.on_body(b"", done=True)
    except ClientDisconnect:
        probe.on_disconnect()
        raise


def _sleep(seconds: float) -> Awaitable[None]:
    import anyio

    return anyio.sleep(seconds)


async def _bg_async(name: str, delay: float, fail: bool) -> None:
    probe = current_probe()
    probe.on_background(name, "started")
    if delay:
        await _sleep(delay)
    if fail:
        probe.on_background(name, "raised")
        raise PlantedError(f"background task {name} failed on purpose")
    probe.on_background(name, "finished")


def _bg_sync(name: str, delay: float, fail: bool) -> None:
    probe = current_probe()
    probe.on_background(name, "started")
    if delay:
        time.sleep(delay)  # real time: a sync task blocks its worker thread
    if fail:
        probe.on_background(name, "raised")
        raise PlantedError(f"background task {name} failed on purpose")
    probe.on_background(name, "finished")


# ------------------------------------------------------- Starlette versions


def _st_read_all() -> StarletteEndpoint:
    async def read_all(request: Any) -> Any:
        from starlette.responses import Response

        probe = current_probe()
        probe.on_call("read_all")
        await _read_request(request, probe)
        return Response(b"read %d bytes" % len(probe.body), media_type="text/plain")

    return read_all


def _st_read_part() -> StarletteEndpoint:
    async def read_part(request: Any) -> Any:
        from starlette.responses import Response

        probe = current_probe()
        probe.on_call("read_part")
        await _read_request(request, probe, limit=1)
        return Response(b"read part", media_type="text/plain")

    return read_part


def _st_never_reads() -> StarletteEndpoint:
    async def never_reads(request: Any) -> Any:
        from starlette.responses import PlainTextResponse

        current_probe().on_call("never_reads")
        return PlainTextResponse("never read the body")

    return never_reads


def _st_sleeps() -> StarletteEndpoint:
    async def sleeps(request: Any) -> Any:
        from starlette.responses import PlainTextResponse

        current_probe().on_call("sleeps")
        await _sleep(1.5)
        return PlainTextResponse("slept")

    return sleeps


def _streaming(
    name: str, *, count: int, delay: float, fail_after: int | None, sse: bool
) -> Callable[[], StarletteEndpoint]:
    def make() -> StarletteEndpoint:
        async def stream(request: Any) -> Any:
            from starlette.responses import StreamingResponse

            probe = current_probe()
            probe.on_call(name)

            async def chunks() -> AsyncIterator[bytes]:
                for i in range(count):
                    if fail_after is not None and i == fail_after:
                        probe.on_planted(f"{name} chunk {i}")
                        raise PlantedError(f"{name} failed after {i} chunk(s) on purpose")
                    data = (b"data: event %d\n\n" % i) if sse else (b"chunk %d;" % i)
                    probe.on_chunk(data)
                    yield data
                    if delay:
                        await _sleep(delay)

            media = "text/event-stream" if sse else "text/plain"
            return StreamingResponse(chunks(), media_type=media)

        stream.__name__ = name
        return stream

    return make


def _st_background(name: str, *, sync: bool, delay: float, fail: bool) -> Callable[[], StarletteEndpoint]:
    def make() -> StarletteEndpoint:
        async def with_background(request: Any) -> Any:
            from starlette.background import BackgroundTask
            from starlette.responses import PlainTextResponse

            current_probe().on_call(name)
            fn: Callable[..., Any] = _bg_sync if sync else _bg_async
            return PlainTextResponse("background scheduled", background=BackgroundTask(fn, name, delay, fail))

        with_background.__name__ = name
        return with_background

    return make


def _st_polls_disconnect() -> StarletteEndpoint:
    async def polls_disconnect(request: Any) -> Any:
        from starlette.responses import PlainTextResponse

        probe = current_probe()
        probe.on_call("polls_disconnect")
        for _ in range(10):
            if await request.is_disconnected():
                probe.on_disconnect()
                break
            await _sleep(1.0)
        return PlainTextResponse("polled")

    return polls_disconnect


def _st_raises() -> StarletteEndpoint:
    async def raises(request: Any) -> Any:
        probe = current_probe()
        probe.on_call("raises")
        probe.on_planted("raises")
        raise PlantedError("endpoint failed on purpose before responding")

    return raises


def _st_file() -> StarletteEndpoint:
    async def file(request: Any) -> Any:
        from starlette.responses import FileResponse

        current_probe().on_call("file")
        return FileResponse(_file_path(), media_type="text/plain")

    return file


# ------------------------------------------------------- pure ASGI versions


async def _asgi_read(scope: Scope, receive: Receive, probe: Probe, *, limit: int | None = None) -> bool:
    """Read the body; False when the client disconnected first."""
    probe.on_request_headers(scope.get("headers", []))
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            probe.on_disconnect()
            return False
        body = message.get("body", b"")
        more = message.get("more_body", False)
        probe.on_body(body, done=not more)
        if not more or (limit is not None and len(probe.body) >= limit):
            return True


async def _asgi_respond(send: Send, body: bytes, content_type: bytes = b"text/plain") -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", content_type), (b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _asgi_simple(name: str, *, read: bool, delay: float = 0.0, fail: bool = False) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        probe = current_probe()
        probe.on_call(name)
        if read and not await _asgi_read(scope, receive, probe):
            return
        if delay:
            await _sleep(delay)
        if fail:
            probe.on_planted(name)
            raise PlantedError(f"{name} failed on purpose before responding")
        await _asgi_respond(send, b"read %d bytes" % len(probe.body) if read else b"ok")

    return app


def _asgi_stream(name: str, *, count: int, delay: float, fail_after: int | None, sse: bool) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        probe = current_probe()
        probe.on_call(name)
        media = b"text/event-stream" if sse else b"text/plain"
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", media)]})
        for i in range(count):
            if fail_after is not None and i == fail_after:
                probe.on_planted(f"{name} chunk {i}")
                raise PlantedError(f"{name} failed after {i} chunk(s) on purpose")
            data = (b"data: event %d\n\n" % i) if sse else (b"chunk %d;" % i)
            probe.on_chunk(data)
            await send({"type": "http.response.body", "body": data, "more_body": True})
            if delay:
                await _sleep(delay)
        await send({"type": "http.response.body", "body": b""})

    return app


def _asgi_background(name: str, *, delay: float, fail: bool) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        current_probe().on_call(name)
        await _asgi_respond(send, b"background scheduled")
        await _bg_async(name, delay, fail)

    return app


async def _asgi_polls(scope: Scope, receive: Receive, send: Send) -> None:
    probe = current_probe()
    probe.on_call("polls_disconnect")
    if await _asgi_read(scope, receive, probe):
        import anyio

        with anyio.move_on_after(10):
            message = await receive()
            if message["type"] == "http.disconnect":
                probe.on_disconnect()
    await _asgi_respond(send, b"polled")


async def _asgi_file(scope: Scope, receive: Receive, send: Send) -> None:
    current_probe().on_call("file")
    path = _file_path()
    size = os.path.getsize(path)  # noqa: ASYNC240 - a tiny local file
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % size)]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if "http.response.pathsend" in (scope.get("extensions") or {}):
        await send({"type": "http.response.pathsend", "path": path})
        return
    with open(path, "rb") as f:  # noqa: ASYNC230 - tiny file, keeps the endpoint dependency-free
        await send({"type": "http.response.body", "body": f.read()})


def _ep(
    name: str, description: str, starlette: Callable[[], StarletteEndpoint], asgi: ASGIApp, *, sse: bool = False
) -> Endpoint:
    return Endpoint(name, description, starlette, asgi, sse)


ENDPOINTS: dict[str, Endpoint] = {
    e.name: e
    for e in (
        _ep("read_all", "reads the whole body, then answers", _st_read_all, _asgi_simple("read_all", read=True)),
        _ep(
            "read_part", "reads the first chunk only, then answers", _st_read_part, _asgi_simple("read_part", read=True)
        ),
        _ep(
            "never_reads", "answers without reading the body", _st_never_reads, _asgi_simple("never_reads", read=False)
        ),
        _ep("sleeps", "sleeps 1.5s, then answers", _st_sleeps, _asgi_simple("sleeps", read=False, delay=1.5)),
        _ep(
            "stream_fast",
            "StreamingResponse of 3 chunks",
            _streaming("stream_fast", count=3, delay=0, fail_after=None, sse=False),
            _asgi_stream("stream_fast", count=3, delay=0, fail_after=None, sse=False),
        ),
        _ep(
            "stream_slow",
            "StreamingResponse of 4 chunks, 1s apart",
            _streaming("stream_slow", count=4, delay=1.0, fail_after=None, sse=False),
            _asgi_stream("stream_slow", count=4, delay=1.0, fail_after=None, sse=False),
        ),
        _ep(
            "stream_then_raise",
            "streams one chunk, then raises",
            _streaming("stream_then_raise", count=3, delay=0, fail_after=1, sse=False),
            _asgi_stream("stream_then_raise", count=3, delay=0, fail_after=1, sse=False),
        ),
        _ep(
            "sse",
            "server-sent events, 4 events 1s apart",
            _streaming("sse", count=4, delay=1.0, fail_after=None, sse=True),
            _asgi_stream("sse", count=4, delay=1.0, fail_after=None, sse=True),
            sse=True,
        ),
        _ep(
            "background_async",
            "answers, then runs a fast async background task",
            _st_background("background_async", sync=False, delay=0, fail=False),
            _asgi_background("background_async", delay=0, fail=False),
        ),
        _ep(
            "background_async_slow",
            "answers, then runs an async background task that sleeps 5s",
            _st_background("background_async_slow", sync=False, delay=5.0, fail=False),
            _asgi_background("background_async_slow", delay=5.0, fail=False),
        ),
        _ep(
            "background_async_raises",
            "answers, then runs an async background task that raises",
            _st_background("background_async_raises", sync=False, delay=0, fail=True),
            _asgi_background("background_async_raises", delay=0, fail=True),
        ),
        _ep(
            "background_sync",
            "answers, then runs a fast sync background task (worker thread)",
            _st_background("background_sync", sync=True, delay=0, fail=False),
            _asgi_background("background_sync", delay=0, fail=False),
        ),
        _ep(
            "background_sync_slow",
            "answers, then runs a sync background task that blocks 2ms (worker thread)",
            _st_background("background_sync_slow", sync=True, delay=0.002, fail=False),
            _asgi_background("background_sync_slow", delay=0.002, fail=False),
        ),
        _ep(
            "background_sync_raises",
            "answers, then runs a sync background task that raises",
            _st_background("background_sync_raises", sync=True, delay=0, fail=True),
            _asgi_background("background_sync_raises", delay=0, fail=True),
        ),
        _ep(
            "polls_disconnect",
            "polls request.is_disconnected() every second for 10s, then answers",
            _st_polls_disconnect,
            _asgi_polls,
        ),
        _ep("raises", "raises before responding", _st_raises, _asgi_simple("raises", read=False, fail=True)),
        _ep("file", "FileResponse (uses http.response.pathsend when advertised)", _st_file, _asgi_file),
    )
}


def endpoint_router(endpoint: Endpoint) -> ASGIApp:
    """A Starlette router serving ``endpoint`` at ``/`` (to sit inside the user's own stack)."""
    from starlette.routing import Route, Router

    return Router(routes=[Route("/", endpoint.starlette(), methods=["GET", "POST", "PUT"])])


def starlette_endpoint_app(endpoint: Endpoint, middleware: list[Any] | None = None) -> ASGIApp:
    """A Starlette app serving ``endpoint`` at ``/`` behind ``middleware``."""
    from starlette.applications import Starlette
    from starlette.routing import Route

    route = Route("/", endpoint.starlette(), methods=["GET", "POST", "PUT"])
    if middleware:
        return Starlette(routes=[route], middleware=list(middleware))
    return Starlette(routes=[route])

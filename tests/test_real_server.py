"""Findings on the newest Starlette, confirmed against a real server.

asgifuzz reports ``disconnect-hidden`` for BaseHTTPMiddleware in the newest
Starlette: behind it, ``request.is_disconnected()`` never becomes true (known
upstream: encode/starlette discussion #2094; vllm-project/vllm#10087).  Here
the same endpoint runs under uvicorn on loopback and a raw socket client
leaves before the response: bare, the endpoint notices; behind one
BaseHTTPMiddleware it polls to the end.  A pure-ASGI middleware stays
transparent under both uvicorn and asgifuzz.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import pytest

import asgifuzz

# A real uvicorn server on loopback, and fuzz runs of 300 examples on a Starlette stack.
pytestmark = pytest.mark.slow

uvicorn = pytest.importorskip("uvicorn")
pytest.importorskip("starlette")

from seedapp import PassThrough  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402
from starlette.responses import PlainTextResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

POLLS = 10
POLL_EVERY = 0.2


class PureASGIPassThrough:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def make_app(middleware: list[Middleware], seen: dict[str, Any]) -> Starlette:
    async def poll(request: Any) -> PlainTextResponse:
        await request.body()
        seen["noticed_after"] = None
        for i in range(POLLS):
            if await request.is_disconnected():
                seen["noticed_after"] = i
                break
            await anyio.sleep(POLL_EVERY)
        seen["done"] = True
        return PlainTextResponse("polled")

    return Starlette(routes=[Route("/", poll, methods=["POST"])], middleware=middleware)


@contextmanager
def serving(app: Any) -> Iterator[int]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)


def noticed_under_uvicorn(middleware: list[Middleware]) -> Any:
    """Send a whole request, close the socket, report when the endpoint noticed."""
    seen: dict[str, Any] = {}
    with serving(make_app(middleware, seen)) as port:
        client = socket.create_connection(("127.0.0.1", port))
        client.sendall(b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nhello")
        time.sleep(POLL_EVERY)
        client.close()
        deadline = time.monotonic() + POLLS * POLL_EVERY + 5
        while not seen.get("done"):
            assert time.monotonic() < deadline, "the endpoint never finished"
            time.sleep(0.02)
    return seen["noticed_after"]


def fuzz_codes(middleware: list[Middleware], backend: str) -> set[str]:
    app = make_app(middleware, {})
    result = asgifuzz.fuzz(app, seed=1, max_examples=300, backend=backend, checks=["disconnect-hidden"])
    return {f.code for f in result.findings}


def test_uvicorn_bare_endpoint_notices_the_disconnect() -> None:
    assert noticed_under_uvicorn([]) is not None


def test_uvicorn_behind_base_http_middleware_never_notices() -> None:
    assert noticed_under_uvicorn([Middleware(PassThrough)]) is None


def test_uvicorn_behind_pure_asgi_middleware_notices() -> None:
    assert noticed_under_uvicorn([Middleware(PureASGIPassThrough)]) is not None


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_asgifuzz_agrees_with_uvicorn(backend: str) -> None:
    assert fuzz_codes([Middleware(PassThrough)], backend) == {"disconnect-hidden"}
    assert fuzz_codes([Middleware(PureASGIPassThrough)], backend) == set()

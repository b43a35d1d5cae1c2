"""The chunking oracle (``response-depends-on-chunking``): buggy middleware found, correct twins clean."""

from __future__ import annotations

import os
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from asgifuzz import fuzz
from asgifuzz._case import Advance, Case, Chunk, Disconnect, Run
from asgifuzz._types import Receive, Scope, Send
from asgifuzz.checks.chunking import differences, varying_headers
from asgifuzz.chunking import pieces
from asgifuzz.server.http import ClientView


async def echo(request: Request) -> PlainTextResponse:
    body = await request.body()
    return PlainTextResponse(f"{len(body)}:{body.hex()}")


async def token(request: Request) -> PlainTextResponse:
    await request.body()
    return PlainTextResponse(os.urandom(4).hex())  # another answer every time


class PassThrough:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class FirstChunkOnly(PassThrough):
    """Reads the first body message and hands it on as the whole body (more_body dropped)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        first = await receive()
        if first["type"] == "http.request":
            first = {**first, "more_body": False}
        given = [False]

        async def replay() -> Any:
            if not given[0]:
                given[0] = True
                return first
            return await receive()

        await self.app(scope, replay, send)


def app(middleware: Any, endpoint: Any = echo) -> Starlette:
    return Starlette(routes=[Route("/echo", endpoint, methods=["POST"])], middleware=[Middleware(middleware)])


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_middleware_that_reads_only_the_first_chunk_is_found(backend: str) -> None:
    result = fuzz(
        app(FirstChunkOnly),
        max_examples=300,
        seed=5,
        backend=backend,
        checks=["response-depends-on-chunking"],
        exitfirst=True,
        endpoints=[],
    )
    (finding,) = result.findings
    assert finding.code == "response-depends-on-chunking" and finding.case is not None
    assert finding.case.target == "route POST /echo"
    assert "than in one chunk: body" in finding.message
    assert len(finding.case.body) == 2 and pieces(finding.case)[0] == 2  # shrunk: two bytes, two pieces
    assert "came in 2 piece(s)" in finding.message


def test_the_correct_twin_stays_clean() -> None:
    result = fuzz(app(PassThrough), max_examples=300, seed=5, checks=["response-depends-on-chunking"], endpoints=[])
    assert result.findings == []


def test_a_route_that_answers_at_random_is_skipped_and_the_coverage_says_so() -> None:
    from asgifuzz._config import Settings
    from asgifuzz.report.base import Coverage, RunReport
    from asgifuzz.report.json import report_to_json

    result = fuzz(app(PassThrough, token), max_examples=200, seed=5, checks=["response-depends-on-chunking"], endpoints=[])
    assert result.findings == []
    assert any("route POST /echo answered the same request in two ways by itself" in n for n in result.notes)
    report = RunReport(
        findings=[], target="t", seed=5, examples=200, elapsed=1.0, settings=Settings(), coverage=Coverage.of(result.stats)
    )
    (row,) = [r for r in report_to_json(report)["coverage"]["routes"] if r["target"] == "route POST /echo"]
    assert row["chunking"].startswith("skipped in ") and "skipped:nondeterministic" not in row["statuses"]


def _view(status: int, body: bytes, *headers: tuple[bytes, bytes]) -> ClientView:
    return ClientView(status=status, headers=list(headers), chunks=[(1, body)], start_seq=0, complete_seq=2)


def test_dates_ids_and_varying_headers_are_not_compared() -> None:
    a = _view(200, b"x", (b"date", b"Mon"), (b"x-request-id", b"1"), (b"x-build", b"a"))
    b = _view(200, b"x", (b"Date", b"Tue"), (b"x-request-id", b"2"), (b"x-build", b"b"))
    assert differences(a, b) == ["headers differ (+x-build: a; -x-build: b)"]
    assert varying_headers(a, b) == {b"date", b"x-request-id", b"x-build"}
    assert differences(a, b, varying_headers(a, b)) == []
    assert differences(_view(400, b"x"), _view(200, b"xy")) == [
        "status 400 instead of 200",
        "body b'x' (1 byte(s)) instead of b'xy' (2 byte(s))",
    ]


def test_pieces_counts_what_the_client_sent_and_its_pauses() -> None:
    scope: dict[str, Any] = {"type": "http"}
    assert pieces(Case(target="t", scope=scope, body=b"abcd", actions=())) == (1, False)
    assert pieces(Case(target="t", scope=scope, body=b"abcd", actions=(Chunk(1),))) == (2, False)
    assert pieces(Case(target="t", scope=scope, body=b"abcd", actions=(Chunk(4),))) == (1, False)
    assert pieces(Case(target="t", scope=scope, body=b"abcd", actions=(Run(None), Chunk(4)))) == (1, True)
    assert pieces(Case(target="t", scope=scope, body=b"abcd", actions=(Chunk(4), Advance(1.0)))) == (1, False)
    assert pieces(Case(target="t", scope=scope, body=b"ab", actions=(Chunk(1), Disconnect()))) == (2, False)


def test_a_route_with_state_answers_by_what_came_before_not_by_chunking() -> None:
    """fastapi-cache2 answers MISS then HIT, asgi-ratelimit 200 then 429: the chunked request ran first.

    Reported as response-depends-on-chunking (uvicorn shows the same order
    dependence whatever the chunking: a false positive, triage).
    """
    seen: set[str] = set()

    async def item(request: Request) -> PlainTextResponse:
        await request.body()
        hit = str(request.url) in seen
        seen.add(str(request.url))
        return PlainTextResponse("item", headers={"x-cache": "HIT" if hit else "MISS"})

    app = Starlette(routes=[Route("/items/{id:int}", item, methods=["GET", "POST"])])
    result = fuzz(app, max_examples=300, seed=1, backend="asyncio", lifespan="off")
    assert [f.code for f in result.findings] == []

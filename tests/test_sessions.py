"""Sessions: several connections per example on one app instance, and the isolation oracle."""

from __future__ import annotations

import asyncio
import contextvars
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from asgifuzz import fuzz, run_case
from asgifuzz._case import Case, Chunk, Later, Run, case_from_json, case_to_json
from asgifuzz._config import Backend

BACKENDS: list[Backend] = ["asyncio", "trio"]


class PathOnSelf:
    """Keeps the request's path on ``self`` (one instance serves every connection) and
    uses it when the response starts: a concurrent request overwrites it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.path = ""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.path = scope["path"]

        async def send_with_path(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"x-path", self.path.encode())]}
            await send(message)

        await self.app(scope, receive, send_with_path)


class PathInLocals:
    """The correct twin: the path lives in the call's own locals."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]

        async def send_with_path(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"x-path", path.encode())]}
            await send(message)

        await self.app(scope, receive, send_with_path)


async def item(request: Request) -> PlainTextResponse:
    body = await request.body()
    return PlainTextResponse(f"{request.path_params['name']}:{len(body)}")


def _app(middleware: type) -> Starlette:
    return Starlette(
        routes=[Route("/items/{name}", item, methods=["GET", "POST"])],
        middleware=[Middleware(middleware)],  # type: ignore[arg-type]
    )


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_per_request_state_on_self_is_found_with_two_overlapping_connections(backend: Backend) -> None:
    # The default settings (one example in four is a session of 2-3 connections), on the app's own route.
    result = fuzz(_app(PathOnSelf), max_examples=1000, seed=2, backends=(backend,), exitfirst=True, routes=["/items/*"])
    # The app's own route (the stack targets in front of asgifuzz's endpoints are judged elsewhere).
    found = [
        f for f in result.findings if f.code == "connection-isolation" and f.case and f.case.target.startswith("route")
    ]
    assert found, [f.code for f in result.findings]
    case = found[0].case
    assert case is not None
    assert len(case.session) == 1  # shrunk to two connections
    assert case.session[0].during is not None  # the second arrives while the first is in flight
    assert "x-path" in found[0].message
    details = " ".join(e.detail for e in found[0].trace)
    assert "[connection 1]" in details and "[connection 2]" in details  # the report shows both


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_the_correct_twin_is_clean(backend: Backend) -> None:
    result = fuzz(_app(PathInLocals), max_examples=1000, seed=2, backends=(backend,))
    assert result.findings == []
    assert result.stats.connections > result.examples * 1.2  # sessions ran


current_user: contextvars.ContextVar[str] = contextvars.ContextVar("current_user", default="anonymous")
_one_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="leaky")


def _who_and_remember(user: str) -> str:
    # run_in_executor runs this in the pool thread's own context, which outlives the request
    seen = current_user.get()
    current_user.set(user)
    return seen


async def leaky(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        raise RuntimeError("http only")
    while True:
        message = await receive()
        if message["type"] == "http.disconnect" or not message.get("more_body"):
            break
    seen = await asyncio.get_running_loop().run_in_executor(_one_thread, _who_and_remember, scope["path"])
    body = f"hello {seen}".encode()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body)).encode())]}
    )
    await send({"type": "http.response.body", "body": body})


@pytest.mark.slow
def test_a_context_variable_leaking_between_sequential_requests_is_found() -> None:
    result = fuzz(
        leaky, max_examples=1000, seed=1, backends=("asyncio",), checks=["connection-isolation"], exitfirst=True
    )
    found = [f for f in result.findings if f.code == "connection-isolation"]
    assert found, [f.code for f in result.findings]
    case = found[0].case
    assert case is not None and len(case.session) == 1


SCOPE: dict[str, Any] = {
    "type": "http",
    "http_version": "1.1",
    "method": "POST",
    "scheme": "http",
    "path": "/items/a",
    "raw_path": b"/items/a",
    "query_string": b"",
    "root_path": "",
    "headers": [(b"host", b"testserver"), (b"content-length", b"2")],
    "client": ("127.0.0.1", 1),
    "server": ("127.0.0.1", 80),
}


def test_a_session_case_round_trips_and_a_single_connection_case_keeps_its_json() -> None:
    single = Case(target="t", scope=SCOPE, body=b"ab", actions=(Chunk(1), Run()))
    assert "session" not in case_to_json(single)
    assert case_from_json(case_to_json(single)) == single
    later = Later(scope={**SCOPE, "path": "/items/b", "raw_path": b"/items/b"}, body=b"cd", actions=(Run(),), during=1)
    session = Case(target="t", scope=SCOPE, body=b"ab", actions=(Chunk(1), Run()), session=(later,))
    assert case_from_json(case_to_json(session)) == session


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_replayed_session_gives_each_connection_its_own_response(backend: Backend) -> None:
    later = Later(scope={**SCOPE, "path": "/items/b", "raw_path": b"/items/b"}, body=b"cd", actions=(), during=1)
    case = Case(target="t", scope=SCOPE, body=b"ab", actions=(Chunk(1), Run()), session=(later,), backend=backend)
    broken = run_case(_app(PathOnSelf), case)
    assert [dict(o.response.headers)[b"x-path"] for o in [broken, *broken.session]] == [b"/items/b", b"/items/b"]
    twin = run_case(_app(PathInLocals), case)
    assert [o.response.body for o in [twin, *twin.session]] == [b"a:2", b"b:2"]
    assert [dict(o.response.headers)[b"x-path"] for o in [twin, *twin.session]] == [b"/items/a", b"/items/b"]


def test_connections_1_turns_sessions_off_and_a_single_connection_bug_stays_single() -> None:
    off = fuzz(_app(PathOnSelf), max_examples=300, seed=2, connections=1)
    assert off.findings == [] and off.stats.connections == off.examples
    import apps

    # A bug of one connection, found in a session or not, is reported as one connection.
    result = fuzz(apps.raises_on_disconnect, max_examples=300, seed=3)
    assert [f.code for f in result.findings] == ["exception-on-disconnect"]
    case = result.findings[0].case
    assert case is not None and case.session == ()


def test_the_connections_knob_is_checked() -> None:
    from asgifuzz import UsageError
    from asgifuzz._config import Settings

    assert Settings().max_connections == 3
    assert Settings.create(connections=5).max_connections == 5
    with pytest.raises(UsageError, match="connections=0 must be at least 1"):
        Settings.create(connections=0)


def test_connections_from_the_command_line_and_the_project(tmp_path: Path) -> None:
    from asgifuzz import UsageError
    from asgifuzz._project import validate
    from asgifuzz.cli import build_parser

    assert validate({"connections": 2}, path=tmp_path / "pyproject.toml").get("connections") == 2
    with pytest.raises(UsageError, match="connections = 0: expected a positive integer"):
        validate({"connections": 0}, path=tmp_path / "pyproject.toml")
    args = build_parser().parse_args(["run", "app:app", "--connections", "1"])
    assert args.connections == 1

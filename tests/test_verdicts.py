"""Verdicts you can trust: causes by counterfactual, deadlocks, and a server no stricter than the real one."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from apps import http_only

from asgifuzz import fuzz, run_case
from asgifuzz._case import Case, Chunk, Disconnect, Run
from asgifuzz._config import Backend
from asgifuzz._types import Receive, Scope, Send

BACKENDS = ["asyncio", "trio"]
POST: dict[str, Any] = {
    "type": "http",
    "http_version": "1.1",
    "method": "POST",
    "scheme": "http",
    "path": "/",
    "raw_path": b"/",
    "query_string": b"",
    "root_path": "",
    "headers": [(b"host", b"testserver"), (b"content-length", b"5")],
    "client": ("127.0.0.1", 1),
    "server": ("127.0.0.1", 80),
}


async def _ok(send: Send, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": headers or []})
    await send({"type": "http.response.body", "body": b"ok"})


@http_only
async def always_raises(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    raise ValueError("this route always raises")


@http_only
async def receives_twice(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads one event, then asks again before answering (the planted deadlock)."""
    await receive()
    await receive()
    await _ok(send)


@http_only
async def upper_case_header(scope: Scope, receive: Receive, send: Send) -> None:
    while (await receive()).get("more_body"):
        pass
    await _ok(send, [(b"X-Request-Id", b"1")])


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_route_that_always_raises_is_app_raised_only_not_blamed_on_the_disconnect(backend: str) -> None:
    result = fuzz(always_raises, max_examples=200, seed=3, backend=backend)
    assert {f.code for f in result.findings} == {"app-raised"}


def test_an_excluded_invariant_is_not_reported_after_the_counterfactual_renames_a_finding() -> None:
    # The disconnect did not cause the exception: renamed app-raised, which the user excluded.
    result = fuzz(always_raises, max_examples=200, seed=3, checks=["-app-raised"])
    assert result.findings == [], [(f.code, f.message) for f in result.findings]


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_counterfactual_keeps_exception_on_disconnect_when_the_disconnect_caused_it(backend: str) -> None:
    import apps

    result = fuzz(apps.raises_on_disconnect, max_examples=200, seed=3, backend=backend)
    assert [f.code for f in result.findings] == ["exception-on-disconnect"]
    case = result.findings[0].case
    assert case is not None and any(isinstance(a, Disconnect) for a in case.actions)


@pytest.mark.parametrize("backend", BACKENDS)
def test_receive_after_the_final_body_is_a_deadlock_under_uvicorn(backend: Backend) -> None:
    case = Case(target="app", scope=POST, body=b"hello", actions=(Chunk(5), Run()), backend=backend)
    out = run_case(receives_twice, case)
    assert [f.code for f in out.findings] == ["request-deadlock"]
    assert "called receive() again" in out.findings[0].message
    lines, start = inspect.getsourcelines(receives_twice.__wrapped__)
    second_receive = start + max(i for i, line in enumerate(lines) if "await receive()" in line)
    assert out.findings[0].where.endswith(f"test_verdicts.py:{second_receive}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_same_app_is_not_a_deadlock_under_hypercorn_whose_body_ends_with_an_empty_event(backend: Backend) -> None:
    case = Case(
        target="app", scope=POST, body=b"hello", actions=(Chunk(5), Run()), backend=backend, profile="hypercorn"
    )
    out = run_case(receives_twice, case)
    assert out.findings == []
    assert out.response.complete


def test_a_request_without_a_body_gets_its_final_event_at_once_under_queue_profiles() -> None:
    @http_only
    async def reads_then_answers(scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        assert message == {"type": "http.request", "body": b"", "more_body": False}
        await _ok(send)

    for profile in ("hypercorn", "daphne"):
        out = run_case(reads_then_answers, Case(target="app", scope=POST, body=b"", actions=(), profile=profile))
        assert out.findings == [] and out.response.complete, profile


def test_an_upper_case_header_name_is_a_warning_passed_on_as_uvicorn_does() -> None:
    out = run_case(upper_case_header, Case(target="app", scope=POST, body=b"hello", actions=()))
    assert [(f.code, f.severity) for f in out.findings] == [("header-name-case", "warning")]
    assert out.app_end == "returned" and out.response.complete
    assert out.response.header(b"x-request-id") == b"1"


def test_the_strict_profile_sends_an_upper_case_header_name_on_as_every_real_server_does() -> None:
    # It rejects what some real server rejects, never more (rejecting this lost responses "under strict").
    out = run_case(upper_case_header, Case(target="app", scope=POST, body=b"hello", actions=(), profile="strict"))
    assert "header-name-case" in [f.code for f in out.findings]
    assert out.app_end == "returned" and out.response.complete


def test_turning_a_check_off_changes_what_is_reported_never_how_the_server_behaves() -> None:
    on = fuzz(upper_case_header, max_examples=50, seed=1)
    off = fuzz(upper_case_header, max_examples=50, seed=1, checks=["-header-name-case"])
    assert [f.code for f in on.findings] == ["header-name-case"]
    assert off.findings == []


def _error_envelope(*, after_start: bool) -> Any:
    """An error middleware that logs the exception and answers a JSON 500; ``after_start``: even mid-response."""
    import logging

    class ErrorEnvelope:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await self.app(scope, receive, send)
                return
            started = False

            async def tracking(message: Any) -> None:
                nonlocal started
                started = started or message["type"] == "http.response.start"
                await send(message)

            try:
                await self.app(scope, receive, tracking)
            except Exception:
                logging.getLogger("error-envelope").exception("request failed")
                if started and not after_start:
                    raise
                await send({"type": "http.response.start", "status": 500, "headers": []})
                await send({"type": "http.response.body", "body": b'{"error": "internal"}'})

    return ErrorEnvelope


def _app_with(middleware: Any) -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def broken(request: Request) -> PlainTextResponse:
        raise ValueError("a bug in the route")

    return Starlette(routes=[Route("/broken", broken)], middleware=[Middleware(middleware)])


def test_an_error_middleware_that_logs_and_answers_500_is_a_warning_only() -> None:
    result = fuzz(_app_with(_error_envelope(after_start=False)), max_examples=400, seed=2)
    assert result.findings
    assert {f.severity for f in result.findings} == {"warning"}, [(f.code, f.message) for f in result.findings]
    assert "server-error" in {f.code for f in result.findings}
    server_error = next(f for f in result.findings if f.code == "server-error")
    assert "ValueError: a bug in the route" in server_error.message


def test_an_error_middleware_that_sends_500_after_the_response_started_is_an_error() -> None:
    result = fuzz(_app_with(_error_envelope(after_start=True)), max_examples=400, seed=2)
    errors = {f.code for f in result.findings if f.severity == "error"}
    assert "duplicate-response-start" in errors, [(f.code, f.message) for f in result.findings]


def test_one_middleware_bug_seen_through_many_endpoints_is_one_grouped_report() -> None:
    from asgifuzz._finding import group_findings

    def raises_when_the_client_leaves(app: Any) -> Any:
        async def mw(scope: Scope, receive: Receive, send: Send) -> None:
            async def wrapped() -> Any:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise RuntimeError("client left")  # the one bug
                return message

            await app(scope, wrapped, send)

        return mw

    result = fuzz(middleware=[raises_when_the_client_leaves], max_examples=600, seed=4)
    raw = [f for f in result.findings if f.code == "exception-on-disconnect"]
    assert len({f.case.target for f in raw if f.case is not None}) >= 2, [(f.code, f.key) for f in result.findings]
    grouped = group_findings(raw)
    assert len(grouped) == 1
    assert len(grouped[0].also) == len(raw) - 1
    assert grouped[0].where.endswith(f"test_verdicts.py:{inspect.getsourcelines(raises_when_the_client_leaves)[1] + 5}")


def test_what_happened_is_generated_from_the_trace_of_the_case() -> None:
    import apps

    from asgifuzz.report.text import what_happened

    result = fuzz(apps.raises_on_disconnect, max_examples=100, seed=1)
    sentence = what_happened(result.findings[0])
    assert "disconnected at t=" in sentence and "the app raised RuntimeError: client went away" in sentence
    assert "no response had started" in sentence


def test_the_trace_shows_the_layer_that_altered_a_message_and_a_spin_on_disconnect_is_a_hang() -> None:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware

    from asgifuzz._finding import group_findings
    from asgifuzz.report.text import render_trace

    class DisconnectToEmptyRequest:
        """Turns http.disconnect into an empty complete request (a real class of middleware bug)."""

        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await self.app(scope, receive, send)
                return

            async def wrapped() -> Any:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return {"type": "http.request", "body": b"", "more_body": False}
                return message

            await self.app(scope, wrapped, send)

    app = Starlette(middleware=[Middleware(DisconnectToEmptyRequest)])
    result = fuzz(app, max_examples=300, seed=1, endpoints=["file", "stream_slow", "polls_disconnect"])
    hangs = [f for f in result.findings if f.code == "app-hang"]
    assert hangs, [(f.code, f.message) for f in result.findings]
    assert "receive() 1000 times after 'http.disconnect' without ever blocking" in hangs[0].message
    assert len(group_findings(hangs)) == 1
    lines = "\n".join(render_trace(hangs[0].trace))
    assert "{'http.disconnect'}" in lines
    assert "{'http.request', body=b'', more_body=False}  (received by layer" in lines

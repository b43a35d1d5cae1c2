"""Issue 12's oracles on hand-written middleware: each buggy one is found, its correct twin stays clean.

The apps are the user's own Starlette routes (``recallapps``) behind a pure
ASGI middleware written here; the real releases that had each bug are in
``tests/test_recall_releases.py``.
"""

from __future__ import annotations

import contextlib
from typing import Any

import anyio
import pytest
import recallapps
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from asgifuzz import fuzz
from asgifuzz._types import Receive, Scope, Send


class PassThrough:
    """The correct twin of every middleware below."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class SwallowsLateErrors(PassThrough):
    """Class 1: once the response is complete, an exception is 'harmless' and dropped."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        done = [False]

        async def watch(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                done[0] = True

        try:
            await self.app(scope, receive, watch)
        except Exception:
            if not done[0]:
                raise


class EndsBrokenStreams(PassThrough):
    """Class 2: a stream that fails is closed 'politely' with more_body=False."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = {"started": False, "done": False}

        async def watch(message: Any) -> None:
            state["started"] = state["started"] or message["type"] == "http.response.start"
            state["done"] = message["type"] == "http.response.body" and not message.get("more_body", False)
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            if not state["started"]:
                raise
            if not state["done"]:
                await send({"type": "http.response.body", "body": b"", "more_body": False})


class CancelsAfterResponse(PassThrough):
    """Class 3: stops the app as soon as the response is complete (its background work too)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        async with anyio.create_task_group() as tg:

            async def watch(message: Any) -> None:
                await send(message)
                if message["type"] == "http.response.body" and not message.get("more_body", False):
                    tg.cancel_scope.cancel()

            await self.app(scope, receive, watch)


class HoldsUntilReturn(PassThrough):
    """Class 3: holds the response until the app returns (after its background work)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: list[Any] = []

        async def hold(message: Any) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        for message in held:
            await send(message)


def user_app(route: Route, middleware: Any) -> Starlette:
    return Starlette(routes=[route], middleware=[Middleware(middleware)])


REPORT = Route("/report", recallapps.report)
EXPORT = Route("/export", recallapps.broken_stream)
SIGNUP = Route("/signup", recallapps.signup)

BUGS = {
    "class 1: late exception swallowed": (REPORT, SwallowsLateErrors, "exception-swallowed", "ValueError"),
    "class 2: broken stream completed": (EXPORT, EndsBrokenStreams, "truncated-response-completed", "broke off"),
    "class 2: stream error swallowed": (EXPORT, EndsBrokenStreams, "exception-swallowed", "ConnectionError"),
    "class 3: background work cancelled": (SIGNUP, CancelsAfterResponse, "app-background-task-lost", "send_email"),
    "class 3: client waits for the work": (
        SIGNUP,
        HoldsUntilReturn,
        "app-background-task-before-response",
        "send_email",
    ),
}


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("bug", sorted(BUGS))
def test_the_buggy_middleware_is_found(bug: str, backend: str) -> None:
    route, middleware, code, text = BUGS[bug]
    # The user's own route alone: the planted endpoints show the same bugs, and the dealer may reach them first.
    target = f"route GET {route.path}"
    result = fuzz(
        user_app(route, middleware), max_examples=150, seed=3, backend=backend, checks=[code], exitfirst=True,
        target_ids=[target],
    )  # fmt: skip
    assert [f.code for f in result.findings] == [code], bug
    (finding,) = result.findings
    assert finding.case is not None and finding.case.target == target
    assert text in finding.message
    assert finding.case.message_count <= 1  # shrunk: the request alone shows it


@pytest.mark.parametrize("route", [REPORT, EXPORT, SIGNUP], ids=lambda r: r.path)
def test_the_correct_twin_stays_clean(route: Route) -> None:
    codes = sorted({c for _, _, c, _ in BUGS.values()})
    result = fuzz(user_app(route, PassThrough), max_examples=150, seed=3, checks=codes)
    assert result.findings == [], [(f.code, f.message) for f in result.findings]


def test_a_task_the_middleware_attaches_is_watched_and_the_patch_is_gone_after_the_run() -> None:
    from starlette.background import BackgroundTask
    from starlette.responses import Response

    before = (BackgroundTask.__call__, Response.__call__)
    result = fuzz(recallapps.middleware_work, max_examples=60, seed=3, checks=["app-background-task-lost"])
    assert result.findings == []  # newest Starlette runs it
    assert (BackgroundTask.__call__, Response.__call__) == before


def test_a_middleware_that_answers_by_itself_is_not_blamed_for_the_bare_route_failure() -> None:
    class AnswersItself(PassThrough):
        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await self.app(scope, receive, send)
                return
            with contextlib.suppress(Exception):
                await send({"type": "http.response.start", "status": 401, "headers": []})
                await send({"type": "http.response.body", "body": b"no"})

    result = fuzz(user_app(REPORT, AnswersItself), max_examples=60, seed=3, checks=["exception-swallowed"])
    assert result.findings == []


def test_confirm_judges_a_completed_truncated_response_by_the_client_and_the_log() -> None:
    from asgifuzz.confirm._client import ClientView
    from asgifuzz.confirm._rules import Evidence, judge

    log = ("ERROR:    Exception in ASGI application", "Traceback (most recent call last):", "ValueError: boom")
    whole = ClientView(status=200, body=b"row 1\n", complete=True)
    broken = ClientView(status=200, body=b"row 1\n", complete=False, server_closed=True)
    assert judge("truncated-response-completed", Evidence(whole, log))[0] == "reproduced"
    assert judge("truncated-response-completed", Evidence(broken, log))[0] == "not-reproduced"
    assert judge("truncated-response-completed", Evidence(whole, ()))[0] == "undecided"


def test_a_difference_that_comes_with_a_finding_of_the_route_itself_is_reported_too() -> None:
    # The route raises with or without the middleware (app-raised on both sides); what the stack
    # changed (the broken stream looks complete) leads, and both are reported.
    result = fuzz(recallapps.stream_failure, max_examples=200, seed=3, endpoints=[])
    assert {f.code for f in result.findings} >= {"app-raised", "truncated-response-completed"}

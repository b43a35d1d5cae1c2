"""Each invariant catches a hand-written broken app (and only the intended one leads)."""

from __future__ import annotations

from typing import Any

import apps
import pytest
from test_lifespan import LIFESPAN_CASES
from test_websocket import WEBSOCKET_CASES

from asgifuzz import INVARIANTS, fuzz, replay
from asgifuzz._case import describe_action
from asgifuzz.report.text import render_finding

PROTOCOL_CASES: dict[str, tuple[Any, dict[str, Any]]] = {
    "invalid-message": (apps.not_a_dict, {}),
    "unknown-message-type": (apps.unknown_type, {}),
    "body-before-response-start": (apps.body_first, {}),
    "duplicate-response-start": (apps.double_start, {}),
    "message-after-response-complete": (apps.after_complete, {}),
    "extension-misuse": (apps.trailers_unannounced, {}),
    "invalid-status": (apps.bad_status, {}),
    "invalid-body": (apps.str_body, {}),
    "invalid-headers": (apps.str_headers, {}),
    "content-length-mismatch": (apps.wrong_length, {}),
    "body-forbidden": (apps.body_204, {}),
    "response-incomplete": (apps.no_response, {}),
    "exception-on-disconnect": (apps.raises_on_disconnect, {}),
    "app-raised": (apps.raises, {}),
    "app-hang": (apps.hangs, {}),
    "task-leak": (apps.leaks_task, {}),
    "returned-non-none": (apps.returns_value, {}),
    "receive-after-disconnect": (apps.receive_twice_after_disconnect, {"profile": "hypercorn"}),
    "request-deadlock": (apps.receives_after_the_body, {}),
    "header-name-case": (apps.upper_case_header, {}),
}

TRANSPARENCY_CASES: dict[str, tuple[Any, list[str]]] = {
    "request-body-altered": (apps.drops_first_chunk, ["read_all"]),
    "disconnect-hidden": (apps.hides_disconnect, ["polls_disconnect"]),
    "background-task-lost": (apps.cancels_after_response, ["background_async_slow"]),
    "background-task-before-response": (apps.buffers_until_return, ["background_async"]),
    "stream-buffered": (apps.buffers_until_return, ["sse"]),
    "response-lost-behind-stack": (apps.buffers_until_return, ["raises"]),
    "exception-swallowed": (apps.swallows_exceptions, ["raises"]),
}


def test_every_invariant_has_a_broken_app() -> None:
    # event-loop-blocked and process-exited come from the CLI's worker
    # supervisor, not from fuzz(); tests/test_cli.py drives broken apps for them.
    supervised = {"event-loop-blocked", "process-exited"}
    covered = set(PROTOCOL_CASES) | set(TRANSPARENCY_CASES) | {"call-after-return"} | supervised
    covered |= set(WEBSOCKET_CASES) | {"websocket-conversation-altered"}  # tests/test_websocket.py
    covered |= set(LIFESPAN_CASES) | {"lifespan-outcome-altered"}  # tests/test_lifespan.py
    covered |= {"server-error"}  # tests/test_verdicts.py: an error middleware that logs and answers 500
    # tests/test_recall.py: the user's own routes behind hand-written broken middleware
    covered |= {"truncated-response-completed", "app-background-task-lost", "app-background-task-before-response"}
    covered |= {"response-depends-on-chunking"}  # tests/test_chunking.py
    covered |= {"app-stream-left-open"}  # tests/test_app_streams.py: a stream suspended in its finally
    covered |= {"connection-isolation"}  # tests/test_sessions.py: state on a middleware's self, a leaking contextvar
    assert covered == set(INVARIANTS)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("code", sorted(PROTOCOL_CASES))
def test_protocol_oracle_catches_broken_app(code: str, backend: str) -> None:
    app, options = PROTOCOL_CASES[code]
    if code == "task-leak" and backend == "trio":
        pytest.skip("asyncio.create_task does not exist on trio")
    result = fuzz(app, max_examples=200, seed=1, backend=backend, exitfirst=True, checks=[code], **options)
    assert [f.code for f in result.findings] == [code]
    finding = result.findings[0]
    case = finding.case
    assert case is not None and finding.trace
    # The report a user reads names the rule, explains it and gives the minimal case.
    report = render_finding(finding)
    assert report.startswith(f"[1] {code}: {finding.invariant.title}\n    {finding.message}")
    assert " ".join(finding.invariant.explanation.split()) in " ".join(report.split())
    assert f"minimal case ({case.message_count} client message(s)):" in report
    for i, action in enumerate(case.actions, 1):
        assert f"      {i}. {describe_action(action)}" in report
    # And that case replays to the same finding, without Hypothesis.
    if not finding.flaky:
        assert code in {f.code for f in replay(app, case).findings}


@pytest.mark.parametrize("code", sorted(TRANSPARENCY_CASES))
def test_transparency_oracle_catches_broken_middleware(code: str) -> None:
    middleware, endpoints = TRANSPARENCY_CASES[code]
    result = fuzz(middleware=[middleware], endpoints=endpoints, max_examples=300, seed=2, checks=[code])
    assert code in {f.code for f in result.findings}, [(f.code, f.message) for f in result.findings]


def test_call_after_return_is_caught() -> None:
    """A leaked task that sends after the app returned breaks two invariants."""
    import asyncio

    async def late_sender(scope: Any, receive: Any, send: Any) -> None:
        async def later() -> None:
            await asyncio.sleep(0.1)
            await send({"type": "http.response.body", "body": b"late"})

        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        asyncio.get_running_loop().create_task(later())

    result = fuzz(late_sender, max_examples=20, seed=0, checks=["call-after-return"])
    assert [f.code for f in result.findings] == ["call-after-return"]


def test_findings_are_deduplicated_and_shrunk() -> None:
    result = fuzz(apps.raises_on_disconnect, max_examples=300, seed=5)
    codes = [f.code for f in result.findings]
    assert codes.count("exception-on-disconnect") == 1
    finding = next(f for f in result.findings if f.code == "exception-on-disconnect")
    assert finding.case is not None
    assert finding.case.message_count <= 2
    assert finding.hits >= 1


def _problems(scope: dict[str, Any], *messages: dict[str, Any]) -> list[tuple[str, str]]:
    from asgifuzz.checks.http import ResponseChecker

    checker = ResponseChecker(scope)
    return [(invariant.code, text) for message in messages for invariant, text in checker.check(message)]


EARLY_HINTS = {"method": "GET", "extensions": {"http.response.early_hint": {}}}
START = {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}


@pytest.mark.parametrize(
    ("links", "expected"),
    [
        ([b'</style.css>; rel=preload; as=style'], None),
        ("</style.css>; rel=preload", "'links' must be a list of byte strings, got str"),
        (["</style.css>; rel=preload"], "must be bytes"),
        ([b"</a>\r\nSet-Cookie: x=1"], "control byte"),
    ],
)
def test_early_hint_links_are_checked(links: Any, expected: str | None) -> None:
    problems = _problems(EARLY_HINTS, {"type": "http.response.early_hint", "links": links}, START)
    if expected is None:
        assert problems == []
    else:
        ((code, text),) = problems
        assert code == "invalid-headers" and expected in text


def test_content_type_twice_is_invalid_headers() -> None:
    twice = {**START, "headers": [(b"content-type", b"text/plain"), (b"content-type", b"application/json")]}
    ((code, text),) = _problems({"method": "GET"}, twice)
    assert code == "invalid-headers" and "Content-Type was set 2 times" in text
    assert _problems({"method": "GET"}, START) == []



def _withholds_the_end(*, keep_length: bool) -> Any:
    """Forwards everything but the final ``more_body=False`` (as BaseHTTPMiddleware
    did in 0.45.3 when the endpoint's background task raised)."""

    def factory(app: Any) -> Any:
        async def middleware(scope: Any, receive: Any, send: Any) -> None:
            async def forward(message: Any) -> None:
                if message["type"] == "http.response.start" and not keep_length:
                    headers = [(n, v) for n, v in message["headers"] if n.lower() != b"content-length"]
                    message = {**message, "headers": headers}
                if message["type"] == "http.response.body" and not message.get("more_body", False):
                    message = {**message, "more_body": True}
                await send(message)

            await app(scope, receive, forward)
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        factory.__name__ = middleware.__name__ = f"withholds_end_keep_length_{keep_length}"
        return middleware

    return factory


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("keep_length", [True, False])
def test_response_lost_is_judged_by_http_framing(backend: str, keep_length: bool) -> None:
    # The endpoint answers, then its background task raises (on purpose): the
    # stack never sends the end.  With Content-Length delivered the client has
    # the whole response (not lost); without it the client sees a truncated one.
    result = fuzz(
        middleware=[_withholds_the_end(keep_length=keep_length)], endpoints=["background_async_raises"],
        backend=backend, max_examples=100, seed=2, checks=["response-lost-behind-stack"],
    )  # fmt: skip
    assert {f.code for f in result.findings} == (set() if keep_length else {"response-lost-behind-stack"})

"""The fake server behaves like the real servers it imitates."""

from __future__ import annotations

import time
from typing import Any

import anyio
import apps
import pytest

from asgifuzz import fuzz, replay, run_case
from asgifuzz._case import Advance, Case, Chunk, Disconnect, Latency, Run
from asgifuzz._config import Backend
from asgifuzz.server.signals import ClientDisconnected

SCOPE: dict[str, Any] = {
    "type": "http",
    "http_version": "1.1",
    "method": "POST",
    "scheme": "http",
    "path": "/",
    "raw_path": b"/",
    "query_string": b"",
    "root_path": "",
    "headers": [(b"host", b"testserver"), (b"content-length", b"11")],
    "client": ("127.0.0.1", 1),
    "server": ("127.0.0.1", 80),
}
BACKENDS: list[Backend] = ["asyncio", "trio"]


def _received(outcome: Any) -> list[dict[str, Any]]:
    return [e.message for e in outcome.trace if e.kind == "receive"]


class Recorder:
    """Reads the body (and optionally once more), recording every event."""

    def __init__(self, *, extra_receives: int = 0) -> None:
        self.extra = extra_receives

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        for _ in range(self.extra):
            await receive()


@pytest.mark.parametrize("backend", BACKENDS)
def test_uvicorn_profile_merges_buffered_chunks(backend: Backend) -> None:
    out = run_case(
        Recorder(),
        Case(
            target="app",
            scope=SCOPE,
            body=b"hello world",
            actions=(Chunk(2), Chunk(3), Run(), Chunk(6)),
            backend=backend,
        ),
    )
    assert _received(out) == [
        {"type": "http.request", "body": b"hello", "more_body": True},
        {"type": "http.request", "body": b" world", "more_body": False},
    ]
    assert out.findings == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_hypercorn_profile_queues_each_chunk_then_an_empty_final_one(backend: Backend) -> None:
    out = run_case(
        Recorder(),
        Case(
            target="app",
            scope=SCOPE,
            body=b"hello world",
            actions=(Chunk(2), Chunk(9)),
            backend=backend,
            profile="hypercorn",
        ),
    )
    assert _received(out) == [
        {"type": "http.request", "body": b"he", "more_body": True},
        {"type": "http.request", "body": b"llo world", "more_body": True},
        {"type": "http.request", "body": b"", "more_body": False},
    ]


@pytest.mark.parametrize("backend", BACKENDS)
def test_receive_after_body_blocks_until_response_completes_then_disconnects(backend: Backend) -> None:
    out = run_case(
        Recorder(extra_receives=2),
        Case(target="app", scope=SCOPE, body=b"hello world", actions=(Run(),), backend=backend),
    )
    kinds = [(e.kind, (e.message or {}).get("type")) for e in out.trace if e.kind in ("receive", "send")]
    assert kinds[-2:] == [("receive", "http.disconnect"), ("receive", "http.disconnect")]
    assert out.findings == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_server_never_invents_a_disconnect(backend: Backend) -> None:
    async def waits_for_disconnect(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"", "more_body": True})
        while (await receive())["type"] != "http.disconnect":
            pass

    out = run_case(
        waits_for_disconnect, Case(target="app", scope=SCOPE, body=b"", actions=(Run(), Advance(5.0)), backend=backend)
    )
    disconnect = next(e for e in out.trace if e.kind == "disconnect")
    assert disconnect.detail == "client gave up waiting for the response"
    assert disconnect.time >= 30.0  # the client's patience, in virtual seconds
    assert out.findings == []


@pytest.mark.parametrize("profile", ["hypercorn", "daphne"])
def test_queue_profiles_hand_an_empty_body_to_the_app_at_once(profile: str) -> None:
    get = dict(SCOPE, method="GET", headers=[(b"host", b"testserver")])
    out = run_case(Recorder(), Case(target="app", scope=get, body=b"", actions=(Run(),), profile=profile))
    assert _received(out)[0] == {"type": "http.request", "body": b"", "more_body": False}
    assert out.response.complete and not any(e.kind == "disconnect" for e in out.trace)


@pytest.mark.parametrize("backend", BACKENDS)
def test_virtual_time_makes_long_sleeps_instant(backend: Backend) -> None:
    async def sleeper(scope: Any, receive: Any, send: Any) -> None:
        await anyio.sleep(45)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"late"})

    start = time.perf_counter()
    out = run_case(sleeper, Case(target="app", scope=SCOPE, body=b"", actions=(), backend=backend))
    assert time.perf_counter() - start < 5
    assert out.response.body == b"late" and out.findings == []
    assert out.trace[-1].time >= 45


@pytest.mark.parametrize("backend", BACKENDS)
def test_real_time_option_uses_the_real_clock(backend: Backend) -> None:
    async def sleeper(scope: Any, receive: Any, send: Any) -> None:
        await anyio.sleep(0.05)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"x"})

    from asgifuzz import Settings

    start = time.perf_counter()
    out = run_case(
        sleeper, Case(target="app", scope=SCOPE, body=b"", actions=(), backend=backend), Settings(virtual_time=False)
    )
    assert time.perf_counter() - start >= 0.05
    assert out.findings == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_work_in_worker_threads_is_waited_for_not_called_a_hang(backend: Backend) -> None:
    async def threaded(scope: Any, receive: Any, send: Any) -> None:
        await anyio.to_thread.run_sync(time.sleep, 0.05)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"x"})

    out = run_case(threaded, Case(target="app", scope=SCOPE, body=b"", actions=(Run(),), backend=backend))
    assert out.findings == []
    assert out.response.complete


@pytest.mark.parametrize("backend", BACKENDS)
def test_strict_profile_raises_oserror_after_disconnect_and_that_is_not_a_finding(backend: Backend) -> None:
    seen: list[BaseException] = []

    async def streams(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            for _ in range(100):
                await send({"type": "http.response.body", "body": b"x", "more_body": True})
                await anyio.sleep(1)
        except OSError as exc:
            seen.append(exc)
            raise

    out = run_case(
        streams,
        Case(
            target="app",
            scope=SCOPE,
            body=b"",
            actions=(Run(), Disconnect(), Advance(1.0)),
            backend=backend,
            profile="strict",
        ),
    )
    assert seen and isinstance(seen[0], ClientDisconnected)
    assert out.findings == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_send_latency_and_partial_steps_are_applied(backend: Backend) -> None:
    out = run_case(
        apps.echo,
        Case(
            target="app",
            scope=SCOPE,
            body=b"hello world",
            actions=(Latency(3), Run(2), Chunk(11), Run()),
            backend=backend,
        ),
    )
    assert out.findings == []
    assert out.response.body == b"hello world"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_seed_reproduces_the_same_findings(backend: Backend) -> None:
    def summary() -> list[tuple[str, str, tuple[Any, ...]]]:
        result = fuzz(apps.raises_on_disconnect, max_examples=150, seed=99, backend=backend)
        return [(f.code, f.where, f.case.actions if f.case else ()) for f in result.findings]

    assert summary() == summary()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_finding_replays_from_its_case(backend: Backend) -> None:
    result = fuzz(apps.raises_on_disconnect, max_examples=150, seed=4, backend=backend, exitfirst=True)
    finding = result.findings[0]
    assert finding.case is not None
    again = replay(apps.raises_on_disconnect, finding.case)
    assert [f.code for f in again.findings] == [finding.code]
    assert [e.message for e in again.trace] == [e.message for e in finding.trace]


def test_exceptions_that_only_signal_the_disconnect_are_not_findings() -> None:
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse

    async def reads_body(scope: Any, receive: Any, send: Any) -> None:
        body = await Request(scope, receive).body()  # raises ClientDisconnect mid-body
        await PlainTextResponse(str(len(body)))(scope, receive, send)

    out = run_case(
        reads_body, Case(target="app", scope=SCOPE, body=b"hello world", actions=(Chunk(3), Run(), Disconnect()))
    )
    assert out.app_end == "raised"
    assert out.findings == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_finding_points_at_the_code_that_sent_not_at_pass_through_send_wrappers(backend: Backend) -> None:
    async def double_start(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.start", "status": 500, "headers": []})  # the culprit

    def pass_through(app: Any) -> Any:
        async def wrapped(scope: Any, receive: Any, send: Any) -> None:
            async def forward(message: Any) -> None:
                await send(message)

            await app(scope, receive, forward)

        return wrapped

    culprit = double_start.__code__.co_firstlineno + 2
    out = run_case(
        pass_through(pass_through(double_start)),
        Case(target="app", scope=SCOPE, body=b"hello world", actions=(), backend=backend),
    )
    (finding,) = [f for f in out.findings if f.code == "duplicate-response-start"]
    assert finding.where == f"{__file__}:{culprit}"


def test_exception_text_starts_at_the_app_and_drops_collapsed_groups() -> None:
    async def boom(scope: Any, receive: Any, send: Any) -> None:
        error = RuntimeError("boom")
        try:
            raise ExceptionGroup("unhandled errors in a TaskGroup", [error])
        except ExceptionGroup:
            raise error  # noqa: B904 - re-raised inside the group, as collapse_excgroups does

    out = run_case(boom, Case(target="app", scope=SCOPE, body=b"hello world", actions=()))
    (finding,) = [f for f in out.findings if f.code == "app-raised"]
    text = finding.exception_text()
    assert text.startswith("Traceback (most recent call last):")
    assert "asgifuzz/_driver.py" not in text and "During handling" not in text
    assert ", in boom" in text and text.endswith("RuntimeError: boom")


@pytest.mark.parametrize("backend", BACKENDS)
def test_time_passes_timer_by_timer_as_on_a_real_clock(backend: Backend) -> None:
    """A 2 s job under a 15 s budget always finishes on a real clock, however much time then passes.

    ``Advance(30)`` jumped the clock over both timers at once and fired them
    in one loop turn: the budget cancelled the job, the one-chunk reference
    run answered the other way, and sse-starlette's stream was reported as
    ``response-depends-on-chunking`` (confirmed false on uvicorn).
    """

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        with anyio.move_on_after(15) as budget:
            await anyio.sleep(1)
            await anyio.sleep(1)
        body = b"timeout" if budget.cancelled_caught else b"ok"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    case = Case(target="app", scope=SCOPE, body=b"hello world", actions=(Chunk(11), Run(), Advance(30.0)), backend=backend)
    outcome = run_case(app, case)
    assert outcome.response.body == b"ok"


def test_the_strict_server_rejects_only_what_some_real_server_rejects() -> None:
    """secure's middleware adds ``Cross-Origin-Opener-Policy``: every real server sends it on.

    The strict profile rejected it, so the response was lost "under strict"
    only and the stack was reported as losing responses (false errors).
    """

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"X-Frame-Options", b"DENY")]})
        await send({"type": "http.response.body", "body": b"ok"})

    case = Case(target="app", scope=SCOPE, body=b"hello world", actions=(Chunk(11), Run()), profile="strict")
    outcome = run_case(app, case)
    assert outcome.response.complete and outcome.response.body == b"ok"
    assert [f.code for f in outcome.findings] == ["header-name-case"]


def test_in_real_time_an_advance_does_not_sleep() -> None:
    """Real time is not the driver's to move: ``Advance(30)`` lets the app run, it does not wait 30 s."""
    from asgifuzz._config import Settings

    case = Case(target="app", scope=SCOPE, body=b"hello world", actions=(Chunk(11), Advance(30.0)), backend="asyncio")
    start = time.monotonic()
    outcome = run_case(Recorder(), case, Settings(virtual_time=False))
    assert outcome.response.complete and time.monotonic() - start < 10

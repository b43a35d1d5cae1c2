"""One event loop and one lifespan per process, reused across cases (``server.loop.Runner``)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import anyio
import pytest

from asgifuzz import fuzz, run_case
from asgifuzz._case import Case, Disconnect, Run
from asgifuzz._config import Backend, Settings
from asgifuzz.server.loop import close_runners, runner_for

BACKENDS: list[Backend] = ["asyncio", "trio"]
SCOPE: dict[str, Any] = {
    "type": "http",
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/",
    "raw_path": b"/",
    "query_string": b"",
    "root_path": "",
    "headers": [(b"host", b"testserver")],
    "client": ("127.0.0.1", 1),
    "server": ("127.0.0.1", 80),
}


async def _drain(receive: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect" or not message.get("more_body"):
            return


class OnceOnlyApp:
    """Like Sanic: a second lifespan startup fails; requests use a worker task and a
    channel made at startup (bound to that loop: a request on another loop hangs)."""

    def __init__(self) -> None:
        self.startups = 0
        self.shutdowns = 0
        self.requests = 0
        self.jobs: Any = None

    async def _worker(self, jobs: Any) -> None:
        async for done in jobs:
            done.set()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            self.startups += 1
            if self.startups > 1:
                await send({"type": "lifespan.startup.failed", "message": "Cannot finalize router more than once"})
                return
            self.jobs, jobs_out = anyio.create_memory_object_stream[Any](10)
            async with self.jobs, jobs_out, anyio.create_task_group() as tg:
                tg.start_soon(self._worker, jobs_out)
                await send({"type": "lifespan.startup.complete"})
                await receive()
                tg.cancel_scope.cancel()
            self.shutdowns += 1
            await send({"type": "lifespan.shutdown.complete"})
            return
        await _drain(receive)
        done = anyio.Event()
        await self.jobs.send(done)
        await done.wait()
        self.requests += 1
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_app_that_starts_once_and_binds_its_loop_runs_clean_across_many_examples(backend: Backend) -> None:
    app = OnceOnlyApp()
    result = fuzz(app, max_examples=150, backends=(backend,), seed=3)
    assert result.findings == []
    assert result.examples >= 150
    assert app.startups == 1  # one lifespan for the whole search
    assert app.requests >= 100  # the requests did reach the worker made at startup
    assert app.shutdowns == 1  # and it was shut down at the end


class Stubborn:
    """Leaves a task behind that refuses to be cancelled: the loop is no longer usable."""

    def __init__(self) -> None:
        self.startups = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            self.startups += 1
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return

        async def forever() -> None:
            while True:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.sleep(1)

        asyncio.get_running_loop().create_task(forever())
        await _drain(receive)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def _case(backend: Backend = "asyncio") -> Case:
    return Case(target="app", scope=SCOPE, body=b"", actions=(Run(),), backend=backend)


def test_a_case_that_leaves_an_uncancellable_task_gets_a_fresh_loop_and_lifespan_next() -> None:
    close_runners()
    app = Stubborn()
    settings = Settings()
    first = run_case(app, _case(), settings)
    assert any(f.code == "task-leak" for f in first.findings)
    assert runner_for("asyncio", True).broken is False  # replaced by a fresh one
    run_case(app, _case(), settings)
    assert app.startups == 2
    close_runners()


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_case_starts_at_time_zero_on_the_shared_loop(backend: Backend) -> None:
    async def sleepy(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise RuntimeError("no lifespan")
        await _drain(receive)
        await anyio.sleep(5)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    traces = [run_case(sleepy, _case(backend)).trace for _ in range(2)]
    assert [(e.kind, e.time) for e in traces[0]] == [(e.kind, e.time) for e in traces[1]]
    assert traces[1][0].time == 0.0
    close_runners()


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_lifespan_state_reaches_every_case(backend: Backend) -> None:
    startups: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            startups.append(1)
            scope["state"]["db"] = "connected"
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        await _drain(receive)
        body = scope["state"]["db"].encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    bodies = [run_case(app, _case(backend)).response.body for _ in range(3)]
    assert bodies == [b"connected"] * 3
    assert startups == [1]
    close_runners()


FRAMEWORK_CHECK = """
import json, importlib
import asgifuzz
app = importlib.import_module("realapps.%s").app
r = asgifuzz.fuzz(app, max_examples=150, seed=1, backends=("asyncio",))
print(json.dumps({"examples": r.examples, "findings": [[f.code, f.message] for f in r.findings]}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sanic_app", "blacksheep_app"])
def test_frameworks_that_start_once_are_fuzzed_without_false_findings(name: str) -> None:
    # With a fresh loop and lifespan per example, Sanic refused the second
    # startup ("Cannot finalize router more than once": the run ended) and
    # BlackSheep answered 500 to every request after its second startup.
    import json

    from oldreleases import run_in

    proc = run_in("frameworks", FRAMEWORK_CHECK % name, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["examples"] >= 150
    servers_errors = [m for code, m in report["findings"] if code == "server-error"]
    # The apps' one raising route ("boom") is the only 500 they answer.
    assert all("RuntimeError: boom" in m for m in servers_errors), servers_errors


def test_a_thread_an_earlier_case_left_reading_its_body_is_not_the_next_cases_leak() -> None:
    """a2wsgi's worker thread reads the body with ``run_coroutine_threadsafe(receive())``.

    A thread that an earlier case left running (its client gone, its app
    cancelled) can ask for that case's body while a later case runs.  The
    receive task it makes counted as the later case's: a false ``task-leak``
    on Flask's ``POST /echo`` behind a2wsgi (about one run in two, seed 1).
    Once its case is over, a connection answers ``http.disconnect`` at once,
    as a closed socket does.
    """
    import threading

    release, done = threading.Event(), threading.Event()
    late: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        loop = asyncio.get_running_loop()
        if scope["path"] == "/first":

            def read_late() -> None:
                release.wait(5)
                late.append(asyncio.run_coroutine_threadsafe(receive(), loop).result(5))
                done.set()

            threading.Thread(target=read_late, daemon=True).start()
        await _drain(receive)
        if scope["path"] == "/first":
            await receive()  # the disconnect: the thread's receive() blocks under hypercorn
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        if scope["path"] == "/second":
            release.set()
            await asyncio.to_thread(done.wait, 5)

    # The client leaves; under hypercorn a receive() after the disconnect blocks (the thread's, forever).
    first = Case(
        target="app",
        scope={**SCOPE, "path": "/first"},
        body=b"",
        actions=(Disconnect(), Run()),
        backend="asyncio",
        profile="hypercorn",
    )
    second = Case(target="app", scope={**SCOPE, "path": "/second"}, body=b"", actions=(Run(),), backend="asyncio")
    try:
        assert run_case(app, first).findings == []
        outcome = run_case(app, second)
        assert [f.code for f in outcome.findings] == []
        assert late == [{"type": "http.disconnect"}]
    finally:
        release.set()


class OncePerLoopWatcher:
    """Like sse-starlette: the first request starts one shutdown watcher per event loop, kept for its life."""

    def __init__(self) -> None:
        self.started: set[int] = set()

    async def _watch(self) -> None:
        for _ in range(10**9):  # polls for the server's exit, as the watcher does
            await asyncio.sleep(0.5)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        loop = asyncio.get_running_loop()
        if id(loop) not in self.started:
            self.started.add(id(loop))
            task = loop.create_task(self._watch())
            task.add_done_callback(lambda _: self.started.discard(id(loop)))  # restarted if cancelled
        await _drain(receive)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def test_work_started_once_per_loop_is_not_a_task_leak_and_per_request_work_is() -> None:
    """sse-starlette's shutdown watcher was reported as task-leak (false: one per loop on uvicorn).

    A leaked task is judged by running the case again while it still runs:
    work that a request starts every time starts again (a second instance),
    work started once per loop does not.
    """

    async def per_request(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await _drain(receive)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        asyncio.get_running_loop().create_task(asyncio.sleep(3600))

    once = fuzz(OncePerLoopWatcher(), max_examples=60, seed=1, backend="asyncio", lifespan="off")
    assert [f.code for f in once.findings] == []
    each = fuzz(per_request, max_examples=60, seed=1, backend="asyncio", lifespan="off")
    assert "task-leak" in [f.code for f in each.findings]

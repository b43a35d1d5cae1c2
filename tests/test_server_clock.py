"""``server.clock`` (through ``server.loop``): virtual time and idleness on both backends."""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from types import FrameType
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from asgifuzz._config import Backend
from asgifuzz.server.clock import SPIN_LIMIT, busy_worker_threads
from asgifuzz.server.loop import current_clock, run_on_loop

BACKENDS: list[Backend] = ["asyncio", "trio"]


class NoTracking:
    def task_spawned(self, task: Any) -> None:
        pass

    def task_exited(self, task: Any) -> None:
        pass


def run(backend: Backend, main: Callable[[Any], Awaitable[None]], *, virtual: bool = True) -> None:
    """Run ``main(clock)`` on a fresh loop of ``backend`` with the driver's clock."""

    async def entry() -> None:
        await main(current_clock(backend))

    run_on_loop(entry, backend=backend, virtual_time=virtual, schedule_seed=0, tracker=NoTracking())


@pytest.mark.parametrize("backend", BACKENDS)
def test_time_is_frozen_until_advanced(backend: Backend) -> None:
    seen: list[float] = []

    async def main(clock: Any) -> None:
        seen.append(anyio.current_time())
        await anyio.lowlevel.checkpoint()
        time.sleep(0.01)  # noqa: ASYNC251 - real time passes; virtual time must not
        seen.append(anyio.current_time())
        clock.advance(2.5)
        seen.append(anyio.current_time())

    run(backend, main)
    assert seen == [0.0, 0.0, 2.5]


@pytest.mark.parametrize("backend", BACKENDS)
def test_idle_returns_once_every_other_task_blocks_without_moving_time(backend: Backend) -> None:
    steps: list[str] = []

    async def main(clock: Any) -> None:
        async def app() -> None:
            for i in range(3):
                steps.append(f"step {i}")
                await anyio.lowlevel.checkpoint()
            steps.append("waiting")
            await anyio.sleep(10)
            steps.append("woke")

        async with anyio.create_task_group() as tg:
            tg.start_soon(app)
            assert await clock.idle() is True
            assert steps == ["step 0", "step 1", "step 2", "waiting"]
            assert anyio.current_time() == 0.0  # frozen: the sleeper's timer did not fire
            clock.advance(10)
            assert await clock.idle() is True
            assert steps[-1] == "woke"

    run(backend, main)


@pytest.mark.parametrize("backend", BACKENDS)
def test_autojump_jumps_to_the_next_timer_at_once(backend: Backend) -> None:
    times: list[float] = []

    async def main(clock: Any) -> None:
        clock.autojump = True
        await anyio.sleep(30)
        times.append(anyio.current_time())
        await anyio.sleep(3600)
        times.append(anyio.current_time())

    start = time.perf_counter()
    run(backend, main)
    assert times == [pytest.approx(30, abs=0.1), pytest.approx(3630, abs=0.1)]  # plus a few spin ticks
    assert time.perf_counter() - start < 5  # an hour of virtual time, not of real time


@pytest.mark.parametrize("backend", BACKENDS)
def test_idle_reports_an_app_that_never_blocks(backend: Backend) -> None:
    async def main(clock: Any) -> None:
        spinning = True

        async def spin() -> None:
            while spinning:
                await anyio.lowlevel.checkpoint()

        async with anyio.create_task_group() as tg:
            tg.start_soon(spin)
            assert await clock.idle() is False  # gave up after SPIN_LIMIT iterations
            spinning = False

    assert SPIN_LIMIT > 1000
    run(backend, main)


@pytest.mark.parametrize("backend", BACKENDS)
def test_idle_waits_for_a_busy_worker_thread(backend: Backend) -> None:
    done = threading.Event()

    def job() -> None:
        time.sleep(0.2)
        done.set()

    async def main(clock: Any) -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(anyio.to_thread.run_sync, job)
            await anyio.lowlevel.checkpoint()
            assert await clock.idle() is True
            # The task waiting on the thread was blocked all along, but the
            # loop was not quiescent until the thread finished.
            assert done.is_set()

    run(backend, main)


@pytest.mark.parametrize("backend", BACKENDS)
def test_autojump_does_not_skip_time_while_a_worker_thread_runs(backend: Backend) -> None:
    at_thread_end: list[float] = []

    def job() -> None:
        time.sleep(0.2)

    async def main(clock: Any) -> None:
        clock.autojump = True

        async def timer() -> None:
            await anyio.sleep(100)

        async with anyio.create_task_group() as tg:
            tg.start_soon(timer)
            await anyio.to_thread.run_sync(job)
            at_thread_end.append(anyio.current_time())

    run(backend, main)
    # Only spin ticks may have passed, not the 100 s timer's jump.
    assert at_thread_end[0] < 100


@pytest.mark.parametrize("backend", BACKENDS)
def test_real_time_mode_follows_the_real_clock(backend: Backend) -> None:
    elapsed: list[float] = []

    async def main(clock: Any) -> None:
        start = anyio.current_time()
        clock.advance(1000)  # ignored in real-time mode
        await anyio.sleep(0.05)
        elapsed.append(anyio.current_time() - start)

    run(backend, main, virtual=False)
    assert 0.04 <= elapsed[0] < 5


def test_busy_worker_threads_counts_a_running_job_until_its_pool_thread_parks() -> None:
    release = threading.Event()

    def wait_until(predicate: Callable[[], bool]) -> bool:
        deadline = time.monotonic() + 5
        while not predicate() and time.monotonic() < deadline:
            time.sleep(0.005)
        return predicate()

    def job() -> None:
        # Working (not waiting on a lock or event: that would be a parked thread).
        while not release.is_set():
            time.sleep(0.001)

    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(job)
        try:
            assert wait_until(lambda: busy_worker_threads() == 1)
        finally:
            release.set()
        future.result(timeout=5)
        assert wait_until(lambda: busy_worker_threads() == 0)  # parked in the pool's queue: idle


def test_a_thread_busy_forever_does_not_hide_other_threads_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """sentry-sdk's monitor sleeps in a loop forever: once its allowance is spent, it alone is ignored.

    Before, one global allowance was spent by that thread and every thread
    counted as idle from then on: virtual time jumped past sync background
    tasks still running in the threadpool, and the run reported false
    ``app-hang`` findings in ``run_in_threadpool`` (an app with sentry-sdk).
    """
    from asgifuzz.server import clock

    monkeypatch.setattr(clock, "MAX_THREAD_WAIT", 0.2)
    monkeypatch.setattr(clock, "_baseline", frozenset(t.ident for t in threading.enumerate()))
    monkeypatch.setattr(clock, "_busy_since", {})
    monkeypatch.setattr(clock, "_settled", {})
    stop = threading.Event()

    def housekeeping() -> None:
        while not stop.is_set():
            time.sleep(0.005)

    def work(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not stop.is_set():
            pass

    monitor = threading.Thread(target=housekeeping, daemon=True)
    monitor.start()
    try:
        time.sleep(0.02)
        assert clock.busy_worker_threads() == 1
        time.sleep(0.3)
        assert clock.busy_worker_threads() == 0  # stuck past its allowance: ignored
        worker = threading.Thread(target=work, args=(2.0,), daemon=True)
        worker.start()
        time.sleep(0.02)
        assert clock.busy_worker_threads() == 1  # the new work still holds time back
    finally:
        stop.set()


def test_a_thread_woken_but_not_yet_running_is_not_parked() -> None:
    """A thread waiting on a future that is already done is about to run: not idle.

    On a loaded machine a woken thread can stay off the CPU for longer than
    the two looks of ``busy_worker_threads`` take; counted as parked, virtual
    time jumped 60 s and WSGI adapters (a2wsgi waits in ``future.result()``,
    asgiref in ``run_until_future``) were reported as ``app-hang``.  Here the
    future is marked done without notifying its waiter, which freezes the
    thread in exactly that state.
    """
    import concurrent.futures
    import sys

    from asgifuzz.server import clock

    future: concurrent.futures.Future[None] = concurrent.futures.Future()
    waiter = threading.Thread(target=future.result, daemon=True)
    waiter.start()
    try:
        time.sleep(0.05)
        frame = sys._current_frames()[waiter.ident]  # type: ignore[index]
        assert clock._parked(frame)
        with future._condition:
            future._state = "FINISHED"  # done, its waiter not yet notified
        assert not clock._parked(sys._current_frames()[waiter.ident])  # type: ignore[index]
    finally:
        future._state = "PENDING"
        future.set_result(None)


def test_a_thread_joining_a_thread_that_left_the_thread_list_is_not_parked() -> None:
    """asgiref's ThreadSensitiveContext (Django) joins its executor's worker in a thread of its own.

    A thread leaves ``threading.enumerate()`` before it has ended; under load
    it, then its joiner, can stay off the CPU for long.  The joiner, parked in
    ``join``, was idle and nothing else was listed: virtual time jumped 60 s
    and Django routes were reported as ``app-hang`` in asgiref/sync.py (seen
    at load average 8-12).  Here the joined thread is taken off the list as
    ``Thread._delete`` does at its end, while it still runs.
    """
    import sys

    from asgifuzz.server import clock

    release = threading.Event()
    joined = threading.Thread(target=release.wait, daemon=True)
    joined.start()
    joiner = threading.Thread(target=joined.join, daemon=True)
    joiner.start()
    active: dict[int, threading.Thread] = threading._active  # type: ignore[attr-defined]
    try:
        time.sleep(0.05)
        assert clock._parked(sys._current_frames()[joiner.ident])  # type: ignore[index]
        assert joined.ident is not None
        del active[joined.ident]
        assert not clock._parked(sys._current_frames()[joiner.ident])  # type: ignore[index]
    finally:
        if joined.ident is not None:
            active.setdefault(joined.ident, joined)
        release.set()
        joiner.join(timeout=5)


def test_a_pool_thread_handed_work_it_has_not_picked_up_is_busy() -> None:
    """The pool's queue is found on the thread object (concurrent.futures passes it to ``_worker``).

    The thread here is parked, as a worker is between its queue's ``put`` and
    its own wake-up; with an item waiting in the queue it holds time back.
    """
    import queue

    from asgifuzz.server import clock

    work: queue.SimpleQueue[int] = queue.SimpleQueue()
    release = threading.Event()
    worker = threading.Thread(target=lambda _q, ev: ev.wait(), args=(work, release), daemon=True)
    worker.start()
    try:
        assert not clock._handed_work(worker)
        work.put(1)
        assert clock._handed_work(worker)
    finally:
        release.set()
        worker.join(timeout=5)


def test_locals_are_read_only_from_the_standard_librarys_wait_frames() -> None:
    """Reading ``f_locals`` of another thread's live frame can crash CPython 3.11 (see ``_wait_owner``)."""
    import sys

    from asgifuzz.server import clock

    release = threading.Event()
    started = threading.Event()

    def app_code(marker: object) -> None:
        started.set()
        release.wait()

    worker = threading.Thread(target=app_code, args=(object(),), daemon=True)
    worker.start()
    try:
        assert started.wait(5)
        time.sleep(0.02)
        frame: FrameType | None = sys._current_frames()[worker.ident]  # type: ignore[index]
        while frame is not None and frame.f_code.co_name != "app_code":
            frame = frame.f_back
        assert frame is not None
        assert clock._wait_locals(frame) is None
        inner = sys._current_frames()[worker.ident]  # type: ignore[index]
        assert isinstance((clock._wait_locals(inner) or {}).get("self"), threading.Condition)  # Event.wait -> Condition.wait
    finally:
        release.set()
        worker.join(timeout=5)


def test_a_thread_notified_on_a_condition_but_not_yet_running_is_not_parked() -> None:
    """asgiref's ``run_until_future`` waits on a Condition that its future's done callback notifies.

    ``notify()`` takes the waiter off the Condition's list, then wakes it;
    here it is taken off and not yet woken, which freezes the thread in the
    state a loaded machine leaves it in.  Counted as parked, virtual time
    jumped and Flask behind asgiref's WsgiToAsgi was reported as ``app-hang``
    at asgiref/sync.py:580.
    """
    import sys

    from asgifuzz.server import clock

    condition = threading.Condition()

    def wait() -> None:
        with condition:
            condition.wait(timeout=10)

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    time.sleep(0.05)
    with condition:
        assert clock._parked(sys._current_frames()[waiter.ident])  # type: ignore[index]
        lock = condition._waiters.popleft()  # type: ignore[attr-defined]
        assert not clock._parked(sys._current_frames()[waiter.ident])  # type: ignore[index]
        lock.release()
    waiter.join(timeout=5)
    assert not waiter.is_alive()


def test_trio_time_does_not_jump_over_work_a_thread_handed_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker thread queues its result (``run_sync_soon``) and parks; the loop sees it after its next wait.

    Jumping time at that point fired the app's hang deadline first: a false
    app-hang on FastAPI's FileResponse on trio, on a loaded machine.
    """
    import trio
    import trio.lowlevel

    from asgifuzz.server import clock

    monkeypatch.setattr(clock, "busy_worker_threads", lambda: 0)  # (no thread of its own here)
    virtual = clock.TrioVirtualClock()
    seen: list[tuple[float, float]] = []

    async def main() -> None:
        virtual.autojump = True
        trio.lowlevel.current_trio_token().run_sync_soon(lambda: None)
        before = virtual.current_time()
        seen.append((virtual.deadline_to_sleep_time(before + 60), virtual.current_time() - before))
        await trio.lowlevel.checkpoint()  # the queued callback runs; then time may jump
        await trio.lowlevel.checkpoint()
        seen.append((virtual.deadline_to_sleep_time(before + 60), virtual.current_time() - before))

    trio.run(main, clock=virtual)
    assert seen[0] == (0.0, 0.0)
    assert seen[1] == (0.0, 60.0)

"""Virtual time and quiescence detection for the two event loops we drive.

Theory of operation
-------------------
The driver needs three things from an event loop that neither asyncio nor trio
offers through a public API:

1. *Virtual time.*  ``loop.time()`` / ``trio.current_time()`` return a clock
   that only moves when the driver says so (``advance``) or, in *autojump*
   mode, jumps straight to the next timer when every task is blocked.  Apps
   that ``sleep(30)`` therefore run in microseconds and reproducibly.
2. *Idle detection.*  ``await clock.idle()`` returns once every task except
   the caller is blocked: the app has run to its next blocking point.  This is
   the "scheduler step" unit of the state machine.  A task that spins
   (``while True: await sleep(0)``) never lets the loop go idle, so ``idle``
   gives up after ``SPIN_LIMIT`` loop iterations and reports ``False``.
3. *Worker threads.*  Starlette runs sync endpoints, sync background tasks and
   file I/O in worker threads.  A task waiting on a thread is blocked, but the
   loop is not quiescent: the thread will wake it.  We inspect the stacks of
   the anyio, trio and ``concurrent.futures`` worker pools and treat a worker
   that is not parked in its pool's queue as busy: while any worker is busy,
   time does not jump and ``idle`` keeps waiting (in real time).

Both loops hook the one place where a loop decides how long to sleep: the
selector's ``select(timeout)`` on asyncio and ``Clock.deadline_to_sleep_time``
on trio.  Both are called exactly when the loop has nothing runnable.
"""

from __future__ import annotations

import asyncio
import os
import selectors
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

__all__ = (
    "AsyncioVirtualLoop",
    "TrioVirtualClock",
    "busy_worker_threads",
)

#: Loop iterations without going idle before ``idle()`` reports a spinning app.
SPIN_LIMIT = 20_000
#: Real seconds to wait for a busy worker thread before looking again.
THREAD_POLL = 0.0005
#: Virtual seconds a busy loop iteration costs in autojump mode, so that an app
#: that spins forever still reaches the hang deadline.
SPIN_TICK = 0.001

# Files whose frames a parked worker thread sits in (queue.get -> Condition.wait).
_PARK_FILES = ("threading.py", "queue.py")
# (file suffix, function) of the loop function of each worker pool we know.
_POOL_LOOPS = (
    (os.path.join("anyio", "_backends", "_asyncio.py"), "run"),
    (os.path.join("concurrent", "futures", "thread.py"), "_worker"),
    (os.path.join("trio", "_core", "_thread_cache.py"), "_work"),
)
# Thread names of those pools: a pool thread whose stack has not reached its
# loop yet is starting up to run a job.
_POOL_NAMES = ("AnyIO worker thread", "ThreadPoolExecutor-", "asyncio_", "Trio thread")


def _pool_loop(filename: str, function: str) -> bool:
    return any(filename.endswith(f) and function == fn for f, fn in _POOL_LOOPS)


def _job_pending(frame: Any) -> bool:
    """A parked worker that was just handed a job it has not picked up yet."""
    owner = frame.f_locals.get("self")
    job = getattr(owner, "_job", None)  # trio's thread cache
    if job is not None:
        return True
    queue = frame.f_locals.get("work_queue")  # concurrent.futures
    if queue is None and frame.f_code.co_name == "get":
        queue = owner  # queue.Queue.get, for anyio's workers
    try:
        return bool(queue is not None and queue.qsize())
    except Exception:
        return False


def busy_worker_threads() -> int:
    """Count worker-pool threads that are running, or about to run, a job.

    A pool thread is idle when its stack, read from the innermost frame
    outwards, holds only ``threading``/``queue`` frames before it reaches the
    pool's own loop function, and no job is waiting in its queue.  Threads
    that belong to no pool we know are ignored: they are not the app's
    short-lived work.
    """
    if threading.active_count() == 1:
        return 0  # the common case: no worker thread exists at all
    frames = sys._current_frames()
    me = threading.get_ident()
    busy = 0
    for thread in threading.enumerate():
        ident = thread.ident
        if ident is None or ident == me:
            continue
        frame = frames.get(ident)
        f: Any = frame
        parked = True
        in_pool = False
        pending = False
        depth = 0
        while f is not None:
            code = f.f_code
            if parked and code.co_filename.endswith(_PARK_FILES) and _job_pending(f):
                pending = True
            if _pool_loop(code.co_filename, code.co_name):
                in_pool = True
                pending = pending or _job_pending(f)
                # trio's and concurrent.futures' loops park inside a C call
                # (lock.acquire, SimpleQueue.get), so no frame sits above
                # them; anyio's parks in queue.Queue.get.  anyio's loop with
                # nothing above it is running a C function as its job.
                if depth == 0 and code.co_name == "run":
                    parked = False
                break
            if not code.co_filename.endswith(_PARK_FILES):
                parked = False
            depth += 1
            f = f.f_back
        if in_pool:
            busy += (not parked) or pending
        elif thread.name.startswith(_POOL_NAMES) and frame is not None:
            busy += 1  # starting up: its stack has not reached the pool loop
    return busy


class _Idle:
    """The shared state of an idle waiter: a callback plus a spin counter."""

    __slots__ = ("fire", "spins")

    def __init__(self, fire: Callable[[bool], None]) -> None:
        self.fire = fire
        self.spins = 0


# --------------------------------------------------------------------- asyncio


class _VirtualSelector(selectors.BaseSelector):
    """A selector that turns "nothing to do" into virtual time or idleness."""

    def __init__(self, loop_state: AsyncioVirtualLoop) -> None:
        self._real = selectors.DefaultSelector()
        self._state = loop_state

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        state = self._state
        waiter = state._idle_waiter
        if timeout == 0:
            # Something is runnable: not idle.  Count spins for the waiter.
            if state.autojump:
                state._now += SPIN_TICK
            if waiter is not None:
                waiter.spins += 1
                if waiter.spins > SPIN_LIMIT:
                    state._idle_waiter = None
                    waiter.fire(False)
            return self._real.select(0)
        # Nothing runnable: the loop would sleep `timeout` (None = forever).
        if busy_worker_threads():
            return self._real.select(THREAD_POLL)
        events = self._real.select(0)
        if events:
            return events
        if waiter is not None:
            state._idle_waiter = None
            waiter.fire(True)
            return []
        if state.autojump and timeout is not None:
            state._now += timeout
            return []
        # Frozen time and nobody waiting for idle: only real I/O can wake us.
        return self._real.select(0.05 if timeout is None else min(timeout, 0.05))


class AsyncioVirtualLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose ``time()`` is virtual (see module doc)."""

    def __init__(self, *, virtual: bool = True) -> None:
        self._now = 0.0
        self._virtual = virtual
        self.autojump = False
        self._idle_waiter: _Idle | None = None
        super().__init__(selector=_VirtualSelector(self))

    def time(self) -> float:
        if not self._virtual:
            return super().time()
        return self._now

    def advance(self, seconds: float) -> None:
        if self._virtual:
            self._now += seconds

    async def idle(self) -> bool:
        fut: asyncio.Future[bool] = self.create_future()

        def fire(quiet: bool) -> None:
            if not fut.done():
                fut.set_result(quiet)

        self._idle_waiter = _Idle(fire)
        try:
            return await fut
        finally:
            self._idle_waiter = None


# ------------------------------------------------------------------------ trio


def _make_trio_clock() -> Any:
    import trio

    class TrioVirtualClock(trio.abc.Clock):
        """A trio clock with the same frozen/autojump semantics as the loop."""

        def __init__(self, *, virtual: bool = True) -> None:
            self._now = 0.0
            self._virtual = virtual
            self.autojump = False
            self._idle_waiter: _Idle | None = None

        def start_clock(self) -> None:
            self._real0 = time.perf_counter()

        def current_time(self) -> float:
            if not self._virtual:
                return time.perf_counter() - self._real0
            return self._now

        def deadline_to_sleep_time(self, deadline: float) -> float:
            # Called only when no task is runnable.
            if busy_worker_threads():
                return THREAD_POLL
            waiter = self._idle_waiter
            if waiter is not None:
                self._idle_waiter = None
                waiter.fire(True)
                return 0.0
            if not self._virtual:
                return deadline - self.current_time()
            if self.autojump and deadline != float("inf"):
                self._now = max(self._now, deadline)
                return 0.0
            return 0.05

        def advance(self, seconds: float) -> None:
            if self._virtual:
                self._now += seconds

        def count_spin(self) -> None:
            if self.autojump and self._virtual:
                self._now += SPIN_TICK
            waiter = self._idle_waiter
            if waiter is not None:
                waiter.spins += 1
                if waiter.spins > SPIN_LIMIT:
                    self._idle_waiter = None
                    waiter.fire(False)

        async def idle(self) -> bool:
            event = trio.Event()
            result = [True]

            def fire(quiet: bool) -> None:
                result[0] = quiet
                event.set()

            self._idle_waiter = _Idle(fire)
            try:
                await event.wait()
            finally:
                self._idle_waiter = None
            return result[0]

    class SpinCounter(trio.abc.Instrument):
        """Counts loop iterations so a spinning app cannot stall ``idle``."""

        def __init__(self, clock: TrioVirtualClock) -> None:
            self._clock = clock

        def before_io_wait(self, timeout: float) -> None:
            if timeout == 0:
                self._clock.count_spin()

    return TrioVirtualClock, SpinCounter


_trio_classes: Any = None


def TrioVirtualClock(*, virtual: bool = True) -> Any:
    """Build the trio clock (trio is imported only when it is used)."""
    global _trio_classes
    if _trio_classes is None:
        _trio_classes = _make_trio_clock()
    return _trio_classes[0](virtual=virtual)


def trio_spin_counter(clock: Any) -> Any:
    global _trio_classes
    if _trio_classes is None:
        _trio_classes = _make_trio_clock()
    return _trio_classes[1](clock)

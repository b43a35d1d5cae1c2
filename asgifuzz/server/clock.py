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
   file I/O in worker threads; Django runs views in asgiref's executors; WSGI
   adapters run the whole app in threads that wait on the loop.  A task
   waiting on a thread is blocked, but the loop is not quiescent: the thread
   will wake it.  Every thread the app started is inspected generically: one
   parked on a lock, queue, event or future is idle, any other is busy.  While
   a thread is busy, time does not jump and ``idle`` keeps waiting (in real
   time, bounded by ``MAX_THREAD_WAIT``).

Both loops hook the one place where a loop decides how long to sleep: the
selector's ``select(timeout)`` on asyncio and ``Clock.deadline_to_sleep_time``
on trio.  Both are called exactly when the loop has nothing runnable.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import linecache
import math
import os
import queue
import re
import selectors
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from asgifuzz._frames import current_frames

__all__ = (
    "AsyncioVirtualLoop",
    "TrioVirtualClock",
    "busy_worker_threads",
    "note_thread_baseline",
)

#: Loop iterations without going idle before ``idle()`` reports a spinning app.
SPIN_LIMIT = 20_000
#: Real seconds to wait for a busy worker thread before looking again.
THREAD_POLL = 0.0005
#: Virtual seconds a busy loop iteration costs in autojump mode, so that an app
#: that spins forever still reaches the hang deadline.
SPIN_TICK = 0.001

#: Real seconds virtual time waits for busy threads before it moves on anyway
#: (a thread blocked for good in I/O must not stall the run forever).
MAX_THREAD_WAIT = 20.0

# Where a thread that waits for another thread, or for the event loop, sits:
# (file name, function) of the synchronisation primitives' Python frames.
_WAIT_FRAMES = frozenset(
    {
        ("threading.py", "wait"),
        ("threading.py", "acquire"),
        ("threading.py", "join"),
        ("threading.py", "_wait_for_tstate_lock"),
        ("threading.py", "wait_for"),
        ("queue.py", "get"),
        ("queue.py", "put"),
        ("_base.py", "result"),  # concurrent.futures.Future.result
        ("_base.py", "wait"),
    }
)
#: The files of those primitives: the only frames whose locals are read.
_WAIT_FILES = frozenset({threading.__file__, queue.__file__, concurrent.futures._base.__file__})
# A frame parked inside a C-level primitive has no Python frame above it: the
# line it is on tells (SimpleQueue.get, lock.acquire, ...).  time.sleep and
# I/O calls are not on this list: a thread sleeping or reading is working.
_BLOCKING_LINE = re.compile(r"\.(acquire|get|wait|wait_for|join|result|put)\(")

_baseline: frozenset[int] | None = None
#: ident -> when the thread was first seen busy without a pause since (real time).
_busy_since: dict[int, float] = {}
#: The threads' states when they were last all found parked.
_settled: dict[int, tuple[bool, int, int]] = {}


def note_thread_baseline() -> None:
    """Remember the threads that exist before any app code runs (once per process).

    They are the host's (pytest-xdist, the supervisor's watchdog, threads an
    app starts at import): never the work of a request.
    """
    global _baseline
    if _baseline is None:
        _baseline = frozenset(t.ident for t in threading.enumerate() if t.ident is not None)


def _handed_work(thread: threading.Thread) -> bool:
    """A pool thread whose pool handed it work it has not picked up yet.

    Read from the thread object, never from its frames' locals: the work
    queue is an argument of concurrent.futures' ``_worker``, an attribute of
    anyio's ``WorkerThread``, and trio's thread cache keeps the job on the
    object whose method the thread runs.
    """
    owner = getattr(getattr(thread, "_target", None), "__self__", None)
    if getattr(owner, "_job", None) is not None:  # trio's thread cache
        return True
    held = [*getattr(thread, "_args", ()), *vars(thread).values()]
    try:
        return any(isinstance(q, (queue.Queue, queue.SimpleQueue)) and q.qsize() for q in held)
    except Exception:
        return False


def _wait_locals(frame: Any) -> dict[str, Any] | None:
    """The locals of a frame of the standard library's wait functions, else None.

    Reading ``f_locals`` of another thread's frame runs CPython's
    FastToLocals on that thread's live frame.  Should anything there run
    Python code (a collection's finalizers, or freeing a stale local whose
    ``__del__`` runs), the GIL can pass to the thread, which pops the frame
    under the copy: the interpreter crashed so (CPython 3.11, an anyio worker
    doing the app's file I/O).  So locals are read only from these few
    frames, whose locals are locks, futures, numbers and queue items, with
    the collector held off.
    """
    if frame.f_code.co_filename not in _WAIT_FILES:
        return None
    enabled = gc.isenabled()
    gc.disable()
    try:
        return dict(frame.f_locals)
    finally:
        if enabled:
            gc.enable()


def _woken(frame: Any) -> bool:
    """A parked wait that is already over: the thread waits only for the CPU.

    On a loaded machine a notified thread can stay off the CPU for longer
    than the two looks of ``busy_worker_threads``; counted as parked, virtual
    time jumped past it and WSGI adapters were reported as ``app-hang``.
    """
    names = _wait_locals(frame)
    if names is None:
        return False
    owner = names.get("self")
    name = frame.f_code.co_name
    if isinstance(owner, threading.Thread) and name in ("join", "_wait_for_tstate_lock"):
        # Joining a thread that has left threading.enumerate(): it is running its last steps, or has
        # ended and the joiner waits only for the CPU (asgiref's ThreadSensitiveContext joins its
        # executor so; under load, time jumped past the app's hang deadline meanwhile).  A joined
        # thread still listed is looked at for itself.
        return all(t is not owner for t in threading.enumerate())
    if isinstance(owner, threading.Condition) and name == "wait":
        # notify() takes the waiter off the list before it wakes it (asgiref's
        # run_until_future waits so for its future's done callback).
        waiter = names.get("waiter")
        return waiter is not None and all(w is not waiter for w in list(owner._waiters))  # type: ignore[attr-defined]
    if isinstance(owner, concurrent.futures.Future):
        return owner.done()
    if isinstance(owner, threading.Event):
        return owner.is_set()
    if isinstance(owner, queue.Queue) and name == "get":
        return bool(owner.qsize())
    return False


def _parked(frame: Any) -> bool:
    """The thread waits on a lock, queue, event or future: for another thread or the loop."""
    code = frame.f_code
    if (os.path.basename(code.co_filename), code.co_name) not in _WAIT_FRAMES:
        line = linecache.getline(code.co_filename, frame.f_lineno)
        if not _BLOCKING_LINE.search(line):
            return False
    f, depth = frame, 0
    while f is not None and depth < 6:
        if _woken(f):
            return False
        f, depth = f.f_back, depth + 1
    return True


def _thread_states() -> dict[int, tuple[bool, int, int]]:
    """ident -> (parked, frame id, last instruction) for the app's threads."""
    frames = current_frames()
    me = threading.get_ident()
    base = _baseline or frozenset()
    out = {}
    for thread in threading.enumerate():
        ident = thread.ident
        if ident is None or ident == me or ident in base or thread.name.startswith("asgifuzz"):
            continue
        frame = frames.get(ident)
        if frame is None:
            continue  # finished, or not started yet
        out[ident] = (_parked(frame) and not _handed_work(thread), id(frame), frame.f_lasti)
    return out


def busy_worker_threads() -> int:
    """Count the app's threads that are running Python or blocking I/O on its behalf.

    Generic, not a list of known pools: a thread is idle when it waits on a
    lock, queue, event or future (for another thread, or for the event loop:
    WSGI adapters and async_to_sync wait there), and busy otherwise.  A
    thread newly seen parked is looked at twice, ``THREAD_POLL`` apart,
    before it counts as idle; one parked at the same place as at the last
    call is idle at once (pools keep idle threads around for seconds).
    Threads that existed before any app code ran are not the app's
    (``note_thread_baseline``).  Each busy thread holds virtual time back
    for at most ``MAX_THREAD_WAIT`` real seconds without a pause.
    """
    global _settled
    if threading.active_count() == 1:
        _busy_since.clear()
        return 0  # the common case: no other thread exists at all
    first = _thread_states()
    busy = {ident for ident, (parked, _, _) in first.items() if not parked}
    if not busy and any(_settled.get(ident) != state for ident, state in first.items()):
        time.sleep(THREAD_POLL)
        again = _thread_states()
        busy = {ident for ident, state in again.items() if not state[0] or first.get(ident) != state}
        first = again
    if not busy:
        _settled = first
    for ident in [i for i in _busy_since if i not in busy]:
        del _busy_since[ident]  # seen idle, or gone: its allowance starts over
    # Each thread holds time back for at most MAX_THREAD_WAIT of being busy
    # without a pause (a thread stuck for good, or a library's housekeeping
    # thread sleeping in a loop such as sentry-sdk's monitor, must neither
    # stall the run nor hide the other threads' work).
    now = time.monotonic()
    return sum(now - _busy_since.setdefault(ident, now) <= MAX_THREAD_WAIT for ident in busy)


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


#: Virtual seconds of the grid each case starts on (``snap``): a power of two.
CASE_GRID = 1024.0


def _snap(clock: Any) -> None:
    """Move virtual time on to the next multiple of ``CASE_GRID`` (a case's start).

    The clock runs on across cases; starting each on the grid gives a case the
    same float arithmetic wherever it runs (``deadline == now`` ties break the
    same way), so a connection alone and in a session time their events alike.
    """
    if clock._virtual:
        clock._now = float(math.ceil(clock._now / CASE_GRID) * CASE_GRID)


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

    def snap(self) -> None:
        _snap(self)

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
            if _entry_pending():
                return 0.0  # a thread just handed the loop work: it runs before any time passes
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

        def snap(self) -> None:
            _snap(self)

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


def _entry_pending() -> bool:
    """A thread handed the trio loop a callback (``run_sync_soon``) that has not run yet.

    A worker thread that delivers its result queues it and parks at once; the
    loop sees it only after its next I/O wait.  Jumping time before that wait
    fired the app's hang deadline under a FastAPI FileResponse on trio (the
    file read's result was queued), seen on a loaded machine.
    """
    import trio

    try:
        queue_ = getattr(trio.lowlevel.current_trio_token(), "_reentry_queue", None)
    except RuntimeError:
        return False
    return bool(queue_ is not None and (getattr(queue_, "queue", None) or getattr(queue_, "idempotent_queue", None)))


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

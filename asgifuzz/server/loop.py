"""The event loops cases run on, with a virtual clock.

``Runner`` (below): one long-lived loop per backend per process, shared by
every case and by the app's lifespan, as on a real server.  ``run_on_loop``:
one coroutine on a fresh loop (the clock's own tests).  Both report every
task spawned (``TaskTracker``) so the driver can tell which tasks the app
started.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import queue
import sys
import threading
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from asgifuzz._config import Backend
from asgifuzz.server.clock import AsyncioVirtualLoop, TrioVirtualClock, note_thread_baseline, trio_spin_counter

__all__ = (
    "Abandoned",
    "Runner",
    "TaskTracker",
    "call_in_caller",
    "close_runners",
    "current_clock",
    "run_on_loop",
    "runner_for",
)


class TaskTracker(Protocol):
    def task_spawned(self, task: Any) -> None: ...
    def task_exited(self, task: Any) -> None: ...


def current_clock(backend: Backend) -> Any:
    """The running loop's virtual clock (``time``/``advance``/``idle``/``autojump``)."""
    if backend == "trio":
        import trio

        return trio.lowlevel.current_clock()
    return asyncio.get_running_loop()


def run_on_loop(
    main: Callable[[], Awaitable[None]],
    *,
    backend: Backend,
    virtual_time: bool,
    schedule_seed: int,
    tracker: TaskTracker,
) -> None:
    note_thread_baseline()
    if backend == "trio":
        _run_trio(main, virtual_time, schedule_seed, tracker)
    else:
        _run_asyncio(main, virtual_time, tracker)


def _run_asyncio(main: Callable[[], Awaitable[None]], virtual_time: bool, tracker: TaskTracker) -> None:
    loop = AsyncioVirtualLoop(virtual=virtual_time)

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kw: Any) -> asyncio.Task[Any]:
        task = asyncio.Task(coro, loop=loop, **kw)
        tracker.task_spawned(task)
        return task

    loop.set_task_factory(factory)
    try:
        loop.run_until_complete(main())
    finally:
        _close_asyncio_loop(loop)


def _close_asyncio_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what the app left running, give it three turns to unwind, finalize its generators, close."""
    try:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task._log_destroy_pending = False  # type: ignore[attr-defined]  # cancelled on purpose
            task.cancel()
        for _ in range(3):
            if all(t.done() for t in pending):
                break
            loop.run_until_complete(asyncio.sleep(0))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()


def _run_trio(
    main: Callable[[], Awaitable[None]], virtual_time: bool, schedule_seed: int, tracker: TaskTracker
) -> None:
    import trio
    import trio._core._run as trio_run

    clock = TrioVirtualClock(virtual=virtual_time)

    class Tracker(trio.abc.Instrument):
        def task_spawned(self, task: Any) -> None:
            tracker.task_spawned(task)

        def task_exited(self, task: Any) -> None:
            tracker.task_exited(task)

    # Deterministic, seeded scheduling: the batch order of trio's run queue is
    # part of the generated case, so races are explored, shrunk and replayed.
    old = getattr(trio_run, "_ALLOW_DETERMINISTIC_SCHEDULING", None)
    if old is not None:
        setattr(trio_run, "_ALLOW_DETERMINISTIC_SCHEDULING", True)  # noqa: B010 - a Final in trio
        trio_run._r.seed(schedule_seed)
    try:
        trio.run(main, clock=clock, instruments=[trio_spin_counter(clock), Tracker()])
    finally:
        if old is not None:
            setattr(trio_run, "_ALLOW_DETERMINISTIC_SCHEDULING", old)  # noqa: B010


# ----------------------------------------------------------- long-lived loops
#
# A real server runs one event loop and one lifespan per process, and every
# connection shares them.  Per-example loops broke apps that bind startup
# state to their loop (a lock or queue made at startup and used by requests),
# that refuse a second startup (Sanic), or whose threads keep a reference to
# the loop they first saw (asgiref's WsgiToAsgi).  So each backend gets ONE
# loop per process, reused by every case (``Runner``):
#
# * asyncio: the loop lives in the caller's thread and is simply stopped
#   between cases (``run_until_complete`` per case): nothing runs while
#   Hypothesis draws, exactly as before, with no thread hop.
# * trio: ``trio.run`` cannot pause, so it runs in a thread of its own
#   ("asgifuzz-trio-loop") for the runner's life.  Each case is a task in
#   its host nursery; what the case needs from the caller's thread (the
#   Hypothesis draws, which are not thread-safe) is called there through
#   ``call_in_caller`` while the loop thread waits, so the draw still happens
#   while the loop stands still.
#
# Each case gets: its own task tracker, its own trace origin (times are
# relative to the case's start), autojump off, no idle waiter, and (trio) its
# schedule seed.  What persists: the loop, the lifespans started on it (one
# per app, ``server.lifespan.SharedLifespans``) and what the app keeps in
# its own memory -- as on a real server.  A runner is replaced by a fresh one
# (and a fresh lifespan) only when it is unusable: a case was interrupted
# from outside (the stop signal), or a task the case spawned survived being
# cancelled (it would run on into later cases).


#: Seconds between checks that the trio loop thread still runs while a case waits on it.
LOOP_ALIVE_POLL = 0.5


class _CallerBox:
    """The mailbox between a trio case (loop thread) and the caller's thread."""

    def __init__(self) -> None:
        self.inbox: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self.reply: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()
        self.abandoned = False


_caller_box = threading.local()


class Abandoned(BaseException):
    """The caller stopped waiting for this case (it was interrupted): end it."""


def call_in_caller(fn: Callable[..., Any], *args: Any) -> Any:
    """Call ``fn(*args)`` in the thread that runs the case (the caller of ``Runner.run``).

    From a trio case, the loop thread blocks until the caller's thread has
    run it; anywhere else it is a plain call.
    """
    box: _CallerBox | None = getattr(_caller_box, "box", None)
    if box is None:
        return fn(*args)
    if box.abandoned:
        raise Abandoned
    box.inbox.put(("call", (fn, args)))
    ok, value = box.reply.get()
    if ok:
        return value
    raise value


class Runner:
    """One long-lived event loop of one backend (see above)."""

    backend: Backend

    def __init__(self, virtual: bool) -> None:
        from asgifuzz.server.lifespan import SharedLifespans

        note_thread_baseline()
        self.virtual = virtual
        self.tracker: TaskTracker | None = None
        #: Set when the runner must not run another case.
        self.broken = False
        self.lifespans = SharedLifespans()
        #: The host task group (lives as long as the loop): shared lifespans run in it.
        self.task_group: Any = None
        self.clock: Any = None

    # The tracker of the case in progress (None between cases: the lifespan's tasks are not tracked).
    def task_spawned(self, task: Any) -> None:
        if self.tracker is not None:
            self.tracker.task_spawned(task)

    def task_exited(self, task: Any) -> None:
        if self.tracker is not None:
            self.tracker.task_exited(task)

    async def _host(self, ready: Callable[[], None]) -> None:
        import anyio

        self._stop = anyio.Event()
        async with anyio.create_task_group() as tg:
            self.task_group = tg
            ready()
            await self._stop.wait()
            tg.cancel_scope.cancel()

    async def _close(self) -> None:
        import anyio

        self.clock.autojump = True
        try:
            with anyio.CancelScope(shield=True):
                await self.lifespans.shutdown_all(self.clock)
        finally:
            self._stop.set()

    def run(
        self,
        main: Callable[[], Awaitable[None]],
        *,
        tracker: TaskTracker,
        schedule_seed: int,
        on_start: Callable[[], None],
    ) -> None:
        """Run one case's ``main`` on the loop; ``on_start`` runs first, inside the loop."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class _AsyncioRunner(Runner):
    backend: Backend = "asyncio"

    def __init__(self, virtual: bool) -> None:
        super().__init__(virtual)
        loop = self.loop = AsyncioVirtualLoop(virtual=virtual)
        self.clock = loop

        def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kw: Any) -> asyncio.Task[Any]:
            task = asyncio.Task(coro, loop=loop, **kw)
            self.task_spawned(task)
            return task

        loop.set_task_factory(factory)
        started = asyncio.Event()
        self._host_task = loop.create_task(self._host(started.set))
        loop.run_until_complete(started.wait())

    def run(
        self,
        main: Callable[[], Awaitable[None]],
        *,
        tracker: TaskTracker,
        schedule_seed: int,
        on_start: Callable[[], None],
    ) -> None:
        self.tracker = tracker
        self.loop.autojump = False
        self.loop._idle_waiter = None

        async def case() -> None:
            on_start()
            await main()

        try:
            self.loop.run_until_complete(case())
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                self.broken = True  # stopped mid-case: its tasks are in an unknown state
            raise
        finally:
            self.tracker = None
            self._tidy(tracker)

    def _tidy(self, tracker: TaskTracker) -> None:
        """Cancel what the case spawned and left running; a task that will not end breaks the runner."""
        left = [t for t in getattr(tracker, "tasks", ()) if isinstance(t, asyncio.Task) and not t.done()]
        self.cancel_left(left)

    def cancel_left(self, left: list[asyncio.Task[Any]]) -> None:
        """Cancel ``left`` and give them three turns to end; one that will not end breaks the runner."""
        if self.broken or self.loop.is_closed():
            return
        for task in left:
            task._log_destroy_pending = False  # type: ignore[attr-defined]
            task.cancel()
        for _ in range(3):
            if all(t.done() for t in left):
                return
            self.loop.run_until_complete(asyncio.sleep(0))
        self.broken = any(not t.done() for t in left)

    def close(self) -> None:
        loop = self.loop
        if loop.is_closed():
            return
        try:
            if not self.broken:
                loop.run_until_complete(self._close())
                loop.run_until_complete(self._host_task)
        finally:
            _close_asyncio_loop(loop)


class _TrioRunner(Runner):
    backend: Backend = "trio"

    def __init__(self, virtual: bool) -> None:
        import trio

        super().__init__(virtual)
        self.clock = TrioVirtualClock(virtual=virtual)
        runner = self

        class Tracker(trio.abc.Instrument):
            def task_spawned(self, task: Any) -> None:
                runner.task_spawned(task)

            def task_exited(self, task: Any) -> None:
                runner.task_exited(task)

        ready = threading.Event()
        self._token: Any = None
        #: What ended ``trio.run`` early (the host nursery crashed), if it did.
        self._ended_by: BaseException | None = None

        async def host() -> None:
            self._token = trio.lowlevel.current_trio_token()
            _quiet_asyncgen_finalizer()
            await self._host(ready.set)

        def thread_main() -> None:
            try:
                trio.run(host, clock=self.clock, instruments=[trio_spin_counter(self.clock), Tracker()])
            except BaseException as exc:
                self._ended_by = exc  # surfaced by the case waiting on it (_serve), not lost in this thread
            finally:
                self.broken = True
                ready.set()

        _deterministic_trio(True)
        self._thread = threading.Thread(target=thread_main, name="asgifuzz-trio-loop", daemon=True)
        self._thread.start()
        self.thread_ident = self._thread.ident
        ready.wait()
        if self._token is None:
            raise RuntimeError("the trio loop thread did not start")

    def run(
        self,
        main: Callable[[], Awaitable[None]],
        *,
        tracker: TaskTracker,
        schedule_seed: int,
        on_start: Callable[[], None],
    ) -> None:
        self.tracker = tracker

        async def case() -> None:
            self.clock.autojump = False
            self.clock._idle_waiter = None
            on_start()
            await main()

        try:
            self._serve(case, schedule_seed)
        finally:
            self.tracker = None

    def _serve(self, job: Callable[[], Awaitable[None]], seed: int | None) -> None:
        """Run ``job`` as a task of the host nursery; serve its calls from this thread until it ends."""
        import trio

        box = _CallerBox()

        async def task() -> None:
            _caller_box.box = box
            gens = _trio_asyncgens()
            before = {id(g) for g in gens}
            if seed is not None:
                _seed_trio(seed)
            try:
                try:
                    await job()
                finally:
                    await _close_asyncgens([g for g in gens if id(g) not in before and _abandoned(g)])
            except trio.Cancelled as exc:
                box.inbox.put(("done", exc))
                raise  # the host is closing
            except BaseException as exc:
                box.inbox.put(("done", exc))
            else:
                box.inbox.put(("done", None))
            finally:
                _caller_box.box = None

        self._token.run_sync_soon(lambda: self.task_group.start_soon(task))
        finished = False
        try:
            while True:
                try:
                    kind, payload = box.inbox.get(timeout=LOOP_ALIVE_POLL)
                except queue.Empty:
                    if self._thread.is_alive():
                        continue
                    # trio.run ended under the case (seen on Litestar + trio): nobody will answer.
                    raise RuntimeError(f"asgifuzz's trio loop ended during a case: {self._ended_by!r}") from None
                if kind == "done":
                    finished = True
                    if payload is not None:
                        raise payload
                    return
                fn, args = payload
                try:
                    value = fn(*args)
                except BaseException as exc:
                    box.reply.put((False, exc))
                    if isinstance(exc, KeyboardInterrupt):
                        raise
                else:
                    box.reply.put((True, value))
        finally:
            if not finished:
                # Interrupted (the stop signal): the case must not wait for us.
                self.broken = True
                box.abandoned = True
                box.reply.put((False, Abandoned()))

    def close(self) -> None:
        if not self.broken:
            try:
                self._serve(self._close, None)
            except BaseException:
                self.broken = True
        if self._token is not None and self._thread.is_alive():
            with contextlib.suppress(Exception):  # the run may have ended meanwhile
                self._token.run_sync_soon(self._stop.set)
            self._thread.join(timeout=5)
        _deterministic_trio(False)


_deterministic_users = [0]


def _deterministic_trio(on: bool) -> None:
    """Seeded scheduling in trio (its batch order), while any trio runner lives."""
    import trio._core._run as trio_run

    if getattr(trio_run, "_ALLOW_DETERMINISTIC_SCHEDULING", None) is None:
        return
    _deterministic_users[0] += 1 if on else -1
    setattr(trio_run, "_ALLOW_DETERMINISTIC_SCHEDULING", _deterministic_users[0] > 0)  # noqa: B010 - a Final in trio


def _seed_trio(seed: int) -> None:
    import trio._core._run as trio_run

    if getattr(trio_run, "_ALLOW_DETERMINISTIC_SCHEDULING", None) is not None:
        trio_run._r.seed(seed)


#: Async generator -> the trio task that first iterated it (the loop thread's generators).
_FIRST_ITERATED_BY: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _quiet_asyncgen_finalizer() -> None:
    """Trio still finalizes the async generators the app abandons, without its ResourceWarning.

    ``trio.run`` warns for each one collected while it runs; on a per-case
    run they were closed quietly at the run's end, on the long-lived run they
    are collected mid-run.  The hooks are per thread: only the loop thread's.
    The first-iteration hook also notes which task started each generator
    (``_abandoned``).
    """
    import warnings

    import trio

    hooks = sys.get_asyncgen_hooks()
    finalize = hooks.finalizer
    firstiter = hooks.firstiter
    if finalize is None:
        return

    def finalizer(agen: Any) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            finalize(agen)

    def first(agen: Any) -> None:
        with contextlib.suppress(RuntimeError, TypeError):  # outside a task, or not weak-referenceable
            _FIRST_ITERATED_BY[agen] = trio.lowlevel.current_task()
        if firstiter is not None:
            firstiter(agen)

    sys.set_asyncgen_hooks(firstiter=first, finalizer=finalizer)


def _abandoned(agen: Any) -> bool:
    """Whether the task that first iterated ``agen`` has ended (the generator is left over, not in use).

    A case's first request starts the app's lifespan (``SharedLifespans``),
    whose ``asynccontextmanager`` (Starlette's ``lifespan=``, Litestar's
    ``app.lifespan()``) is an async generator the lifespan task holds open
    until the search ends: closing it from the case's task ran the app's
    shutdown after one case, and exited a task group the lifespan holds
    (Litestar's event emitter) from the wrong task, which killed trio's run.
    """
    import trio._core._run as trio_run

    task = _FIRST_ITERATED_BY.get(agen)
    if task is None:
        return True
    try:
        return task not in trio_run.GLOBAL_RUN_CONTEXT.runner.tasks
    except AttributeError:
        return True


def _trio_asyncgens() -> Any:
    """The async generators trio's run holds (a weak set), or an empty list."""
    import trio._core._run as trio_run

    try:
        return trio_run.GLOBAL_RUN_CONTEXT.runner.asyncgens.alive
    except AttributeError:
        return []


async def _close_asyncgens(gens: list[Any]) -> None:
    """Close the async generators a case left unfinished, as the end of a ``trio.run`` did.

    Left to the garbage collector on a long-lived run, each one is a
    ResourceWarning from trio (a stream the app abandoned when the client left).
    """
    import trio

    with trio.CancelScope(shield=True):
        for agen in gens:
            if agen.ag_frame is not None and not agen.ag_running:
                with contextlib.suppress(BaseException):
                    await agen.aclose()


_RUNNERS: dict[tuple[Backend, bool], Runner] = {}


def release_adopted() -> None:
    """Cancel what runs left running for their judgement (``server.app.ADOPTED``), once-per-loop work aside.

    As a case's own leftovers are cancelled: one that will not end breaks its
    runner, which the next case replaces.
    """
    from asgifuzz.server.app import ADOPTED, ONCE_PER_LOOP

    held = [task for task, key in ADOPTED if key not in ONCE_PER_LOOP and not task.done()]
    ADOPTED.clear()
    for runner in list(_RUNNERS.values()):
        if isinstance(runner, _AsyncioRunner):
            mine = [t for t in held if t.get_loop() is runner.loop]
            if mine:
                runner.cancel_left(mine)


def runner_for(backend: Backend, virtual_time: bool) -> Runner:
    """The process's live runner of ``backend`` (a fresh one if the last broke)."""
    key = (backend, virtual_time)
    runner = _RUNNERS.get(key)
    if runner is not None and runner.broken:
        del _RUNNERS[key]
        _close_quietly(runner)
        runner = None
    if runner is None:
        runner = _TrioRunner(virtual_time) if backend == "trio" else _AsyncioRunner(virtual_time)
        _RUNNERS[key] = runner
    return runner


def _close_quietly(runner: Runner) -> None:
    with contextlib.suppress(Exception):  # a broken loop's shutdown is best effort
        runner.close()


def close_runners() -> None:
    """Shut down every lifespan and loop (the end of a search, or of the process)."""
    while _RUNNERS:
        _, runner = _RUNNERS.popitem()
        _close_quietly(runner)


def _at_exit() -> None:
    for runner in list(_RUNNERS.values()):
        _close_quietly(runner)


atexit.register(_at_exit)

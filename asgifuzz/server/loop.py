"""Run one coroutine function on a fresh asyncio or trio loop with a virtual clock.

Each run gets its own loop: nothing the app leaves behind (tasks, timers,
context) reaches the next case.  The runner reports every task spawned
(``TaskTracker``) so the driver can tell which tasks the app started.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from asgifuzz._config import Backend
from asgifuzz.server.clock import AsyncioVirtualLoop, TrioVirtualClock, note_thread_baseline, trio_spin_counter

__all__ = ("TaskTracker", "current_clock", "run_on_loop")


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
        try:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task._log_destroy_pending = False  # type: ignore[attr-defined]
                task.cancel()
            for _ in range(3):
                if not any(not t.done() for t in pending):
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

"""The app call: run it, record how it ended, and track the tasks it starts."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any

from asgifuzz._frames import coro_site, exception_text
from asgifuzz._types import ASGIApp
from asgifuzz.checks.lifecycle import EndKind
from asgifuzz.server.trace import Recorder

__all__ = ("ADOPTED", "ONCE_PER_LOOP", "AppTask", "task_key")

#: asyncio tasks a run left running, kept alive until the run is judged: ``_targets`` runs the case
#: again, and a task the second run does not start again runs once per loop, not once per request.
ADOPTED: list[tuple[asyncio.Task[Any], object]] = []
#: The coroutine code of tasks found to run once per event loop (sse-starlette's shutdown watcher):
#: started by the first request and kept for the loop's life, as on a server; never a request's leak.
ONCE_PER_LOOP: set[object] = set()


def task_key(task: asyncio.Task[Any]) -> object:
    """What tells two tasks of the same work apart from other work: their coroutine's code."""
    coro = task.get_coro()
    return getattr(coro, "cr_code", None) or type(coro)


class AppTask:
    """One call of the ASGI app inside the driver's task group.

    Tasks spawned while the call runs are tracked (the loop runner reports
    each spawn), so those still running after the app returned can be
    reported as leaks and cancelled.
    """

    def __init__(self, app: ASGIApp, recorder: Recorder, on_end: Callable[[], None]) -> None:
        self.app = app
        self.recorder = recorder
        self._on_end = on_end
        self.finished = False
        self.end: EndKind = "hung"
        self.exception: BaseException | None = None
        self.result: object = None
        self.coro: Any = None
        #: The driver is cancelling the call at the end of the run (not the app's doing).
        self.cancelling = False
        #: Tasks spawned while the app runs (asyncio.Task or trio Task).
        self.tasks: list[Any] = []
        self.tracking = False
        #: In a session, tasks are attributed by ancestry: the task of this call (set when it starts).
        self.rooted = False
        self.root: Any = None
        #: trio tasks spawned and not yet exited.
        self._alive: set[Any] = set()

    # The loop runners call these for every task spawned / exited.
    def task_spawned(self, task: Any) -> None:
        if self.tracking:
            self.tasks.append(task)
            self._alive.add(task)

    def task_exited(self, task: Any) -> None:
        self._alive.discard(task)

    async def run(self, scope: dict[str, Any], receive: Any, send: Any, label: str) -> None:
        import anyio

        self.recorder.record("server", "call", None, label)
        if self.rooted:
            self.root = _current_task()
        cancelled = anyio.get_cancelled_exc_class()
        try:
            self.coro = self.app(scope, receive, send)
            self.result = await self.coro
        except cancelled:
            if self.cancelling:
                self.end = "hung"
                raise
            self.end = "raised"
            self.exception = sys.exc_info()[1]
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            self.end = "raised"
            self.exception = exc
        else:
            self.end = "returned"
        finally:
            if not self.cancelling:
                self.finished = True
                self.tracking = False
                detail = exception_text(self.exception) if self.exception is not None else self.end
                self.recorder.record("app", self.end, None, detail)
                self._on_end()

    def stuck_at(self) -> str:
        """Where the (still running) app call is waiting."""
        return coro_site(self.coro)

    def leaked(self) -> list[tuple[str, str, object]]:
        """(name, where it waits, key) of each tracked task still running.

        asyncio tasks are adopted (``ADOPTED``: untracked, kept running until
        the run is judged), their key given; work known to run once per loop
        is left running and not listed.  trio tasks have no key.
        """
        out: list[tuple[str, str, object]] = []
        for task in list(self.tasks):
            if isinstance(task, asyncio.Task):
                if task.done():
                    continue
                self.tasks.remove(task)  # the runner's tidy-up leaves it to the judgement
                key = task_key(task)
                ADOPTED.append((task, key))
                if key not in ONCE_PER_LOOP:
                    out.append((task.get_name(), coro_site(task.get_coro()), key))
            elif task in self._alive:
                out.append((task.name, coro_site(task.coro), None))
        return out


def _current_task() -> Any:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no asyncio loop in this thread: trio
        import trio

        return trio.lowlevel.current_task()

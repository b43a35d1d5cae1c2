"""The lifespan protocol, run the way uvicorn's ``--lifespan auto|on`` runs it.

Before the connection the app gets a ``lifespan`` scope and
``lifespan.startup``; its ``state`` dict is copied into every request scope
(shallowly, as uvicorn and hypercorn do); after the connection it gets
``lifespan.shutdown``.  In ``auto`` mode an app that raises before answering
the startup does not support lifespan, and the run goes on without it (as
uvicorn logs at INFO and continues); in ``on`` mode that is an error.  A
startup that fails (``lifespan.startup.failed``, or an exception in ``on``
mode) or does not finish is a ``LifespanError``: one clear line, never a
finding per request.

As on a real server, one lifespan serves many connections: the startup runs
once per app on the process's long-lived loop (``server.loop.Runner``),
at the app's first case, and its shutdown when the loop closes (the end of
the search).  What the startup creates (locks, queues, pools, clients) stays
bound to the loop every later case runs on (``SharedLifespans``).
"""

from __future__ import annotations

from typing import Any, Literal

from asgifuzz._errors import UsageError
from asgifuzz._frames import exception_text
from asgifuzz._types import ASGIApp
from asgifuzz.server.trace import Recorder

__all__ = ("Lifespan", "LifespanError", "LifespanMode", "SharedLifespans", "lifespan_unsupported")

LifespanMode = Literal["auto", "on", "off"]

#: Started lifespans kept per loop; the least recently used is shut down past this.
MAX_SHARED = 64

#: Apps found not to support lifespan in ``auto`` mode (by id; the app is kept alive).
_UNSUPPORTED: dict[int, object] = {}


def lifespan_unsupported(app: object) -> bool:
    """The app raised on the lifespan scope before its startup reply (auto mode went on without it)."""
    return id(app) in _UNSUPPORTED


class LifespanError(UsageError):
    """The app's lifespan startup failed or did not finish: nothing can be fuzzed."""


class Lifespan:
    """One lifespan of ``app``: start it, hand out its state, shut it down."""

    def __init__(self, app: ASGIApp, mode: LifespanMode, recorder: Recorder, timeout: float) -> None:
        self.app = app
        self.mode = mode
        self.recorder = recorder
        self.timeout = timeout
        #: The lifespan scope's ``state``, filled by the app's startup.
        self.state: dict[str, Any] = {}
        self.running = False
        self._inbox: list[dict[str, Any]] = []
        self._replies: list[dict[str, Any]] = []
        self._ended: BaseException | Literal["returned"] | None = None
        self._changed: Any = None

    @property
    def wanted(self) -> bool:
        return self.mode != "off" and id(self.app) not in _UNSUPPORTED

    def _notify(self) -> None:
        import anyio

        self._changed.set()
        self._changed = anyio.Event()

    async def _receive(self) -> dict[str, Any]:
        while not self._inbox:
            await self._changed.wait()
        return self._inbox.pop(0)

    async def _send(self, message: Any) -> None:
        mtype = message.get("type") if isinstance(message, dict) else None
        if not (isinstance(mtype, str) and mtype.startswith("lifespan.")):
            # uvicorn asserts here: an HTTP-only app that answers the lifespan
            # scope with HTTP messages raises, and counts as "unsupported".
            raise RuntimeError(f"expected a 'lifespan.*' message, got {mtype!r}")
        self._replies.append(dict(message))
        self._notify()

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        try:
            await self.app(scope, self._receive, self._send)
        except Exception as exc:
            self._ended = exc
        else:
            self._ended = "returned"
        finally:
            self._notify()

    async def _exchange(self, phase: Literal["startup", "shutdown"]) -> str | None:
        """Send ``lifespan.<phase>``; the reply type, or None when the app ended first."""
        import anyio

        self._inbox.append({"type": f"lifespan.{phase}"})
        self._notify()
        with anyio.move_on_after(self.timeout):
            while not self._replies and self._ended is None:
                await self._changed.wait()
        if self._replies:
            reply = self._replies.pop(0)
            self.recorder.record("app", "lifespan", reply)
            return str(reply.get("type"))
        if self._ended is None:
            raise LifespanError(
                f"the app's lifespan {phase} did not finish within {self.timeout:g}s (virtual): it never answered "
                f"'lifespan.{phase}' (uvicorn would wait forever, hypercorn gives up); an app without lifespan "
                "should raise for the 'lifespan' scope, or run with lifespan off (--lifespan off)"
            )
        return None

    async def startup(self, task_group: Any) -> None:
        import anyio

        self._changed = anyio.Event()
        self.recorder.record("server", "lifespan", {"type": "lifespan.startup"})
        task_group.start_soon(self._run)
        reply = await self._exchange("startup")
        if reply == "lifespan.startup.complete":
            self.running = True
            return
        if reply == "lifespan.startup.failed":
            lines = [line for line in self._replies_message().splitlines() if line.strip()]
            # Starlette sends the whole traceback as the message: its last line says what failed.
            raise LifespanError(f"the app's lifespan startup failed: {lines[-1].strip() if lines else '(no message)'}")
        ended = self._ended
        if isinstance(ended, BaseException):
            if self.mode == "on":
                raise LifespanError(f"the app's lifespan startup raised {exception_text(ended)}") from ended
            _UNSUPPORTED[id(self.app)] = self.app  # auto: the app does not do lifespan
            self.recorder.record("asgifuzz", "note", None, "the app does not support lifespan; going on without it")
            return
        # Returned without a reply: servers treat that as a completed startup.
        self.running = True

    def _replies_message(self) -> str:
        for event in self.recorder.events[::-1]:
            if event.kind == "lifespan" and event.message and event.message.get("type") == "lifespan.startup.failed":
                return str(event.message.get("message", ""))
        return ""

    async def shutdown(self) -> None:
        if self.running and self._ended is None:
            self.recorder.record("server", "lifespan", {"type": "lifespan.shutdown"})
            await self._exchange("shutdown")


class SharedLifespans:
    """The lifespans started on one loop: one per (app, mode), shut down when the loop closes."""

    def __init__(self) -> None:
        self._started: dict[tuple[int, str], Lifespan] = {}
        #: Startups and shutdowns (not part of any case's trace).
        self.recorder = Recorder()

    async def state(
        self, app: ASGIApp, mode: LifespanMode, limit: float, task_group: Any, clock: Any
    ) -> dict[str, Any]:
        """The lifespan state of ``app``, starting its lifespan first if this loop has not yet.

        A failed startup is not kept: the next case tries again (and fails the
        same way, one clear ``LifespanError``).
        """
        key = (id(app), mode)
        lifespan = self._started.pop(key, None)
        if lifespan is None:
            lifespan = Lifespan(app, mode, self.recorder, limit)
            if lifespan.wanted:
                if len(self._started) >= MAX_SHARED:
                    oldest = next(iter(self._started))
                    await self._shutdown(self._started.pop(oldest), clock)
                autojump, clock.autojump = clock.autojump, True
                try:
                    await lifespan.startup(task_group)
                finally:
                    clock.autojump = autojump
        self._started[key] = lifespan  # most recently used last
        return lifespan.state

    async def _shutdown(self, lifespan: Lifespan, clock: Any) -> None:
        autojump, clock.autojump = clock.autojump, True
        try:
            await lifespan.shutdown()
        except LifespanError:
            pass  # a shutdown that never answers is the app's business at exit, as on a server
        finally:
            clock.autojump = autojump

    async def shutdown_all(self, clock: Any) -> None:
        while self._started:
            _, lifespan = self._started.popitem()
            await self._shutdown(lifespan, clock)

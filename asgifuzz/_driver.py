"""The fake HTTP/1.1 server that drives an ASGI app in-process.

Theory of operation
-------------------
One *run* is one connection.  The driver task and the app task share one
event loop (asyncio or trio, through anyio).  The driver asks an
``ActionSource`` for the next client/server action (Hypothesis draws it while
fuzzing; a script supplies it when replaying), applies it, and lets the app
run to its next blocking point.  Because the driver never yields to the app
between two client actions, what the app observes depends only on the script
and the scheduler, never on wall-clock timing.

``receive()`` hands out exactly the body the script delivered, in the chunks
the profile dictates, then blocks until the response completes or the client
leaves; it never invents a disconnect.  ``send()`` records a copy of every
message, runs it through the oracles and then does what the chosen real
server does: raise a non-OSError on a violation (uvicorn raises
RuntimeError), silently drop messages after the client left (uvicorn,
hypercorn, daphne), or raise an OSError subclass there (the strict profile).

When the script ends the client sends the rest of its body and waits (in
virtual time, autojumping) for the response; if none completes it gives up
and disconnects.  The app then has ``hang_timeout`` virtual seconds to return.
Tasks the app started and left running are reported and cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from asgifuzz._case import (
    Action,
    Advance,
    Backend,
    Case,
    Chunk,
    Disconnect,
    Latency,
    Run,
    describe_action,
)
from asgifuzz._clock import AsyncioVirtualLoop, TrioVirtualClock, trio_spin_counter
from asgifuzz._errors import (
    AppHang,
    AppRaised,
    CallAfterReturn,
    ExceptionOnDisconnect,
    ReceiveAfterDisconnect,
    ResponseIncomplete,
    ReturnedNonNone,
    TaskLeak,
    Violation,
)
from asgifuzz._finding import Finding, TraceEvent, _engine_file, exception_site, exception_text
from asgifuzz._oracles import ResponseChecker
from asgifuzz._probe import PlantedError, Probe, install_probe
from asgifuzz._profiles import ServerProfile, get_profile
from asgifuzz._types import ASGIApp

__all__ = (
    "ActionSource",
    "ClientDisconnected",
    "DriveSettings",
    "Outcome",
    "ScriptSource",
    "ServerRejectedMessage",
    "run_case",
)

_PACKAGE_DIR = __file__.rsplit("/", 1)[0]


class ClientDisconnected(OSError):
    """Raised by ``send()`` after the client left, in profiles that raise (spec 2.4+)."""


class ServerRejectedMessage(RuntimeError):
    """Raised by ``send()`` for a protocol violation; deliberately not an OSError."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DriveSettings:
    #: Virtual seconds the client waits for a complete response before leaving.
    client_patience: float = 300.0
    #: Virtual seconds the app has to return after the response or disconnect.
    hang_timeout: float = 60.0
    #: Virtual seconds to watch for late calls and leaked tasks after return.
    grace: float = 1.0
    #: Virtual time (default) or the real clock.
    virtual_time: bool = True


class ActionSource(Protocol):
    def next_action(self, run: Connection) -> Action | None: ...


class ScriptSource:
    """Replays a fixed list of actions."""

    def __init__(self, actions: Sequence[Action]) -> None:
        self._actions = list(actions)
        self._i = 0

    def next_action(self, run: Connection) -> Action | None:
        if self._i >= len(self._actions):
            return None
        self._i += 1
        return self._actions[self._i - 1]


@dataclass(slots=True)
class ClientView:
    """The response as the client received it."""

    status: int | None = None
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    #: (seq, bytes) for every body chunk that reached the client.
    chunks: list[tuple[int, bytes]] = field(default_factory=list)
    start_seq: int | None = None
    complete_seq: int | None = None
    pathsend: str | None = None
    #: The request was HEAD (the response has no body to wait for).
    head: bool = False
    #: The start message declared trailers (the response ends with them).
    trailers: bool = False

    @property
    def body(self) -> bytes:
        return b"".join(c for _, c in self.chunks)

    @property
    def complete(self) -> bool:
        return self.complete_seq is not None

    @property
    def delivered_seq(self) -> int | None:
        """When the client had the whole response by HTTP framing.

        The final body message, or earlier once the declared Content-Length
        arrived (at the start for HEAD, 204 and 304): a server then has
        nothing left to send, even if the ASGI response never formally ended.
        """
        if self.start_seq is None or self.trailers:
            return self.complete_seq
        if self.head or self.status in (204, 304):
            return self.start_seq
        length = self.header(b"content-length")
        if length is None or not length.strip().isdigit():
            return self.complete_seq
        need = int(length)
        if need == 0:
            return self.start_seq
        got = 0
        for seq, chunk in self.chunks:
            got += len(chunk)
            if got >= need:
                return seq
        return self.complete_seq

    def header(self, name: bytes) -> bytes | None:
        for n, v in self.headers:
            if n.lower() == name:
                return v
        return None


@dataclass(slots=True)
class Outcome:
    """Everything observed in one run."""

    case: Case
    trace: list[TraceEvent]
    findings: list[Finding]
    #: "returned", "raised" or "hung".
    app_end: str
    app_exc: BaseException | None
    response: ClientView
    probe: Probe
    disconnect_seq: int | None

    @property
    def primary(self) -> Finding | None:
        return self.findings[0] if self.findings else None


def _copy_message(message: object) -> dict[str, Any] | None:
    if not isinstance(message, Mapping):
        return None
    out: dict[str, Any] = {}
    for k, v in message.items():
        if isinstance(v, bytearray | memoryview):
            v = bytes(v)
        elif k in ("headers", "links") and not isinstance(v, bytes | str | dict):
            with contextlib.suppress(TypeError):
                v = [tuple(p) if isinstance(p, list | tuple) else p for p in v]
        out[str(k)] = v
    return out


def _engine_frame(frame: Any) -> bool:
    return _engine_file(frame.f_code.co_filename)


def _forwards(frame: Any, message: object) -> bool:
    """The frame is a ``send`` wrapper that got ``message`` as an argument and passes it on."""
    code = frame.f_code
    names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    return any(frame.f_locals.get(name) is message for name in names)


def _caller_site(message: object = None) -> str:
    """'file:line' of the first frame outside asgifuzz that called into us.

    With ``message``, pass-through ``send`` wrappers (Starlette's
    ``ServerErrorMiddleware._send`` and the like) are skipped, so the site is
    the code that produced the message, not the outermost wrapper.
    """
    frame: Any = sys._getframe(2)
    while frame is not None and _engine_frame(frame):
        frame = frame.f_back
    if message is not None:
        while frame is not None and frame.f_back is not None and _forwards(frame, message):
            outer = frame.f_back
            while outer is not None and _engine_frame(outer):
                outer = outer.f_back
            if outer is None:
                break
            frame = outer
    if frame is None:
        return ""
    from asgifuzz._finding import _short

    return f"{_short(frame.f_code.co_filename)}:{frame.f_lineno}"


_RUNTIME_DIRS = tuple(f"{sep}{name}{sep}" for sep in ("/",) for name in ("asyncio", "trio", "anyio", "sniffio"))


def _coro_site(coro: Any) -> str:
    """The innermost app frame a suspended coroutine chain is waiting in.

    Frames of the event loop libraries themselves (asyncio, trio, anyio) are
    skipped: "waiting in Event.wait" says less than the line that awaited it.
    """
    from asgifuzz._finding import _short

    site = ""
    seen = 0
    while coro is not None and seen < 200:
        seen += 1
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        filename = frame.f_code.co_filename if frame is not None else ""
        if (
            frame is not None
            and not filename.startswith(_PACKAGE_DIR)
            and not any(d in filename for d in _RUNTIME_DIRS)
        ):
            site = f"{_short(filename)}:{frame.f_lineno} in {frame.f_code.co_name}"
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return site


def is_disconnect_signal(exc: BaseException) -> bool:
    """True for exceptions that only say "the client went away".

    That is our own ``ClientDisconnected`` (the spec's OSError), an exception
    raised while handling it, and Starlette's ``ClientDisconnect`` (what
    ``Request.body()`` raises when ``http.disconnect`` arrives mid-body).
    """
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, ClientDisconnected) or type(e).__name__ == "ClientDisconnect":
            return True
        e = e.__cause__ or e.__context__
    return False


def _is_planted(exc: BaseException) -> bool:
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, PlantedError):
            return True
        e = e.__cause__ or e.__context__
    return False


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        out: list[BaseException] = []
        for sub in exc.exceptions:
            out += _leaves(sub)
        return out
    return [exc]


class Connection:
    """One HTTP connection: the fake server's state and the driver loop."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        target: str,
        scope: dict[str, Any],
        body: bytes,
        source: ActionSource,
        backend: Backend,
        profile: ServerProfile,
        schedule_seed: int,
        settings: DriveSettings,
        differential: bool,
        stack: tuple[int, ...] = (),
    ) -> None:
        self.app = app
        self.target = target
        self.scope_template = scope
        self.body = body
        self.source = source
        self.backend = backend
        self.profile = profile
        self.schedule_seed = schedule_seed
        self.settings = settings
        self.differential = differential
        self.stack = stack
        self.actions: list[Action] = []
        self._seq = itertools.count()
        self.trace: list[TraceEvent] = []
        self.findings: list[Finding] = []
        self.probe = Probe(record=self._probe_record)
        self.response = ClientView(head=scope.get("method") == "HEAD")
        self.checker = ResponseChecker(scope)
        # client side
        self.delivered = 0
        self.disconnected = False
        self.disconnect_seq: int | None = None
        # server side receive state
        self.handed = 0
        self.final_handed = False
        self.disconnect_handed = False
        self.queue: list[dict[str, Any]] = []
        self.queue_disconnect_added = False
        self.latency = 0
        # app state
        self.app_finished = False
        self.app_end = "hung"
        self.app_exc: BaseException | None = None
        self.app_result: object = None
        self.app_coro: Any = None
        self.spinning = False
        self._cancelling = False
        self.tracked_tasks: list[Any] = []
        self._tracking = False
        self._alive: set[Any] = set()  # trio tasks spawned and not yet exited
        self._changed: Any = None  # an anyio.Event, made inside the loop

    # ------------------------------------------------------------ recording

    def _now(self) -> float:
        try:
            return float(self.clock.current_time() if self.backend == "trio" else self.clock.time())
        except Exception:
            return 0.0

    def record(
        self,
        actor: Any,
        kind: str,
        message: dict[str, Any] | None = None,
        detail: str = "",
    ) -> int:
        # next() on itertools.count is atomic: worker threads (sync background
        # tasks) may record probe events while the loop thread records too.
        seq = next(self._seq)
        self.trace.append(TraceEvent(seq, self._now(), actor, kind, message, detail))
        return seq

    def _probe_record(self, kind: str, detail: str) -> int:
        return self.record("endpoint", kind, None, detail)

    def find(
        self,
        invariant: type[Violation],
        message: str,
        *,
        where: str = "",
        exception: BaseException | None = None,
    ) -> Finding:
        finding = Finding(invariant, message, where=where, exception=exception)
        self.findings.append(finding)
        self.record("asgifuzz", "finding", None, f"{invariant.code}: {message}")
        return finding

    # -------------------------------------------------------- the scope

    def build_scope(self) -> dict[str, Any]:
        scope = dict(self.scope_template)
        asgi: dict[str, str] = {"version": "3.0"}
        if self.profile.spec_version is not None:
            asgi["spec_version"] = self.profile.spec_version
        scope["asgi"] = asgi
        ext = dict(scope.get("extensions") or {})
        if ext or self.profile.base_extensions:
            scope["extensions"] = ext
        else:
            scope.pop("extensions", None)
        if self.profile.state:
            scope.setdefault("state", {})
        scope["headers"] = [tuple(h) for h in scope.get("headers", [])]
        return scope

    # ------------------------------------------------------ client actions

    def deliver(self, size: int) -> None:
        if self.disconnected:
            return
        size = max(0, min(size, len(self.body) - self.delivered))
        start = self.delivered
        self.delivered += size
        if self.profile.receive_mode == "queue":
            done = self.delivered >= len(self.body)
            if self.profile.rechunk:
                if done:
                    step = self.profile.rechunk
                    data = self.body
                    pieces = [data[i : i + step] for i in range(0, len(data), step)] or [b""]
                    if len(data) and len(data) % step == 0:
                        pieces.append(b"")
                    for i, piece in enumerate(pieces):
                        last = i == len(pieces) - 1
                        self.queue.append({"type": "http.request", "body": piece, "more_body": not last})
            else:
                if size:
                    self.queue.append(
                        {"type": "http.request", "body": self.body[start : self.delivered], "more_body": True}
                    )
                if (done and start < len(self.body)) or (done and size == 0 and not self.body):
                    if self.profile.empty_final_chunk:
                        self.queue.append({"type": "http.request", "body": b"", "more_body": False})
                    elif self.queue:
                        self.queue[-1]["more_body"] = False
        self._notify()

    def disconnect(self, detail: str = "") -> None:
        if self.disconnected:
            return
        self.disconnected = True
        self.disconnect_seq = self.record("client", "disconnect", None, detail)
        self._add_queue_disconnect()
        self._notify()

    def _add_queue_disconnect(self) -> None:
        if self.profile.receive_mode == "queue" and not self.queue_disconnect_added:
            self.queue_disconnect_added = True
            self.queue.append({"type": "http.disconnect"})

    def _notify(self) -> None:
        self._changed.set()
        import anyio

        self._changed = anyio.Event()

    # ------------------------------------------------------------ receive

    def _next_event(self) -> dict[str, Any] | None:
        if self.profile.receive_mode == "queue":
            if self.queue:
                return self.queue.pop(0)
            return None
        if self.disconnected or self.checker.complete:
            return {"type": "http.disconnect"}
        if self.handed < self.delivered or (self.delivered >= len(self.body) and not self.final_handed):
            data = self.body[self.handed : self.delivered]
            self.handed = self.delivered
            more = self.delivered < len(self.body)
            if not more:
                self.final_handed = True
            return {"type": "http.request", "body": data, "more_body": more}
        return None

    async def receive(self) -> dict[str, Any]:
        if self.app_finished:
            self.find(CallAfterReturn, "receive() was called after the app returned", where=_caller_site())
        if self.disconnect_handed and self.profile.after_disconnect == "block":
            self.find(
                ReceiveAfterDisconnect,
                f"receive() was called again after 'http.disconnect'; the {self.profile.name} "
                "profile blocks forever here",
                where=_caller_site(),
            )
        while True:
            blocked = self.disconnect_handed and self.profile.after_disconnect == "block"
            event = None if blocked else self._next_event()
            if event is not None:
                if event["type"] == "http.disconnect":
                    self.disconnect_handed = True
                self.record("server", "receive", dict(event))
                return event
            await self._changed.wait()

    # --------------------------------------------------------------- send

    async def send(self, message: Any) -> None:
        where = _caller_site(message)
        copy = _copy_message(message)
        if self.latency:
            import anyio

            for _ in range(self.latency):
                await anyio.lowlevel.checkpoint()
        if self.app_finished:
            self.find(CallAfterReturn, "send() was called after the app returned", where=where)
        problems = self.checker.check(message)
        gone = self.disconnected
        seq = self.record("app", "send", copy, "client gone" if gone else "")
        for invariant, text in problems:
            self.find(invariant, text, where=where)
        if gone:
            if self.profile.send_after_disconnect == "raise":
                raise ClientDisconnected("client disconnected")
            return
        if problems:
            raise ServerRejectedMessage(problems[0][1])
        self._client_receives(seq, copy or {})

    def _client_receives(self, seq: int, message: dict[str, Any]) -> None:
        mtype = message.get("type")
        view = self.response
        if mtype == "http.response.start":
            view.status = message.get("status")
            view.headers = [(bytes(n), bytes(v)) for n, v in message.get("headers", [])]
            view.start_seq = seq
            view.trailers = bool(message.get("trailers", False))
        elif mtype == "http.response.body":
            body = message.get("body", b"")
            if body:
                view.chunks.append((seq, bytes(body)))
        elif mtype == "http.response.pathsend":
            view.pathsend = message.get("path")
        if self.checker.complete and view.complete_seq is None:
            view.complete_seq = seq
            self._add_queue_disconnect()
            self._notify()

    # ---------------------------------------------------------- the app

    async def _call_app(self) -> None:
        import anyio

        self.record("server", "call", None, f"{self.scope['method']} {self.scope['path']}")
        cancelled = anyio.get_cancelled_exc_class()
        try:
            self.app_coro = self.app(self.scope, self.receive, self.send)
            result = await self.app_coro
        except cancelled:
            if self._cancelling:
                self.app_end = "hung"
                raise
            self.app_end = "raised"
            self.app_exc = sys.exc_info()[1]
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            self.app_end = "raised"
            self.app_exc = exc
        else:
            self.app_end = "returned"
            self.app_result = result
        finally:
            if not self._cancelling:
                self.app_finished = True
                self._tracking = False
                detail = self.app_end
                if self.app_exc is not None:
                    detail = exception_text(self.app_exc)
                self.record("app", self.app_end, None, detail)
                self._notify()

    # ------------------------------------------------------------ driving

    async def _settle(self) -> None:
        quiet = await self.clock.idle()
        if not quiet and not self.spinning:
            self.spinning = True
            self.record("asgifuzz", "note", None, "the app never blocked (spins without waiting)")

    async def _apply(self, action: Action) -> None:
        import anyio

        if isinstance(action, Chunk):
            if not self.disconnected:
                self.record("client", "chunk", None, f"{action.size} byte(s)")
            self.deliver(action.size)
        elif isinstance(action, Disconnect):
            self.disconnect()
        elif isinstance(action, Run):
            if action.steps is None:
                await self._settle()
            else:
                for _ in range(action.steps):
                    await anyio.lowlevel.checkpoint()
        elif isinstance(action, Advance):
            self.record("server", "time", None, f"+{action.seconds:g}s")
            self.clock.advance(action.seconds)
            await self._settle()
        elif isinstance(action, Latency):
            self.latency = action.checkpoints

    async def main(self) -> None:
        import anyio

        self.clock: Any = self._get_clock()
        self._changed = anyio.Event()
        self.scope = self.build_scope()
        install_probe(self.probe)
        async with anyio.create_task_group() as tg:
            self._tracking = True
            tg.start_soon(self._call_app)
            await self._settle()
            # The script never depends on what the app did (only on the
            # client's own state), so it replays against any app, and
            # Hypothesis sees the same draws for the same choices even where
            # the app's scheduling is not deterministic.
            while True:
                action = self.source.next_action(self)
                if action is None:
                    break
                self.actions.append(action)
                await self._apply(action)
            await self._finish()
            self._cancelling = True
            tg.cancel_scope.cancel()
        self._check_end()

    def _get_clock(self) -> Any:
        if self.backend == "trio":
            import trio

            return trio.lowlevel.current_clock()
        return asyncio.get_running_loop()

    async def _finish(self) -> None:
        import anyio

        self.clock.autojump = True
        if not self.disconnected and self.delivered < len(self.body):
            self.record("client", "chunk", None, f"{len(self.body) - self.delivered} byte(s) (rest)")
            self.deliver(len(self.body))
        with anyio.move_on_after(self.settings.client_patience):
            while not (self.response.complete or self.app_finished):
                await self._changed.wait()
        if not (self.response.complete or self.app_finished or self.disconnected):
            self.disconnect("client gave up waiting for the response")
        with anyio.move_on_after(self.settings.hang_timeout):
            while not self.app_finished:
                await self._changed.wait()
        if not self.app_finished:
            stuck = _coro_site(self.app_coro)
            if self.spinning:
                text = "the app never blocked: it spins without waiting on anything"
            else:
                text = f"the app was still running {self.settings.hang_timeout:g}s (virtual) after " + (
                    "the client disconnected" if self.disconnected else "the response completed"
                )
            if stuck:
                text += f"; it is waiting at {stuck}"
            if not any(f.invariant is ReceiveAfterDisconnect for f in self.findings):
                self.find(AppHang, text, where=stuck.split(" in ")[0])
            return
        await anyio.sleep(self.settings.grace)
        self._check_leaks()

    def _check_leaks(self) -> None:
        for task in self.tracked_tasks:
            alive = (not task.done()) if isinstance(task, asyncio.Task) else task in self._alive
            if not alive:
                continue
            coro = task.get_coro() if isinstance(task, asyncio.Task) else task.coro
            site = _coro_site(coro)
            name = task.get_name() if isinstance(task, asyncio.Task) else task.name
            self.find(
                TaskLeak,
                f"task {name!r} started by the app is still running after the app returned"
                + (f"; it is waiting at {site}" if site else ""),
                where=site.split(" in ")[0],
            )
            if isinstance(task, asyncio.Task):
                task._log_destroy_pending = False  # type: ignore[attr-defined]
                task.cancel()

    def _check_end(self) -> None:
        if self.app_end == "raised" and self.app_exc is not None:
            for leaf in _leaves(self.app_exc):
                if isinstance(leaf, ServerRejectedMessage) or _is_planted(leaf):
                    continue
                if is_disconnect_signal(leaf):
                    continue
                invariant: type[Violation] = ExceptionOnDisconnect if self.disconnected else AppRaised
                why = "after the client disconnected" if self.disconnected else "while the client was connected"
                self.find(
                    invariant,
                    f"{exception_text(leaf)} escaped the app {why}",
                    where=exception_site(leaf),
                    exception=leaf,
                )
        elif self.app_end == "returned":
            if not self.response.complete and not self.disconnected and not self.checker.complete:
                state = "never started" if not self.checker.started else "started but not finished"
                self.find(ResponseIncomplete, f"the app returned while the response was {state}")
            if self.app_result is not None:
                self.find(ReturnedNonNone, f"the app returned {self.app_result!r}")

    # ------------------------------------------------------------ results

    def outcome(self) -> Outcome:
        case = Case(
            target=self.target,
            scope=self.scope_template,
            body=self.body,
            actions=tuple(self.actions),
            backend=self.backend,
            profile=self.profile.name,
            schedule_seed=self.schedule_seed,
            differential=self.differential,
            stack=self.stack,
        )
        for f in self.findings:
            f.case = case
            f.trace = self.trace
        return Outcome(
            case=case,
            trace=self.trace,
            findings=self.findings,
            app_end=self.app_end,
            app_exc=self.app_exc,
            response=self.response,
            probe=self.probe,
            disconnect_seq=self.disconnect_seq,
        )


# ------------------------------------------------------------- the loops


def _run_asyncio(conn: Connection) -> None:
    loop = AsyncioVirtualLoop(virtual=conn.settings.virtual_time)

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kw: Any) -> asyncio.Task[Any]:
        task = asyncio.Task(coro, loop=loop, **kw)
        if conn._tracking:
            conn.tracked_tasks.append(task)
        return task

    loop.set_task_factory(factory)
    try:
        loop.run_until_complete(conn.main())
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


def _run_trio(conn: Connection) -> None:
    import trio
    import trio._core._run as trio_run

    clock = TrioVirtualClock(virtual=conn.settings.virtual_time)

    class Tracker(trio.abc.Instrument):
        def task_spawned(self, task: Any) -> None:
            if conn._tracking:
                conn.tracked_tasks.append(task)
                conn._alive.add(task)

        def task_exited(self, task: Any) -> None:
            conn._alive.discard(task)

    # Deterministic, seeded scheduling: the batch order of trio's run queue is
    # part of the generated case, so races are explored, shrunk and replayed.
    old = getattr(trio_run, "_ALLOW_DETERMINISTIC_SCHEDULING", None)
    if old is not None:
        setattr(trio_run, "_ALLOW_DETERMINISTIC_SCHEDULING", True)  # noqa: B010 - a Final in trio
        trio_run._r.seed(conn.schedule_seed)
    try:
        trio.run(conn.main, clock=clock, instruments=[trio_spin_counter(clock), Tracker()])
    finally:
        if old is not None:
            setattr(trio_run, "_ALLOW_DETERMINISTIC_SCHEDULING", old)  # noqa: B010


def run_case(
    app: ASGIApp,
    *,
    target: str = "app",
    scope: dict[str, Any],
    body: bytes = b"",
    source: ActionSource | Sequence[Action],
    backend: Backend = "asyncio",
    profile: str | ServerProfile = "uvicorn",
    schedule_seed: int = 0,
    settings: DriveSettings | None = None,
    differential: bool = False,
    stack: Sequence[int] = (),
) -> Outcome:
    """Run one connection against ``app`` and return what was observed."""
    if not hasattr(source, "next_action"):
        source = ScriptSource(source)
    conn = Connection(
        app,
        target=target,
        scope=scope,
        body=body,
        source=source,
        backend=backend,
        profile=profile if isinstance(profile, ServerProfile) else get_profile(profile),
        schedule_seed=schedule_seed,
        settings=settings or DriveSettings(),
        differential=differential,
        stack=tuple(stack),
    )
    if backend == "trio":
        _run_trio(conn)
    else:
        _run_asyncio(conn)
    return conn.outcome()


def replay(app: ASGIApp, case: Case, settings: DriveSettings | None = None) -> Outcome:
    """Run ``case`` again against ``app`` (no Hypothesis involved)."""
    return run_case(
        app,
        target=case.target,
        scope=case.scope,
        body=case.body,
        source=case.actions,
        backend=case.backend,
        profile=case.profile,
        schedule_seed=case.schedule_seed,
        settings=settings,
        differential=case.differential,
        stack=case.stack,
    )


def describe(actions: Sequence[Action]) -> list[str]:
    return [describe_action(a) for a in actions]


Recorder = Callable[[str, str], int]

"""Lifespan fuzzing: the server side of the lifespan protocol, played as uvicorn plays it.

Theory of operation
-------------------
A lifespan case's scope is ``{"type": "lifespan"}``; its script is what the
server does: send ``lifespan.startup`` (``LsStartup``), serve a ``GET /``
with a shallow copy of the state (``LsRequest``, only once the startup
completed or lifespan is unsupported), let time pass (``Advance``/``Run``)
and send ``lifespan.shutdown`` (``LsShutdown``, only after a completed
startup).  Actions a real server would not take in the current state are
skipped, so a script replays against any app.

What the app sends is checked (``checks.lifespan``) and recorded; what
uvicorn's ``send`` asserts on raises into the app (under the hypercorn
profile: what hypercorn's raises on; it ignores a second reply).  hypercorn's
``send`` also raises ``LifespanFailureError`` for a ``*.failed`` reply and
refuses to start only if that exception comes back out of the app: an app
(or middleware) that swallows it is served anyway, which the view records as
the startup outcome ``swallowed``.  At the end the server
starts the app if the script did not, waits for each reply up to
hypercorn's 60 s (virtual), and shuts a started app down.  An exception
before the startup reply means "unsupported" in ``auto`` mode (uvicorn and
hypercorn go on without lifespan) and is no finding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asgifuzz._case import Action, Case, LsRequest, LsShutdown, LsStartup
from asgifuzz._finding import Finding
from asgifuzz._frames import caller_site, exception_text, leaves
from asgifuzz.checks.invariants import (
    CALL_AFTER_RETURN,
    LIFESPAN_RAISED,
    LIFESPAN_REPLY_TIMEOUT,
    LIFESPAN_SILENT_RETURN,
)
from asgifuzz.checks.lifespan import LifespanChecker
from asgifuzz.server.driver import Driver
from asgifuzz.server.http import ClientView
from asgifuzz.server.profiles import ServerProfile, profile_of
from asgifuzz.server.sending import Connection
from asgifuzz.server.signals import LifespanFailureError, ServerRejectedMessage
from asgifuzz.server.trace import Recorder, copy_message
from asgifuzz.spec.lifespan import LifespanState

__all__ = ("LifespanConnection", "LifespanDriver", "LifespanView")

S = LifespanState


@dataclass(slots=True)
class LifespanView(ClientView):
    """What the server learned: each phase's outcome, the state, what requests saw.

    An outcome is ``complete``, ``failed``, ``raised``, ``unsupported``,
    ``returned`` (no reply: servers take it as success), ``hung``,
    ``swallowed`` (hypercorn: failed, but the app swallowed the
    ``LifespanFailureError`` raised into it, so hypercorn serves), or None
    (never sent).
    """

    startup: str | None = None
    shutdown: str | None = None
    state_keys: tuple[str, ...] = ()
    #: (status, body) of each request served after the startup.
    requests: list[tuple[int | None, bytes]] = field(default_factory=list)

    def summary(self) -> tuple[Any, ...]:
        return (self.startup, self.shutdown, self.state_keys, self.requests)


class LifespanConnection(Connection):
    """The server's lifespan channel to the app."""

    def __init__(
        self,
        case: Case,
        profile: ServerProfile,
        recorder: Recorder,
        report: Callable[[Finding], None],
        notify: Callable[[], None],
        wait_for_change: Callable[[], Any],
        mode: str,
    ) -> None:
        super().__init__(case, profile, recorder, report, notify, wait_for_change)
        self.mode = mode
        self.response = LifespanView()
        self.checker = LifespanChecker()
        self.state: dict[str, Any] = {}
        self.queue: list[dict[str, Any]] = []
        self.sent: set[str] = set()
        # (The server never "disconnects" from lifespan: ``disconnected`` stays False.)

    def build_scope(self, state: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}

    def server_sends(self, phase: str) -> None:
        self.sent.add(phase)
        event = {"type": f"lifespan.{phase}"}
        self.recorder.record("server", "lifespan", dict(event))
        self.queue.append(event)
        self._notify()

    @property
    def serving(self) -> bool:
        """The server serves requests (a completed startup, or lifespan unsupported)."""
        served = ("complete", "returned", "unsupported", "swallowed")
        return self.response.startup in served and "shutdown" not in self.sent

    async def receive(self) -> dict[str, Any]:
        if self.app_finished:
            self._report(Finding(CALL_AFTER_RETURN, "receive() was called after the app returned", where=caller_site()))
        while not self.queue:
            await self._wait_for_change()
        event = self.queue.pop(0)
        self.checker.received(event["type"])
        return event

    async def send(self, message: Any) -> None:
        where = caller_site(message)
        copy = copy_message(message)
        if self.app_finished:
            self._report(Finding(CALL_AFTER_RETURN, "send() was called after the app returned", where=where))
        problems, rejected = self.checker.check(message)
        self.recorder.record("app", "send", copy)
        for invariant, text in problems:
            self._report(Finding(invariant, text, where=where))
        if rejected and not all(inv.code in self.profile.tolerates for inv, _ in problems):
            mtype = message.get("type") if isinstance(message, dict) else None
            how = "raises UnexpectedMessageError for" if self.profile.name == "hypercorn" else "asserts on"
            raise ServerRejectedMessage(
                f"{self.profile.name} {how} {mtype!r} here (lifespan state {self.checker.state.value})"
            )
        mtype = str(message["type"])
        view = self.response
        if mtype.startswith("lifespan.startup.") and view.startup is None:
            view.startup = mtype.rsplit(".", 1)[1]
            view.state_keys = tuple(sorted(map(str, self.state)))
        elif mtype.startswith("lifespan.shutdown.") and view.shutdown is None:
            view.shutdown = mtype.rsplit(".", 1)[1]
        self._notify()
        if mtype.endswith(".failed") and self.profile.lifespan_failed_raises:
            stage = mtype.split(".")[1]
            self.recorder.record("server", "note", None, f"{self.profile.name} raises LifespanFailureError ({stage})")
            raise LifespanFailureError(stage, message.get("message", ""))


class LifespanDriver(Driver):
    """The driver of one lifespan case (``Driver`` picks it by the scope type)."""

    connection: LifespanConnection  # type: ignore[assignment]

    def _connect(self, case: Case) -> LifespanConnection:  # type: ignore[override]
        return LifespanConnection(
            case,
            profile_of(case),
            self.recorder,
            self.report,
            self._notify,
            self._wait_for_change,
            "on" if self.settings.lifespan == "on" else "auto",
        )

    def _label(self, scope: dict[str, Any]) -> str:
        return "LIFESPAN"

    async def main(self) -> None:
        import anyio

        from asgifuzz.server.loop import current_clock
        from asgifuzz.server.probe import install_probe

        self.clock = current_clock(self.case.backend)
        self.recorder.clock = self.clock.current_time if self.case.backend == "trio" else self.clock.time
        self._changed = anyio.Event()
        install_probe(self.probe)
        async with anyio.create_task_group() as tg:
            scope = self.connection.build_scope()
            self.app_task.tracking = True
            tg.start_soon(self.app_task.run, scope, self.connection.receive, self.connection.send, "LIFESPAN")
            await self._settle()
            while True:
                action = self.source.next_action(self.connection)  # type: ignore[arg-type]
                if action is None:
                    break
                self.actions.append(action)
                await self._apply(action)
            await self._finish()
            self.app_task.cancelling = True
            tg.cancel_scope.cancel()
        self._check_end()

    def _classify(self, *, settled: bool = False) -> None:
        """The startup outcome once the app ended before its reply (``settled``: the app ran until it blocked)."""
        view, app = self.connection.response, self.app_task
        if view.startup == "failed" and self.connection.profile.lifespan_failed_raises and (settled or app.finished):
            # hypercorn refuses to start only when its LifespanFailureError came back out of the app.
            error = app.exception if app.end == "raised" else None
            if error is None or not all(isinstance(e, LifespanFailureError) for e in leaves(error)):
                view.startup = "swallowed"
                self.recorder.record(
                    "server", "note", None, "the app swallowed LifespanFailureError: hypercorn serves anyway"
                )
        # uvicorn queues the startup before the app runs: an app that ends first ended in its startup.
        if view.startup is None and app.finished:
            if app.end == "raised":
                view.startup = "raised" if self.connection.mode == "on" else "unsupported"
            else:
                view.startup = "returned"
                view.state_keys = tuple(sorted(map(str, self.connection.state)))
        if view.shutdown is None and "shutdown" in self.connection.sent and app.finished:
            view.shutdown = "raised" if app.end == "raised" else "returned"

    async def _apply(self, action: Action) -> None:
        conn = self.connection
        self._classify(settled=True)
        if isinstance(action, LsStartup):
            if "startup" not in conn.sent and not conn.app_finished:
                conn.server_sends("startup")
                await self._settle()
        elif isinstance(action, LsShutdown):
            if conn.response.startup == "complete" and "shutdown" not in conn.sent and not conn.app_finished:
                conn.server_sends("shutdown")
                await self._settle()
        elif isinstance(action, LsRequest):
            if conn.serving:
                await self._request()
        else:
            await super()._apply(action)

    async def _request(self) -> None:
        """Serve one ``GET /`` with a shallow copy of the state, as uvicorn does."""
        import anyio

        conn = self.connection
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/",
            "raw_path": b"/",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver")],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": dict(conn.state),
        }
        status: list[int | None] = [None]
        body: list[bytes] = []
        done = anyio.Event()
        given: list[bool] = []

        async def receive() -> dict[str, Any]:
            if given:
                await done.wait()
                return {"type": "http.disconnect"}
            given.append(True)
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Any) -> None:
            if message.get("type") == "http.response.start":
                status[0] = message.get("status")
            elif message.get("type") == "http.response.body":
                body.append(bytes(message.get("body", b"")))
                if not message.get("more_body", False):
                    done.set()

        self.recorder.record("server", "request", None, "GET / with the lifespan state")
        autojump, self.clock.autojump = self.clock.autojump, True
        try:
            with anyio.move_on_after(self.settings.client_patience):
                await self.app_task.app(scope, receive, send)
        except Exception as exc:  # the request's own failure: HTTP fuzzing reports it
            self.recorder.record("app", "note", None, f"the request raised {exception_text(exc)}")
            status[0] = status[0] or 500
        finally:
            self.clock.autojump = autojump
        conn.response.requests.append((status[0], b"".join(body)))

    async def _await_reply(self, phase: str) -> bool:
        """Wait up to the timeout for the reply to ``phase``; False when it never came."""
        import anyio

        view = self.connection.response
        with anyio.move_on_after(self.settings.lifespan_timeout):
            while getattr(view, phase) is None and not self.app_task.finished:
                await self._wait_for_change()
        self._classify()
        if getattr(view, phase) is not None:
            return True
        setattr(view, phase, "hung")
        stuck = self.app_task.stuck_at()
        self.report(
            Finding(
                LIFESPAN_REPLY_TIMEOUT,
                f"the app received 'lifespan.{phase}' and did not answer within {self.settings.lifespan_timeout:g}s "
                "(virtual): hypercorn gives up with LifespanTimeoutError, uvicorn waits forever"
                + (f"; it is waiting at {stuck}" if stuck else ""),
                where=stuck.split(" in ")[0] if stuck else "",
            )
        )
        return False

    async def _finish(self) -> None:
        import anyio

        conn = self.connection
        self.clock.autojump = True
        self._classify()
        if "startup" not in conn.sent and not conn.app_finished:
            conn.server_sends("startup")
        if "startup" in conn.sent and not await self._await_reply("startup"):
            return
        if conn.response.startup == "complete" and "shutdown" not in conn.sent and not conn.app_finished:
            conn.server_sends("shutdown")
        if "shutdown" in conn.sent and not await self._await_reply("shutdown"):
            return
        await anyio.sleep(self.settings.grace)

    def _check_end(self) -> None:
        app, conn = self.app_task, self.connection
        self._classify()
        state = conn.checker.state
        if app.end == "raised" and app.exception is not None:
            if all(isinstance(e, ServerRejectedMessage | LifespanFailureError) for e in leaves(app.exception)):
                return  # already reported with the message the server rejected, or the failure the app reported
            if state in (S.STARTED, S.STOPPING):
                self.report(
                    Finding(
                        LIFESPAN_RAISED,
                        f"{exception_text(app.exception)} escaped the lifespan app after its startup completed "
                        f"({state.value}): uvicorn skips the shutdown, so the app's cleanup never runs",
                        exception=app.exception,
                    )
                )
        elif app.end == "returned":
            if state is S.STARTING:
                what = "after receiving 'lifespan.startup' without answering it"
            elif state is S.STARTED and "shutdown" not in conn.sent:
                what = "after 'lifespan.startup.complete' without waiting for 'lifespan.shutdown' (its shutdown never runs)"
            elif state is S.STOPPING:
                what = "after receiving 'lifespan.shutdown' without answering it"
            else:
                return
            self.report(
                Finding(
                    LIFESPAN_SILENT_RETURN,
                    f"the app returned {what}: uvicorn and hypercorn take the return as success",
                )
            )

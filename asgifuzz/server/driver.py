"""The driver: runs one case (one HTTP connection) against an app, in-process.

Theory of operation
-------------------
The driver task and the app task share one event loop (asyncio or trio,
through anyio).  The driver asks an ``ActionSource`` for the next
client/server action (Hypothesis draws it while fuzzing; the case's script
supplies it when replaying), applies it, and lets the app run to its next
blocking point.  Because the driver never yields to the app between two
client actions, what the app observes depends only on the script and the
scheduler, never on wall-clock timing.

``receive()`` hands out exactly the body the script delivered, in the events
the profile dictates, then blocks until the response completes or the client
leaves; it never invents a disconnect (``server.http``).

When the script ends the client sends the rest of its body and waits (in
virtual time, autojumping) for the response; if none completes it gives up
and disconnects.  The app then has ``hang_timeout`` virtual seconds to return.
Tasks the app started and left running are reported and cancelled.

Every case of a process runs on the same long-lived loop of its backend
(``server.loop.Runner``) with the app's lifespan started once on it, so a
replayed case (``replay``, ``asgifuzz replay``) meets the app as the search
did: started, on a loop that has served other cases.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from asgifuzz._case import Action, Advance, Case, Chunk, Disconnect, Latency, Later, Pause, Run
from asgifuzz._config import Settings
from asgifuzz._finding import Finding, TraceEvent
from asgifuzz._types import ASGIApp
from asgifuzz.checks.invariants import RECEIVE_AFTER_DISCONNECT
from asgifuzz.checks.lifecycle import AppEnd, EndKind, app_end_findings, hang_finding, leak_finding, request_deadlock
from asgifuzz.server import running
from asgifuzz.server.app import AppTask
from asgifuzz.server.http import ClientView, HTTPConnection
from asgifuzz.server.loop import Runner, call_in_caller, current_clock, release_adopted, runner_for
from asgifuzz.server.probe import Probe, install_probe
from asgifuzz.server.profiles import profile_of
from asgifuzz.server.trace import Recorder

__all__ = ("ActionSource", "Outcome", "ScriptSource", "replay", "run_case")


class ActionSource(Protocol):
    def next_action(self, connection: HTTPConnection) -> Action | None:
        """The next action given the client's state, or None to end the script."""


class ScriptSource:
    """Replays a fixed list of actions."""

    def __init__(self, actions: Sequence[Action]) -> None:
        self._actions = list(actions)
        self._i = 0

    def next_action(self, connection: HTTPConnection) -> Action | None:
        if self._i >= len(self._actions):
            return None
        self._i += 1
        return self._actions[self._i - 1]


@dataclass(slots=True)
class Outcome:
    """Everything observed in one run."""

    case: Case
    trace: list[TraceEvent]
    findings: list[Finding]
    app_end: EndKind
    app_exc: BaseException | None
    response: ClientView
    probe: Probe
    disconnect_seq: int | None
    #: The outcomes of a session's later connections, in order (``server.session``).
    session: list[Outcome] = dataclasses.field(default_factory=list)
    #: (actions applied, virtual seconds) where a later connection ran while this one was in flight.
    pauses: list[tuple[int, float]] = dataclasses.field(default_factory=list)
    #: Each task-leak finding of an asyncio task, with its task's key (``server.app.task_key``).
    leaks: list[tuple[Finding, object]] = dataclasses.field(default_factory=list)


class Driver:
    """One run: the connection, the app call and the script between them."""

    def __init__(self, app: ASGIApp, case: Case, settings: Settings, source: ActionSource) -> None:
        self.case = case
        self.settings = settings
        self.source = source
        self.recorder = Recorder()
        self.findings: list[Finding] = []
        self.actions: list[Action] = []
        self.probe = Probe(record=lambda kind, detail: self.recorder.record("endpoint", kind, None, detail))
        self.app_task = AppTask(app, self.recorder, on_end=self._app_ended)
        self.connection = self._connect(case)
        #: The long-lived loop the case runs on (``run_case`` sets it): its shared lifespans.
        self.runner: Runner | None = None
        #: Sessions (``server.session``): the next connection, when it opens (None: after this one ends,
        #: k: after this one's k-th action), and where this one opened in the previous one.
        self.next: Driver | None = None
        self.during: int | None = None
        self.opened: int | None = None
        #: (actions applied, virtual seconds) for each later connection that ran while this one was in flight.
        self.pauses: list[tuple[int, float]] = []
        self.spinning = False
        self.leaks: list[tuple[Finding, object]] = []
        self._changed: Any = None  # an anyio.Event, made inside the loop
        self.clock: Any = None

    def _connect(self, case: Case) -> HTTPConnection:
        return HTTPConnection(case, profile_of(case), self.recorder, self.report, self._notify, self._wait_for_change)

    def _label(self, scope: dict[str, Any]) -> str:
        return f"{scope['method']} {scope['path']}"

    # -- the running-case handle (``server.running``) for the watchdog
    @property
    def trace(self) -> list[TraceEvent]:
        return self.recorder.events

    def case_so_far(self) -> Case:
        later = []
        nxt = self.next
        while nxt is not None:
            later.append(Later(scope=nxt.case.scope, body=nxt.case.body, actions=tuple(nxt.actions), during=nxt.during))
            nxt = nxt.next
        # A connection never opened (the search stopped first) is not part of the case.
        return dataclasses.replace(self.case, actions=tuple(self.actions), session=tuple(later))

    # ------------------------------------------------------------ plumbing

    def report(self, finding: Finding) -> None:
        self.findings.append(finding)
        self.recorder.record("asgifuzz", "finding", None, f"{finding.code}: {finding.message}")

    def _notify(self) -> None:
        import anyio

        self._changed.set()
        self._changed = anyio.Event()

    async def _wait_for_change(self) -> None:
        await self._changed.wait()

    def _app_ended(self) -> None:
        self.connection.app_finished = True
        self._notify()

    # ------------------------------------------------------------- driving

    async def main(self) -> None:
        import anyio

        self.clock = current_clock(self.case.backend)
        self.recorder.clock = self.clock.current_time if self.case.backend == "trio" else self.clock.time
        self._changed = anyio.Event()
        install_probe(self.probe)
        state = await self._lifespan_state()
        self.recorder.origin = self.clock.current_time() if self.case.backend == "trio" else self.clock.time()
        await self._serve(state)

    async def _serve(self, state: dict[str, Any]) -> None:
        """This connection from its start to its end checks; then the session's next one, if it waits for it."""
        import anyio

        async with anyio.create_task_group() as tg:
            scope = self.connection.build_scope(state)
            self.app_task.tracking = True
            label = self._label(scope)
            tg.start_soon(self.app_task.run, scope, self.connection.receive, self.connection.send, label)
            await self._settle()
            await self._open_during(state)
            # The script never depends on what the app did (only on the
            # client's own state), so it replays against any app, and
            # Hypothesis sees the same draws for the same choices even where
            # the app's scheduling is not deterministic.
            while True:
                action = self.source.next_action(self.connection)
                if action is None:
                    break
                self.actions.append(action)
                await self._apply(action)
                await self._open_during(state)
            await self._open_during(state, ended=True)
            await self._finish()
            self.app_task.cancelling = True
            tg.cancel_scope.cancel()
        self._check_end()
        if self.next is not None and self.next.opened is None:
            await self._run_next(state)  # keep-alive: the next request once this one is over

    async def _open_during(self, state: dict[str, Any], *, ended: bool = False) -> None:
        """Open the next connection of the session here, if it overlaps this one at this point."""
        nxt = self.next
        if nxt is None or nxt.opened is not None or nxt.during is None:
            return
        if ended or len(self.actions) >= nxt.during:
            await self._run_next(state)

    async def _run_next(self, state: dict[str, Any]) -> None:
        """The next connection runs to its end while this one's app stays where it is."""
        import anyio

        nxt = self.next
        assert nxt is not None
        nxt.opened = len(self.actions)
        nxt.clock, nxt._changed = self.clock, anyio.Event()
        nxt.recorder.clock, nxt.recorder.origin = self.recorder.clock, self.recorder.origin
        autojump = self.clock.autojump
        install_probe(nxt.probe)
        start = self.recorder.now()
        try:
            await nxt._serve(state)
        finally:
            install_probe(self.probe)
            self.clock.autojump = autojump
        # Virtual time this connection waited while the other ran: the same
        # connection alone waits as long there (``isolation``), so only what
        # the other connection did, not the time it took, can differ.
        self.pauses.append((len(self.actions), self.recorder.now() - start))

    async def _lifespan_state(self) -> dict[str, Any]:
        """The app's lifespan state: started once per loop (``SharedLifespans``), as a server does."""
        runner = self.runner
        if runner is None:
            return {}
        settings = self.settings
        return await runner.lifespans.state(
            self.app_task.app, settings.lifespan, settings.lifespan_timeout, runner.task_group, self.clock
        )

    async def _settle(self) -> None:
        quiet = await self.clock.idle()
        if not quiet and not self.spinning:
            self.spinning = True
            self.recorder.record("asgifuzz", "note", None, "the app never blocked (spins without waiting)")

    async def _pass_time(self, seconds: float) -> None:
        """Let ``seconds`` of virtual time pass timer by timer, the app running at each, as on a real clock.

        One jump over them all fired every timer due in the span in one loop
        turn: a 15 s timeout then cancelled a job whose 2 s sleep was due long
        before (false ``response-depends-on-chunking`` and ``connection-isolation``
        on sse-starlette and on any ``move_on_after`` around short sleeps).
        """
        import anyio

        autojump, self.clock.autojump = self.clock.autojump, True
        try:
            await anyio.sleep(seconds)
        finally:
            self.clock.autojump = autojump
        await self._settle()

    async def _apply(self, action: Action) -> None:
        import anyio

        conn = self.connection
        if isinstance(action, Chunk):
            if not conn.disconnected:
                self.recorder.record("client", "chunk", None, f"{action.size} byte(s)")
            conn.send_body(action.size)
        elif isinstance(action, Disconnect):
            conn.disconnect()
        elif isinstance(action, Run):
            if action.steps is None:
                await self._settle()
            else:
                for _ in range(action.steps):
                    await anyio.lowlevel.checkpoint()
        elif isinstance(action, Advance):
            self.recorder.record("server", "time", None, f"+{action.seconds:g}s")
            if self.settings.virtual_time:
                await self._pass_time(action.seconds)
            else:
                await self._settle()  # real time is not the driver's to move (as ``clock.advance``: a no-op)
        elif isinstance(action, Pause):
            self.recorder.record("client", "wait", None, f"{action.seconds:g}s")
            await self._pass_time(action.seconds)
        elif isinstance(action, Latency):
            conn.latency = action.checkpoints

    async def _finish(self) -> None:
        import anyio

        conn, app = self.connection, self.app_task
        self.clock.autojump = True
        if not conn.disconnected and conn.sent < len(conn.body):
            self.recorder.record("client", "chunk", None, f"{len(conn.body) - conn.sent} byte(s) (rest)")
            conn.send_body(len(conn.body))
        with anyio.move_on_after(self.settings.client_patience):
            while not (conn.response.complete or app.finished):
                await self._wait_for_change()
        if not (conn.response.complete or app.finished or conn.disconnected):
            if conn.waits_after_request is not None and not conn.checker.started:
                self.report(
                    request_deadlock(conn.waits_after_request, conn.profile.name, self.settings.client_patience)
                )
            conn.disconnect("client gave up waiting for the response")
        with anyio.move_on_after(self.settings.hang_timeout):
            while not app.finished:
                await self._wait_for_change()
        if not app.finished:
            cause = conn.receive_after_disconnect_finding()
            if cause is not None:
                self.report(cause)
            elif not any(f.invariant is RECEIVE_AFTER_DISCONNECT for f in self.findings):
                self.report(
                    hang_finding(
                        spinning=self.spinning,
                        hang_timeout=self.settings.hang_timeout,
                        disconnected=conn.disconnected,
                        stuck_at=app.stuck_at(),
                    )
                )
            return
        await self._report_leaks()

    async def _report_leaks(self) -> None:
        """After the grace period, a ``task-leak`` for each task the app left running (asyncio ones keyed)."""
        import anyio

        await anyio.sleep(self.settings.grace)
        for name, waiting_at, key in self.app_task.leaked():
            finding = leak_finding(name, waiting_at)
            self.report(finding)
            if key is not None:
                self.leaks.append((finding, key))

    def _check_end(self) -> None:
        app, conn = self.app_task, self.connection
        end = AppEnd(
            kind=app.end,
            exception=app.exception,
            result=app.result,
            disconnected=conn.disconnected,
            response_started=conn.checker.started,
            response_complete=conn.response.complete or conn.checker.complete,
        )
        for finding in app_end_findings(end):
            self.report(finding)

    def outcome(self) -> Outcome:
        case = self.case_so_far()
        for f in self.findings:
            f.case = case
            f.trace = self.recorder.events
        return Outcome(
            case=case,
            trace=self.recorder.events,
            findings=self.findings,
            app_end=self.app_task.end,
            app_exc=self.app_task.exception,
            response=self.connection.response,
            probe=self.probe,
            disconnect_seq=self.connection.disconnect_seq,
            pauses=list(self.pauses),
            leaks=list(self.leaks),
        )


def run_case(
    app: ASGIApp,
    case: Case,
    settings: Settings | None = None,
    *,
    source: ActionSource | None = None,
    hold_leaks: bool = False,
) -> Outcome:
    """Run ``case`` against ``app`` and return what was observed.

    The actions come from ``source`` when given (the search draws them as
    the run goes), else from ``case.actions``.  Tasks the app left running
    are cancelled at the end, or with ``hold_leaks`` kept running until the
    caller has judged them (``server.loop.release_adopted``).
    """
    settings = settings or Settings()
    from asgifuzz.server.session import SessionSource, chain_session, session_outcome

    primary = source.primary if isinstance(source, SessionSource) else source
    driver = _driver_class(case)(app, case, settings, _CallerSource(primary or ScriptSource(case.actions)))
    tracker: Any = driver.app_task
    if case.session:
        tracker = chain_session(driver, case, source if isinstance(source, SessionSource) else None, _CallerSource)
    runner = runner_for(case.backend, settings.virtual_time)
    driver.runner = runner
    recorder = driver.recorder

    def on_start() -> None:
        # Trace times count from the case's start: the loop's clock runs on across cases.
        clock = current_clock(case.backend)
        if hasattr(clock, "snap"):
            clock.snap()
        recorder.origin = clock.current_time() if case.backend == "trio" else clock.time()

    running.set_current(driver)
    running.set_loop_thread(getattr(runner, "thread_ident", None))
    try:
        runner.run(driver.main, tracker=tracker, schedule_seed=case.schedule_seed, on_start=on_start)
    finally:
        running.set_current(None)
        running.set_loop_thread(None)
        closing: Driver | None = driver
        while closing is not None:
            closing.connection.closed = True
            closing = closing.next
        if not hold_leaks:
            release_adopted()
    return session_outcome(driver) if case.session else driver.outcome()


class _CallerSource:
    """An action source whose draws happen in the caller's thread (Hypothesis is not thread-safe)."""

    def __init__(self, source: Any) -> None:
        self._source = source

    def next_action(self, connection: Any) -> Any:
        return call_in_caller(self._source.next_action, connection)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._source, name)
        if callable(value):
            return lambda *args, **kw: call_in_caller(lambda: value(*args, **kw))
        return value


def _driver_class(case: Case) -> type[Driver]:
    """The driver of the case's protocol (by ``case.scope["type"]``)."""
    if case.scope.get("type") == "websocket":
        from asgifuzz.server.websocket import WebSocketDriver

        return WebSocketDriver
    if case.scope.get("type") == "lifespan":
        from asgifuzz.server.lifespan_driver import LifespanDriver

        return LifespanDriver
    return Driver


def replay(app: ASGIApp, case: Case, settings: Settings | None = None) -> Outcome:
    """Run ``case`` again against ``app`` (no Hypothesis involved)."""
    return run_case(app, case, settings)

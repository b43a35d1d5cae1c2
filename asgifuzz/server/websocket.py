"""One websocket connection, played as uvicorn, hypercorn and daphne play it.

Theory of operation
-------------------
The server queues ``websocket.connect`` first.  The client's frames (the
script's ``WsText``/``WsBytes``) wait until the app accepts: a real client
cannot send before the 101 response, and queuing them keeps the script
independent of what the app does (it replays against any app).  Each frame
becomes one ``websocket.receive``; a client close frame (``WsClose``) one
``websocket.disconnect`` with its code (1005 without one) and, where the
profile says so, its reason; a lost connection (``Disconnect``) a disconnect
with 1006 before accept and the profile's code after it.

What the app sends is checked (``checks.websocket``) and recorded before the
server acts on it: ``websocket.close`` before accept rejects with HTTP 403
and queues a 1006 disconnect for the app (uvicorn); after accept the client
echoes the close, and the app's disconnect carries the app's own code
(uvicorn) or 1000 (hypercorn).  Once the client has gone ``send`` raises
the spec's OSError (uvicorn, strict) or does nothing (hypercorn, daphne).
After the one disconnect ``receive`` blocks forever, as the queues of
hypercorn, daphne and uvicorn's sansio implementation do.

``WebSocketDriver`` is the driver of a websocket case: the script, then the
client closes normally (or gives up on the handshake), then the app must end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asgifuzz._case import Action, Case, Disconnect, WsBytes, WsClose, WsText
from asgifuzz._finding import Finding
from asgifuzz._frames import caller_site, leaves
from asgifuzz.checks.invariants import (
    APP_HANG,
    CALL_AFTER_RETURN,
    WEBSOCKET_HANDSHAKE_INCOMPLETE,
    WEBSOCKET_NOT_CLOSED,
    WEBSOCKET_RECEIVE_AFTER_DISCONNECT,
)
from asgifuzz.checks.lifecycle import AppEnd, app_end_findings
from asgifuzz.checks.websocket import WebSocketChecker, is_websocket_disconnect_signal
from asgifuzz.server.driver import Driver
from asgifuzz.server.http import ClientView
from asgifuzz.server.profiles import ServerProfile, profile_of
from asgifuzz.server.sending import Connection, admit, before_check
from asgifuzz.server.trace import Recorder, copy_message
from asgifuzz.spec.websocket import WebSocketState

__all__ = ("WebSocketConnection", "WebSocketDriver", "WebSocketView")


@dataclass(slots=True)
class WebSocketView(ClientView):
    """The conversation as the client saw it.

    ``status`` is the handshake's HTTP status: 101 when accepted, 403 when
    rejected, the denial's status, 500 when the app ended first.
    ``complete_seq`` is when the server closed the conversation (the app's
    close, a rejection, a finished denial).
    """

    accepted_seq: int | None = None
    subprotocol: str | None = None
    #: (seq, "text" or "bytes", payload) of every frame the client received.
    frames: list[tuple[int, str, str | bytes]] = field(default_factory=list)
    #: The code and reason of the app's close frame.
    close_code: int | None = None
    close_reason: str = ""

    @property
    def delivered_seq(self) -> int | None:
        return self.complete_seq

    def summary(self) -> tuple[Any, ...]:
        """What a transparent middleware must leave unchanged (seqs left out)."""
        return (
            self.status,
            self.subprotocol,
            [(kind, data) for _, kind, data in self.frames],
            self.close_code,
            self.close_reason,
            self.body,
        )


class WebSocketConnection(Connection):
    """The server and client sides of one websocket connection."""

    def __init__(
        self,
        case: Case,
        profile: ServerProfile,
        recorder: Recorder,
        report: Callable[[Finding], None],
        notify: Callable[[], None],
        wait_for_change: Callable[[], Any],
    ) -> None:
        super().__init__(case, profile, recorder, report, notify, wait_for_change)
        self.response = WebSocketView()
        self.checker = WebSocketChecker(case.scope)
        self.queue: list[dict[str, Any]] = [{"type": "websocket.connect"}]
        #: Client frames waiting for the handshake to be accepted.
        self.pending: list[dict[str, Any]] = []
        #: The conversation is over (either side closed); no frame flows any more.
        self.ended = False
        self._disconnect_queued = False
        self._blocked_reported = False

    # ---------------------------------------------------------- the scope

    def build_scope(self, state: dict[str, Any] | None = None) -> dict[str, Any]:
        scope = self.base_scope(self.profile.ws_spec_version, state)
        if not scope.get("extensions"):
            scope.pop("extensions", None)
        scope["subprotocols"] = list(scope.get("subprotocols", []))
        return scope

    # ------------------------------------------------------ client actions

    def _queue_disconnect(self, code: int, reason: str | None = None) -> None:
        if self._disconnect_queued:
            return
        self._disconnect_queued = True
        event: dict[str, Any] = {"type": "websocket.disconnect", "code": code}
        if reason is not None and self.profile.ws_disconnect_reason:
            event["reason"] = reason
        self.queue.append(event)
        self.pending.clear()
        self.ended = True
        self._notify()

    def client_frame(self, action: WsText | WsBytes) -> None:
        if self.disconnected or self.ended:
            return
        if isinstance(action, WsText):
            event: dict[str, Any] = {"type": "websocket.receive", "text": action.text}
        else:
            event = {"type": "websocket.receive", "bytes": action.data}
        (self.queue if self.checker.accepted else self.pending).append(event)
        self._notify()

    def client_close(self, code: int | None, reason: str, detail: str = "") -> None:
        if self.disconnected or self.app_finished:
            return  # after the app ended the server closed the connection itself
        if not self.checker.accepted:
            # No close frame before the 101: the client can only drop the connection.
            self.lose(detail or "client closes before the handshake was answered")
            return
        self.disconnected = True
        self.disconnect_seq = self.recorder.record("client", "close", {"code": code, "reason": reason}, detail)
        self._queue_disconnect(1005 if code is None else code, reason)

    def lose(self, detail: str = "") -> None:
        """The TCP connection is lost without a close frame."""
        if self.disconnected or self.app_finished:
            return
        self.disconnected = True
        self.disconnect_seq = self.recorder.record("client", "disconnect", None, detail)
        self._queue_disconnect(self.profile.ws_lost_code if self.checker.accepted else 1006)

    # ------------------------------------------------------------ receive

    async def receive(self) -> dict[str, Any]:
        if self.closed:
            return {"type": "websocket.disconnect", "code": 1006}
        if self.app_finished:
            self.find(CALL_AFTER_RETURN, "receive() was called after the app returned", caller_site())
        if self.disconnect_given:
            if not self._blocked_reported:
                self._blocked_reported = True
                self.find(
                    WEBSOCKET_RECEIVE_AFTER_DISCONNECT,
                    "receive() was called again after 'websocket.disconnect'; hypercorn, daphne and uvicorn "
                    "block forever here",
                    caller_site(),
                )
            while True:
                await self._wait_for_change()
        while not self.queue:
            await self._wait_for_change()
        event = self.queue.pop(0)
        if event["type"] == "websocket.disconnect":
            self.disconnect_given = True
        self.recorder.record("server", "receive", dict(event))
        return event

    # --------------------------------------------------------------- send

    async def send(self, message: Any) -> None:
        where = caller_site(message)
        copy = copy_message(message)
        await before_check(self, where)
        before = self.checker.state
        problems = self.checker.check(message)
        if self.disconnected:
            # The client closed or dropped the connection: a server drops (or raises its disconnect
            # error for) whatever comes next and never judges it, so its state and close code are
            # no finding (Litestar's and Falcon's close after a client close were judged before).
            problems = []
        raises = self.profile.ws_send_after_disconnect == "raise"
        seq = admit(self, problems, copy, where, raise_after_disconnect=raises, gone="websocket client disconnected")
        if seq is None:
            return
        if before is not self.checker.state or self.checker.state is WebSocketState.CONNECTED:
            self._server_acts(seq, before, copy or {})

    def _server_acts(self, seq: int, before: WebSocketState, message: dict[str, Any]) -> None:
        mtype = message.get("type")
        view = self.response
        if mtype == "websocket.accept":
            view.status, view.accepted_seq = 101, seq
            view.subprotocol = message.get("subprotocol")
            view.headers = [(bytes(n).lower(), bytes(v)) for n, v in message.get("headers") or []]
            self.queue.extend(self.pending)
            self.pending.clear()
        elif mtype == "websocket.send":
            data = message.get("bytes")
            if data is not None:
                view.frames.append((seq, "bytes", bytes(data)))
            else:
                view.frames.append((seq, "text", str(message.get("text"))))
        elif mtype == "websocket.close":
            view.complete_seq = seq
            if before is WebSocketState.HANDSHAKE:
                view.status = 403
                self._queue_disconnect(1006)
            else:
                code = message.get("code", 1000)
                view.close_code, view.close_reason = code, message.get("reason") or ""
                # The client echoes the close; the app may receive the disconnect.
                self._queue_disconnect(code if self.profile.ws_echo_app_close_code else 1000, view.close_reason)
        elif mtype == "websocket.http.response.start":
            view.status = message.get("status")
            view.headers = [(bytes(n).lower(), bytes(v)) for n, v in message.get("headers") or []]
            view.start_seq = seq
        elif mtype == "websocket.http.response.body":
            if message.get("body"):
                view.chunks.append((seq, bytes(message["body"])))
            if self.checker.closed:
                view.complete_seq = seq
                self._queue_disconnect(1006)
        self._notify()


class WebSocketDriver(Driver):
    """The driver of one websocket case (``Driver`` picks it by the scope type)."""

    connection: WebSocketConnection  # type: ignore[assignment]

    def _connect(self, case: Case) -> WebSocketConnection:  # type: ignore[override]
        return WebSocketConnection(
            case, profile_of(case), self.recorder, self.report, self._notify, self._wait_for_change
        )

    def _label(self, scope: dict[str, Any]) -> str:
        return f"WEBSOCKET {scope.get('path', '')}"

    async def _apply(self, action: Action) -> None:
        conn = self.connection
        if isinstance(action, WsText | WsBytes):
            if not conn.disconnected:
                held = "" if conn.checker.accepted or conn.ended else " (held until the handshake is accepted)"
                kind = "text" if isinstance(action, WsText) else "bytes"
                payload = action.text if isinstance(action, WsText) else action.data
                self.recorder.record("client", "frame", None, f"{kind} {payload!r}{held}")
            conn.client_frame(action)
        elif isinstance(action, WsClose):
            conn.client_close(action.code, action.reason)
        elif isinstance(action, Disconnect):
            conn.lose()
        else:
            await super()._apply(action)

    async def _finish(self) -> None:
        import anyio

        conn, app = self.connection, self.app_task
        self.clock.autojump = True
        with anyio.move_on_after(self.settings.client_patience):
            while not (conn.ended or app.finished):
                await self._wait_for_change()
        if not (conn.ended or app.finished):
            if conn.checker.accepted:
                conn.client_close(1000, "", "client closes normally at the end of its script")
            else:
                conn.lose("client gave up waiting for the handshake")
        with anyio.move_on_after(self.settings.hang_timeout):
            while not app.finished:
                await self._wait_for_change()
        if not app.finished:
            if not any(f.invariant is WEBSOCKET_RECEIVE_AFTER_DISCONNECT for f in self.findings):
                stuck = app.stuck_at()
                text = (
                    "the app never blocked: it spins without waiting on anything"
                    if self.spinning
                    else f"the app was still running {self.settings.hang_timeout:g}s (virtual) after the websocket "
                    + ("client left" if conn.disconnected else "conversation ended")
                )
                self.report(
                    Finding(
                        APP_HANG, text + (f"; it is waiting at {stuck}" if stuck else ""), where=stuck.split(" in ")[0]
                    )
                )
            return
        await self._report_leaks()

    def _check_end(self) -> None:
        app, conn = self.app_task, self.connection
        exc = app.exception
        if exc is not None and conn.disconnected and all(is_websocket_disconnect_signal(e) for e in leaves(exc)):
            exc = None  # Starlette's WebSocketDisconnect after the client left: "the client went away"
        end = AppEnd(
            kind=app.end if exc is not None or app.end != "raised" else "returned",
            exception=exc,
            result=app.result,
            disconnected=conn.disconnected,
            response_started=True,
            response_complete=True,
        )
        for finding in app_end_findings(end):
            self.report(finding)
        state = conn.checker.state
        if app.end == "raised" and state is WebSocketState.HANDSHAKE and not conn.disconnected:
            conn.response.status = 500
        if app.end != "returned" or conn.disconnected:
            return
        if state in (WebSocketState.HANDSHAKE, WebSocketState.DENIAL):
            what = (
                "before answering the handshake"
                if state is WebSocketState.HANDSHAKE
                else "in the middle of a denial response"
            )
            self.report(
                Finding(
                    WEBSOCKET_HANDSHAKE_INCOMPLETE,
                    f"the app returned {what} while the client waited; uvicorn and hypercorn answer HTTP 500",
                )
            )
            conn.response.status = 500
        elif state is WebSocketState.CONNECTED and not conn.disconnect_given:
            self.report(
                Finding(
                    WEBSOCKET_NOT_CLOSED,
                    "the app returned after accepting without closing the websocket; uvicorn drops the TCP "
                    "connection (the client sees 1006), hypercorn closes with 1011",
                )
            )

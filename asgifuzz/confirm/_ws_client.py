"""A websocket client (wsproto over a raw socket) that plays a websocket case against a real server.

wsproto, not a high-level client, because a case may do what well-behaved
clients refuse to: close with any code (even one without a code), or drop
the TCP connection without a close frame (``Disconnect``).  The script:

* the opening handshake with the case's path, query, headers and offered
  subprotocols (scope ``subprotocols``);
* ``WsText``/``WsBytes``: a frame (after the handshake; before, as the fake
  server does, they wait for it);
* ``WsClose``: a close frame, then the server's reply is awaited;
* ``Disconnect``: the socket is closed without a close frame;
* ``Run``/``Advance``: a short real pause (``Advance`` at most ``MAX_ADVANCE``).

Whatever the server sends meanwhile is read: the handshake answer (accept,
subprotocol, or a rejection with its status and body), messages, its close
frame, or the connection lost without one (1006).
"""

from __future__ import annotations

import contextlib
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from asgifuzz._case import Advance, Case, Disconnect, Run, WsBytes, WsClose, WsText

__all__ = ("WsClientView", "replay_websocket")

PAUSE = 0.05
MAX_ADVANCE = 2.0


@dataclass(slots=True)
class WsClientView:
    """What a real websocket client saw."""

    #: "accepted", "rejected" (an HTTP answer instead of 101) or None (no answer).
    handshake: Literal["accepted", "rejected"] | None = None
    #: The HTTP status of a rejection (403 for a close before accept, 500 for an app error).
    status: int | None = None
    subprotocol: str | None = None
    #: Messages from the server, in order: ("text", str) or ("bytes", bytes).
    received: list[tuple[str, Any]] = field(default_factory=list)
    #: The server's close frame: code (None when it carried none) and reason.
    close_code: int | None = None
    close_reason: str = ""
    #: The server sent a close frame.
    server_closed: bool = False
    #: The TCP connection ended without a close frame from the server (a client sees 1006).
    abnormal: bool = False
    #: The client dropped the connection itself (the case's Disconnect).
    disconnected: bool = False
    timed_out: bool = False
    error: str | None = None
    elapsed: float = 0.0

    @property
    def complete(self) -> bool:
        """The conversation ended cleanly: rejected with an answer, or closed by a close frame."""
        return self.handshake == "rejected" or self.server_closed

    def summary(self) -> str:
        if self.handshake is None:
            what = "no handshake answer" + (" before the deadline" if self.timed_out else "")
        elif self.handshake == "rejected":
            what = f"handshake rejected with HTTP {self.status}"
        else:
            what = "accepted" + (f" (subprotocol {self.subprotocol!r})" if self.subprotocol else "")
            what += f", {len(self.received)} message(s) received"
            if self.server_closed:
                what += f", closed by the server with {self.close_code}" + (
                    f" {self.close_reason!r}" if self.close_reason else ""
                )
            elif self.abnormal:
                what += ", connection lost without a close frame (1006)"
            elif self.timed_out:
                what += ", still open at the deadline"
        if self.disconnected:
            what = "client dropped the connection; " + what
        if self.error:
            what += f"; {self.error}"
        return what

    def to_json(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "handshake": self.handshake,
            "status": self.status,
            "subprotocol": self.subprotocol,
            "received": [[k, v if isinstance(v, str) else v.decode("latin-1")] for k, v in self.received],
            "close_code": self.close_code,
            "close_reason": self.close_reason,
            "server_closed": self.server_closed,
            "abnormal": self.abnormal,
            "disconnected": self.disconnected,
            "timed_out": self.timed_out,
            "error": self.error,
            "elapsed": round(self.elapsed, 3),
        }


def _target(scope: dict[str, Any]) -> str:
    path = scope.get("path") if isinstance(scope.get("path"), str) else "/"
    query = scope.get("query_string")
    if isinstance(query, bytes) and query:
        return f"{path}?{query.decode('latin-1')}"
    return str(path)


_SKIPPED_HEADERS = frozenset(
    {b"host", b"upgrade", b"connection", b"sec-websocket-key", b"sec-websocket-version", b"sec-websocket-protocol"}
)


class _Conversation:
    def __init__(self, sock: socket.socket, view: WsClientView) -> None:
        from wsproto import ConnectionType, WSConnection

        self.sock, self.view = sock, view
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.ended = False
        self._parts: list[Any] = []

    def send(self, event: Any) -> None:
        self.sock.sendall(self.ws.send(event))

    def pump(self, until: float, *, stop_when: str) -> None:
        """Read and handle events until ``until`` or until ``stop_when`` ("handshake", "closed", "idle")."""
        while not self.ended:
            if stop_when == "handshake" and self.view.handshake is not None:
                return
            left = until - time.monotonic()
            if left <= 0:
                if stop_when != "idle":
                    self.view.timed_out = True
                return
            self.sock.settimeout(min(left, 0.5))
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError as exc:
                self._lost(f"socket error: {type(exc).__name__}")
                return
            if not data:
                self._lost(None)
                return
            from wsproto.utilities import RemoteProtocolError

            try:
                self.ws.receive_data(data)
                self._handle()
            except RemoteProtocolError as exc:
                # What the server sent breaks the protocol (e.g. a subprotocol we did not offer).
                self.view.error = f"the client refused what the server sent: {exc}"
                self.ended = True
                return

    def _lost(self, error: str | None) -> None:
        self.ended = True
        if not self.view.server_closed and self.view.handshake == "accepted":
            self.view.abnormal = True
        if error and self.view.error is None:
            self.view.error = error

    def _handle(self) -> None:
        from wsproto.events import (
            AcceptConnection,
            BytesMessage,
            CloseConnection,
            Ping,
            RejectConnection,
            RejectData,
            TextMessage,
        )

        view = self.view
        for event in self.ws.events():
            if isinstance(event, AcceptConnection):
                view.handshake, view.subprotocol = "accepted", event.subprotocol
            elif isinstance(event, RejectConnection):
                view.handshake, view.status = "rejected", event.status_code
                if not event.has_body:
                    self.ended = True
            elif isinstance(event, RejectData):
                if event.body_finished:
                    self.ended = True
            elif isinstance(event, TextMessage | BytesMessage):
                self._parts.append(event.data)
                if event.message_finished:
                    kind = "text" if isinstance(event, TextMessage) else "bytes"
                    joined: Any = "".join(self._parts) if kind == "text" else b"".join(self._parts)
                    view.received.append((kind, joined))
                    self._parts = []
            elif isinstance(event, CloseConnection):
                view.server_closed, view.close_code, view.close_reason = True, event.code, event.reason or ""
                from wsproto.connection import ConnectionState

                if self.ws.state is ConnectionState.REMOTE_CLOSING:
                    with contextlib.suppress(OSError):
                        self.send(event.response())
                self.ended = True
            elif isinstance(event, Ping):
                self.send(event.response())


def replay_websocket(case: Case, port: int, *, host: str = "127.0.0.1", timeout: float = 5.0) -> WsClientView:
    """Connect to ``host:port``, play the websocket ``case`` and read what the server does.

    Never raises for what the server does; ``timeout`` bounds each wait (the
    handshake answer, the server's close after ours, the end of the conversation).

    Raises:
        OSError: the connection could not be made at all.
    """
    from wsproto.events import CloseConnection, Message, Request

    scope = case.scope
    view = WsClientView()
    started = time.monotonic()
    sock = socket.create_connection((host, port), timeout=timeout)
    conv = _Conversation(sock, view)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() not in _SKIPPED_HEADERS]
        offered = [p for p in scope.get("subprotocols", []) if isinstance(p, str)]
        conv.send(Request(host=f"{host}:{port}", target=_target(scope), subprotocols=offered, extra_headers=headers))
        conv.pump(time.monotonic() + timeout, stop_when="handshake")
        for action in case.actions:
            if conv.ended or view.handshake != "accepted":
                break
            if isinstance(action, WsText | WsBytes):
                data: str | bytes = action.text if isinstance(action, WsText) else action.data
                conv.send(Message(data=data))
            elif isinstance(action, WsClose):
                # wsproto refuses to send the reserved codes; a frame without a code stands in for them.
                code = action.code if action.code is not None and action.code not in (1005, 1006, 1015) else None
                conv.send(CloseConnection(code=code if code is not None else 1005, reason=action.reason or None))
                conv.pump(time.monotonic() + timeout, stop_when="closed")
                break
            elif isinstance(action, Disconnect):
                view.disconnected = True
                conv.ended = True
                break
            elif isinstance(action, Run | Advance):
                wait = PAUSE if isinstance(action, Run) else min(action.seconds, MAX_ADVANCE)
                conv.pump(time.monotonic() + max(wait, PAUSE), stop_when="idle")
                continue
            conv.pump(time.monotonic() + PAUSE, stop_when="idle")
        if not conv.ended and view.handshake == "accepted":
            # The script is over: see what the app does next (more messages, its close).
            conv.pump(time.monotonic() + timeout, stop_when="closed")
    except OSError as exc:
        view.error = view.error or f"socket error: {type(exc).__name__}: {exc}"
    finally:
        sock.close()
    view.elapsed = time.monotonic() - started
    return view

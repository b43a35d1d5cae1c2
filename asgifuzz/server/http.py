"""One HTTP connection: the fake server's side and the client's.

The client side is the script's state: how much of the body it sent, whether
it left, and the response as it received it (``ClientView``).  The server
side builds the scope the imitated server would, hands the app exactly the
body the client sent through the profile's receiver (``http_receive``), and
checks every message the app sends (``checks.http``) before doing with it
what the real server does: pass it on, drop it after the client left, or
raise into the app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asgifuzz._case import Case
from asgifuzz._finding import Finding
from asgifuzz._frames import caller_site
from asgifuzz.checks.http import ResponseChecker, zerocopy_bytes
from asgifuzz.checks.invariants import APP_HANG, CALL_AFTER_RETURN, RECEIVE_AFTER_DISCONNECT
from asgifuzz.server.http_receive import RECEIVERS
from asgifuzz.server.profiles import ServerProfile
from asgifuzz.server.sending import Connection, admit, before_check
from asgifuzz.server.trace import Recorder, copy_message

__all__ = ("SPIN_RECEIVES", "ClientView", "HTTPConnection")

#: receive() calls answered with http.disconnect before a loop over them counts as spinning.
SPIN_RECEIVES = 1000


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


class HTTPConnection(Connection):
    """The server and client sides of one HTTP exchange."""

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
        self.body = case.body
        self.response = ClientView(head=case.scope.get("method") == "HEAD")
        self.checker = ResponseChecker(case.scope)
        self.receiver = RECEIVERS[profile.receive_mode](case.body, profile)
        # client side
        #: Body bytes the client has sent so far.
        self.sent = 0
        # server side
        #: The app was handed the end of the request body (more_body=False).
        self.request_given = False
        #: Where the app waits in receive() after the end of the request, if it does.
        self.waits_after_request: str | None = None
        #: ``http.disconnect`` events handed out (uvicorn repeats it on every call).
        self.disconnects_given = 0
        #: Where the app first called receive() again after the disconnect, on a server where that blocks.
        self.blocked_after_disconnect: str | None = None

    def receive_after_disconnect_finding(self) -> Finding | None:
        """The app hung in a receive() after 'http.disconnect' (hypercorn, daphne): the cause of its hang."""
        if self.blocked_after_disconnect is None:
            return None
        return Finding(
            RECEIVE_AFTER_DISCONNECT,
            f"receive() was called again after 'http.disconnect' and the app never returned: the "
            f"{self.profile.name} profile blocks forever there",
            where=self.blocked_after_disconnect,
        )

    # ---------------------------------------------------------- the scope

    def build_scope(self, state: dict[str, Any] | None = None) -> dict[str, Any]:
        """The scope the imitated server hands the app; ``state`` is the lifespan's."""
        scope = self.base_scope(self.profile.spec_version, state)
        ext = dict(scope.get("extensions") or {})
        if ext or self.profile.base_extensions:
            scope["extensions"] = ext
        else:
            scope.pop("extensions", None)
        return scope

    # ------------------------------------------------------ client actions

    def send_body(self, size: int) -> None:
        """The client sends the next ``size`` body bytes."""
        if self.disconnected:
            return
        start = self.sent
        self.sent += max(0, min(size, len(self.body) - self.sent))
        self.receiver.on_body(start, self.sent)
        self._notify()

    def disconnect(self, detail: str = "") -> None:
        if self.disconnected:
            return
        self.disconnected = True
        self.disconnect_seq = self.recorder.record("client", "disconnect", None, detail)
        self.receiver.on_end()
        self._notify()

    # ------------------------------------------------------------ receive

    async def receive(self) -> dict[str, Any]:
        if self.closed:
            return {"type": "http.disconnect"}
        if self.app_finished:
            self.find(CALL_AFTER_RETURN, "receive() was called after the app returned", caller_site())
        blocks = self.profile.after_disconnect == "block"
        if self.disconnect_given and blocks and self.blocked_after_disconnect is None:
            # Judged when the run ends (``receive_after_disconnect_finding``): a
            # call that the app cancels (a disconnect listener torn down with its
            # task group) costs nothing on hypercorn; only one it hangs in is a bug.
            self.blocked_after_disconnect = caller_site()
        waiting_after_request = False
        try:
            while True:
                event = None
                if not (self.disconnect_given and blocks):
                    ended = self.disconnected or self.checker.complete
                    event = self.receiver.next_event(delivered=self.sent, ended=ended)
                if event is not None:
                    if event["type"] == "http.disconnect":
                        self.disconnect_given = True
                        self.disconnects_given += 1
                        if self.disconnects_given > SPIN_RECEIVES:
                            await self._spinning_on_disconnect()
                    elif not event.get("more_body", False):
                        self.request_given = True
                    self.recorder.record("server", "receive", dict(event))
                    return event
                if self.request_given and not self.disconnected and not waiting_after_request:
                    # Only the client could end this wait (by leaving): see request-deadlock.
                    waiting_after_request = True
                    self.waits_after_request = caller_site()
                await self._wait_for_change()
        finally:
            if waiting_after_request:
                self.waits_after_request = None

    async def _spinning_on_disconnect(self) -> None:
        """The app asks for more after the disconnect, forever, without ever blocking.

        uvicorn answers each call at once without awaiting anything, so such a
        loop never yields: it blocks the server's event loop.  Here the call
        blocks for good instead, so the run can end and report it.
        """
        import anyio

        if self.disconnects_given == SPIN_RECEIVES + 1:
            self.find(
                APP_HANG,
                f"the app called receive() {SPIN_RECEIVES} times after 'http.disconnect' without ever blocking: "
                "under uvicorn, which answers each call at once, this loop never yields and blocks the event loop",
                caller_site(depth=3),
            )
        await anyio.sleep_forever()

    # --------------------------------------------------------------- send

    async def send(self, message: Any) -> None:
        where = caller_site(message)
        copy = copy_message(message)
        await before_check(self, where)
        problems = self.checker.check(message)
        raises = self.profile.send_after_disconnect == "raise"
        seq = admit(self, problems, copy, where, raise_after_disconnect=raises, gone="client disconnected")
        if seq is not None:
            self._client_receives(seq, copy or {})

    def _client_receives(self, seq: int, message: dict[str, Any]) -> None:
        mtype = message.get("type")
        view = self.response
        if mtype == "http.response.start":
            view.status = message.get("status")
            # As the server sends them: h11 writes names lower-cased.
            view.headers = [(bytes(n).lower(), bytes(v)) for n, v in message.get("headers", [])]
            view.start_seq = seq
            view.trailers = bool(message.get("trailers", False))
        elif mtype == "http.response.body":
            body = message.get("body", b"")
            if body:
                view.chunks.append((seq, bytes(body)))
        elif mtype == "http.response.zerocopysend":
            data = zerocopy_bytes(message)
            if data:
                view.chunks.append((seq, data))
        elif mtype == "http.response.pathsend":
            view.pathsend = message.get("path")
        if self.checker.complete and view.complete_seq is None:
            view.complete_seq = seq
            self.receiver.on_end()
            self._notify()

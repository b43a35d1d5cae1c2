"""A raw-socket HTTP/1.1 client that plays a case's script against a real server.

The in-process fake server delivers exactly the chunks and the disconnect the
script names; a real server only sees bytes on a socket.  So the client turns
the script into socket operations that make a real server do the same thing:

* ``Chunk(n)``: send the next ``n`` body bytes (one chunk frame when the case
  declares ``Transfer-Encoding: chunked``), with ``TCP_NODELAY`` so they leave
  at once;
* ``Run``/``Advance``: a short real pause, so the server hands the chunks
  before and after it to the app as separate events instead of merging them;
* ``Disconnect``: ``shutdown(SHUT_WR)``.  uvicorn, hypercorn and daphne all
  treat the end of the stream as the client going away, and a half-close
  still lets us read whatever the server writes before it closes;
* ``Latency``: nothing (a real client cannot slow the server's sends down).

Then the rest of the body (unless the client left), and the response is read
with a deadline and judged by HTTP framing alone: Content-Length satisfied,
the chunked terminator, or the server closing a close-delimited response.
"""

from __future__ import annotations

import contextlib
import socket
import time
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote

from asgifuzz._case import Advance, Case, Chunk, Disconnect, Run

__all__ = ("ClientView", "Framing", "build_request_head", "replay_over_socket")

Framing = Literal["content-length", "chunked", "close", "none"]

#: A real pause at Run/Advance: long enough for the server to read the bytes
#: sent so far and hand them to the app before the next ones arrive.
PAUSE = 0.05
#: Virtual time is free in-process; in real time waiting it all out would make
#: a confirm run crawl, so an Advance waits at most this long.
MAX_ADVANCE = 2.0
#: Seconds a response may take in all while its bytes keep coming.
MAX_RESPONSE = 60.0
_METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
_BODYLESS_STATUSES = frozenset({204, 304})


@dataclass(frozen=True, slots=True)
class ClientView:
    """What a real client saw: the response as it arrived on the socket."""

    #: Final status (None: no response head arrived).
    status: int | None = None
    reason: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    #: How the response delimits its body (None: no head, or head unparsable).
    framing: Framing | None = None
    #: The body ended as its framing says it must.
    complete: bool = False
    #: The deadline passed before the response was complete.
    timed_out: bool = False
    #: The server closed its side (EOF) while or after we read.
    server_closed: bool = False
    #: The client closed its side, as the case's Disconnect asks.
    disconnected: bool = False
    #: Body bytes the client sent.
    sent: int = 0
    #: Interim (1xx) statuses seen before the final one.
    interim: tuple[int, ...] = ()
    #: A socket error or an unparsable response.
    error: str | None = None
    elapsed: float = 0.0

    @property
    def got_response(self) -> bool:
        return self.status is not None

    def summary(self) -> str:
        """One line, e.g. ``200, 5 byte(s), complete (content-length)``."""
        if self.status is None:
            if self.timed_out:
                what = "no response before the deadline"
            elif self.server_closed:
                what = "no response; the server closed the connection"
            else:
                what = "no response"
        else:
            state = "complete" if self.complete else ("stalled" if self.timed_out else "truncated")
            what = (
                f"{self.status} {self.reason}".rstrip() + f", {len(self.body)} body byte(s), {state} ({self.framing})"
            )
        if self.disconnected:
            what = f"client left after {self.sent} body byte(s); " + what
        if self.error:
            what += f"; {self.error}"
        return what

    def body_preview(self, limit: int = 80) -> str:
        text = repr(self.body[:limit])
        return text + ("..." if len(self.body) > limit else "")


def _target(scope: dict[str, object]) -> bytes:
    raw = scope.get("raw_path")
    if isinstance(raw, bytes) and raw:
        target = raw
    else:
        path = scope.get("path")
        target = quote(path if isinstance(path, str) else "/", safe="/:@!$&'()*+,;=-._~%").encode("ascii")
    query = scope.get("query_string")
    if isinstance(query, bytes) and query:
        target += b"?" + query
    return target


def build_request_head(case: Case, host: str) -> tuple[bytes, bool]:
    """The request line and headers for ``case``, and whether the body goes chunked.

    Host and Content-Length are added when the case's scope lacks them (the
    fuzzer's scope is what the app saw, not what a client must send).

    Raises:
        ValueError: a header would break the HTTP/1.1 framing (CR, LF or NUL).
    """
    scope = case.scope
    method = str(scope.get("method", "GET"))
    headers: list[tuple[bytes, bytes]] = [(bytes(n), bytes(v)) for n, v in scope.get("headers", [])]
    names = {n.lower() for n, _ in headers}
    chunked = any(n.lower() == b"transfer-encoding" and b"chunked" in v.lower() for n, v in headers)
    if b"host" not in names:
        headers.insert(0, (b"host", host.encode("ascii")))
    wants_length = case.body or method.upper() in _METHODS_WITH_BODY
    if not chunked and b"content-length" not in names and wants_length:
        headers.append((b"content-length", str(len(case.body)).encode("ascii")))
    lines = [method.encode("latin-1") + b" " + _target(scope) + b" HTTP/1.1"]
    lines += [n + b": " + v for n, v in headers]
    head = b"\r\n".join(lines) + b"\r\n\r\n"
    if any(c in line for line in lines for c in (b"\r", b"\n", b"\0")):
        raise ValueError("the case's request line or a header contains CR, LF or NUL; it cannot be sent as HTTP/1.1")
    return head, chunked


class _Timeout(Exception):
    pass


class _Closed(Exception):
    pass


class _Reader:
    """Buffered reads from the socket against a deadline that each arriving byte pushes back.

    A response that keeps coming (a stream of events a second apart) is not
    stalled, however long it takes, up to ``MAX_RESPONSE`` in all; one silent
    for ``patience`` seconds is.  (A fixed 5 s bound called sse-starlette's
    5 s stream stalled, triage.)
    """

    def __init__(self, sock: socket.socket, deadline: float, patience: float = 0.0) -> None:
        self.sock = sock
        self.deadline = deadline
        self.patience = patience
        self.cap = deadline + MAX_RESPONSE
        self.buf = b""
        self.eof = False

    def start(self, patience: float) -> None:
        """Start waiting for the response: ``patience`` seconds of silence at most."""
        now = time.monotonic()
        self.patience = patience
        self.deadline = now + patience
        self.cap = now + MAX_RESPONSE

    def _fill(self) -> None:
        if self.eof:
            raise _Closed
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise _Timeout
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            raise _Timeout from None
        except ConnectionResetError:
            # A reset after the server closed is the same end of stream for us.
            data = b""
        if not data:
            self.eof = True
            raise _Closed
        self.buf += data
        if self.patience:
            self.deadline = min(time.monotonic() + self.patience, self.cap)

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            if len(self.buf) > 65536:
                raise ValueError("a response line longer than 64 KiB")
            self._fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def exact(self, n: int, into: bytearray) -> None:
        """Move ``n`` bytes to ``into`` as they arrive (so a truncation keeps what came)."""
        while n:
            if not self.buf:
                self._fill()
            take = self.buf[:n]
            self.buf = self.buf[len(take) :]
            into += take
            n -= len(take)

    def rest(self, into: bytearray) -> None:
        while True:
            into += self.buf
            self.buf = b""
            self._fill()


@dataclass(slots=True)
class _Response:
    """The response as parsed so far (kept when the read ends early)."""

    status: int | None = None
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    framing: Framing | None = None
    complete: bool = False
    interim: list[int] = field(default_factory=list)


def _read_head(reader: _Reader, resp: _Response) -> None:
    while True:
        status_line = reader.line().decode("latin-1")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise ValueError(f"invalid status line {status_line[:80]!r}")
        headers: list[tuple[str, str]] = []
        while line := reader.line():
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep:
                raise ValueError(f"invalid header line {line[:80]!r}")
            headers.append((name.strip().lower(), value.strip()))
        status = int(parts[1])
        # 101 ends HTTP/1.1 on this connection; any other 1xx is interim.
        if 100 <= status < 200 and status != 101:
            resp.interim.append(status)
            continue
        resp.status, resp.reason, resp.headers = status, parts[2] if len(parts) > 2 else "", headers
        return


def _read_body(reader: _Reader, resp: _Response, method: str) -> None:
    assert resp.status is not None
    values = dict(resp.headers)
    if method.upper() == "HEAD" or resp.status in _BODYLESS_STATUSES or resp.status == 101:
        resp.framing = "none"
    elif "chunked" in values.get("transfer-encoding", "").lower():
        resp.framing = "chunked"
        while True:
            size_text = reader.line().split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise ValueError(f"invalid chunk size {size_text[:40]!r}") from None
            if size == 0:
                while reader.line():  # trailers, up to the empty line
                    pass
                break
            reader.exact(size, resp.body)
            if reader.line():
                raise ValueError("chunk data not followed by CRLF")
    elif "content-length" in values:
        text = values["content-length"]
        if not text.isdigit():
            raise ValueError(f"invalid Content-Length {text[:40]!r}")
        resp.framing = "content-length"
        reader.exact(int(text), resp.body)
    else:
        resp.framing = "close"
        with contextlib.suppress(_Closed):  # the close is what delimits this body: it is complete
            reader.rest(resp.body)
    resp.complete = True


@dataclass(slots=True)
class _Progress:
    """How far the script got (kept when a send fails halfway)."""

    sent: int = 0
    disconnected: bool = False


def _play(sock: socket.socket, case: Case, chunked: bool, progress: _Progress) -> None:
    """Send the body as the script says, then the rest of it unless the client left."""
    body = case.body

    def send(data: bytes) -> None:
        if data:
            sock.sendall(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
            progress.sent += len(data)

    for action in case.actions:
        if isinstance(action, Chunk):
            send(body[progress.sent : progress.sent + action.size])
        elif isinstance(action, Run):
            time.sleep(PAUSE)
        elif isinstance(action, Advance):
            time.sleep(max(PAUSE, min(action.seconds, MAX_ADVANCE)))
        elif isinstance(action, Disconnect):
            sock.shutdown(socket.SHUT_WR)
            progress.disconnected = True
            return
    send(body[progress.sent :])
    if chunked:
        sock.sendall(b"0\r\n\r\n")


def replay_over_socket(
    case: Case,
    port: int,
    *,
    host: str = "127.0.0.1",
    timeout: float = 5.0,
    connect_timeout: float = 5.0,
) -> ClientView:
    """Connect to ``host:port``, play ``case``'s script and read the response.

    Never raises for what the server does (a reset, garbage, silence): that is
    the evidence, returned in the view.  ``timeout`` bounds each silence while waiting for the
    response after the script has been played.

    Raises:
        OSError: the connection could not be made at all.
        ValueError: the case cannot be expressed as an HTTP/1.1 request.
    """
    head, chunked = build_request_head(case, f"{host}:{port}")
    started = time.monotonic()
    sock = socket.create_connection((host, port), timeout=connect_timeout)
    resp = _Response()
    progress, timed_out = _Progress(), False
    error: str | None = None
    reader = _Reader(sock, 0.0)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.sendall(head)
            _play(sock, case, chunked, progress)
        except OSError as exc:
            # The server may answer (or hang up) before it read the whole
            # body; what it wrote is still there to read.
            error = f"the server stopped reading the request: {type(exc).__name__}"
        reader.start(timeout)
        try:
            _read_head(reader, resp)
            _read_body(reader, resp, str(case.scope.get("method", "GET")))
        except _Timeout:
            timed_out = True
        except _Closed:
            pass
        except ValueError as exc:
            error = f"invalid response: {exc}"
        except OSError as exc:
            error = error or f"socket error: {type(exc).__name__}: {exc}"
    finally:
        sock.close()
    return ClientView(
        status=resp.status,
        reason=resp.reason,
        headers=tuple(resp.headers),
        body=bytes(resp.body),
        framing=resp.framing,
        complete=resp.complete,
        timed_out=timed_out,
        server_closed=reader.eof,
        disconnected=progress.disconnected,
        sent=progress.sent,
        interim=tuple(resp.interim),
        error=error,
        elapsed=time.monotonic() - started,
    )

"""A case as the bytes and pauses a client sends to a running server (``asgifuzz show --http``).

The steps are those ``asgifuzz confirm``'s raw-socket client plays
(``confirm._client``): the request head, then the body as the script cuts
it, a pause where the script lets the app run or time pass (so the server
hands the bytes before and after it to the app as separate events), and a
half-close (``shutdown(SHUT_WR)``) where the client goes away.  Printed, they
let anyone reproduce a finding against their own server, with any client
that can send raw bytes (``nc``, a Python socket); ``curl`` can express the
cases where the client sends the whole body and waits.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Literal

from asgifuzz._case import Advance, Case, Chunk, Disconnect, Run
from asgifuzz.confirm._client import PAUSE, build_request_head

__all__ = ("Step", "curl_command", "http_steps", "render_http")


@dataclass(frozen=True, slots=True)
class Step:
    """One thing the client does: send bytes, pause, or close its sending side."""

    kind: Literal["send", "pause", "close"]
    data: bytes = b""
    seconds: float = 0.0
    note: str = ""


def http_steps(case: Case, host: str) -> list[Step]:
    """The client's steps for ``case`` against a server at ``host`` (``"127.0.0.1:8000"``).

    Raises:
        ValueError: the case is not an HTTP request that HTTP/1.1 can carry.
    """
    if case.scope.get("type") != "http":
        raise ValueError(f"a {case.scope.get('type')} case is not an HTTP request; only HTTP cases can be sent as raw bytes")
    head, chunked = build_request_head(case, host)
    steps = [Step("send", head, note="request line and headers")]
    body, sent = case.body, 0

    def frame(data: bytes) -> bytes:
        return b"%x\r\n%s\r\n" % (len(data), data) if chunked else data

    for action in case.actions:
        if isinstance(action, Chunk):
            data = body[sent : sent + action.size]
            if data:
                steps.append(Step("send", frame(data), note=f"body bytes {sent}-{sent + len(data)}"))
                sent += len(data)
        elif isinstance(action, Run):
            steps.append(Step("pause", seconds=PAUSE, note="let the server hand the bytes so far to the app"))
        elif isinstance(action, Advance):
            steps.append(Step("pause", seconds=max(PAUSE, action.seconds), note="the script lets time pass"))
        elif isinstance(action, Disconnect):
            steps.append(Step("close", note="the client goes away: shutdown(SHUT_WR), then read what comes"))
            return steps
    if sent < len(body):
        steps.append(Step("send", frame(body[sent:]), note=f"the rest of the body, bytes {sent}-{len(body)}"))
    if chunked:
        steps.append(Step("send", b"0\r\n\r\n", note="end of the chunked body"))
    return steps


def render_http(case: Case, host: str) -> list[str]:
    """The steps as text, with timing: ``send N byte(s)`` then the bytes as Python bytes literals
    (one header a line), ``pause S`` (seconds), ``close``."""
    lines = [f"connect to {host} (TCP, TCP_NODELAY), then:"]
    at = 0.0
    for step in http_steps(case, host):
        when = f"t={at:.3f}s"
        if step.kind == "send":
            lines.append(f"  {when}  send {len(step.data)} byte(s)  # {step.note}")
            lines += [f"      {part!r}" for part in _lines(step.data)]
        elif step.kind == "pause":
            lines.append(f"  {when}  pause {step.seconds:g}  # {step.note}")
            at += step.seconds
        else:
            lines.append(f"  {when}  close  # {step.note}")
    lines.append("then read the response until it is complete or the server closes the connection.")
    return lines


def _lines(data: bytes) -> list[bytes]:
    """``data`` cut after each CRLF (and every 64 bytes), so the head prints one header a line."""
    out: list[bytes] = []
    for piece in data.split(b"\r\n"):
        out += [piece[i : i + 64] for i in range(0, len(piece), 64)] or [b""]
        out[-1] += b"\r\n"
    out[-1] = out[-1][:-2]
    return [p for p in out if p]


def curl_command(case: Case, base_url: str) -> tuple[str | None, str]:
    """A ``curl`` command that sends ``case``'s request, and a note on what it cannot express.

    None when curl cannot send it at all: the client leaves mid-request (curl
    sends the whole body), or the body goes chunked in the script's pieces.
    """
    if case.scope.get("type") != "http":
        return None, "not an HTTP request"
    if any(isinstance(a, Disconnect) for a in case.actions):
        return None, "the client leaves mid-request; curl always sends the whole request (use the bytes above)"
    head, chunked = build_request_head(case, "HOST")
    if chunked:
        return None, "the body is sent chunked in the script's pieces; use the bytes above"
    method = str(case.scope.get("method", "GET"))
    target = head.split(b" ", 2)[1].decode("latin-1")
    parts = ["curl", "-sS", "-i", "--http1.1", "-X", method]
    names = set()
    for name, value in case.scope.get("headers", []):
        n, v = bytes(name).decode("latin-1"), bytes(value).decode("latin-1")
        names.add(n.lower())
        if n.lower() in ("host", "content-length"):
            continue  # curl writes them
        parts += ["-H", f"{n}: {v}" if v else f"{n};"]
    # curl adds these on its own (a form content type with --data-binary): "Name:" removes them.
    for own in ("Content-Type", "Accept", "User-Agent"):
        if own.lower() not in names and (own != "Content-Type" or case.body):
            parts += ["-H", f"{own}:"]
    body_arg = ""
    if case.body:
        parts += ["--data-binary", "@-"]
        body_arg = "printf '%b' " + shlex.quote("".join(_printf_escape(b) for b in case.body)) + " | "
    parts.append(base_url.rstrip("/") + target)
    paused = any(isinstance(a, Run | Advance) for a in case.actions)
    note = "curl sends the body at once, without the script's pauses" if paused else ""
    return body_arg + " ".join(shlex.quote(p) for p in parts), note


def _printf_escape(byte: int) -> str:
    if 32 <= byte < 127 and chr(byte) not in "\\%'":
        return chr(byte)
    return f"\\0{byte:03o}"

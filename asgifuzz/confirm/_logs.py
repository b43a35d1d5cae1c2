"""Reading a real server's log: tracebacks, the app's exception, protocol errors.

Servers say the same things in different words, so the markers below are
per-server phrases collected from their sources (see asgi-invariants.md 7.3):

* uvicorn: "Exception in ASGI application" + traceback; "Expected ASGI
  message ..." (RuntimeError) for out-of-order sends; "ASGI callable returned
  without starting/completing response" when the app ends early;
* hypercorn: "Error in ASGI Framework" + traceback; ``UnexpectedMessageError``;
* daphne: "Exception inside application" + traceback; ``ValueError`` "HTTP
  response has already been started" (and similar) for out-of-order sends;
* granian: "Application callable raised an exception" + traceback;
  "ASGI flow error: ..." for out-of-order sends.

Exception lines are found by shape (``Name: message`` where the name looks
like an exception class) after a ``Traceback`` header, with the ``|`` prefixes
of exception-group tracebacks stripped.
"""

from __future__ import annotations

import re

__all__ = ("app_exception", "condense", "exception_lines", "has_traceback", "incomplete_markers", "protocol_markers")

_EXC_LINE = re.compile(
    r"^(?P<name>[A-Za-z_][\w.]*(?:Error|Exception|ExceptionGroup|Exit|Interrupt|Cancelled|Timeout|Failure))"
    r"(?::\s?(?P<message>.*))?$"
)
_GROUP_NAMES = ("ExceptionGroup", "BaseExceptionGroup")

#: Phrases a server logs when the app broke the message protocol.
PROTOCOL_MARKERS = (
    "Expected ASGI message",  # uvicorn RuntimeError
    "Unexpected ASGI message",  # uvicorn (older) / websockets
    "UnexpectedMessageError",  # hypercorn
    "LocalProtocolError",  # h11 (uvicorn, hypercorn): Content-Length mismatch, bad status
    "Response content longer than Content-Length",  # uvicorn httptools
    "Response content shorter than Content-Length",
    "ASGI callable returned without",  # uvicorn: returned without starting/completing
    "HTTP response has already been started",  # daphne ValueError
    "HTTP response has not yet been started",  # daphne ValueError
    "Cannot handle message type",  # daphne ValueError
    "ASGI flow error",  # granian RuntimeError ("Response already started", ...)
    "ASGI protocol failure",  # granian
)

#: Phrases a server logs when the app ended without completing the response.
INCOMPLETE_MARKERS = (
    "ASGI callable returned without starting response",
    "ASGI callable returned without completing response",
)


def _strip(line: str) -> str:
    """Drop indentation and the ``|`` gutters of exception-group tracebacks."""
    text = line.strip()
    while text.startswith(("|", "+")):
        text = text.lstrip("|+-").strip()
    return text


def has_traceback(lines: list[str]) -> bool:
    return any("Traceback (most recent call last)" in line for line in lines)


def exception_lines(lines: list[str]) -> list[str]:
    """``Type: message`` lines of the tracebacks in ``lines``, in order, without repeats."""
    found: list[str] = []
    in_traceback = False
    for raw in lines:
        if "Traceback (most recent call last)" in raw:
            in_traceback = True
            continue
        if not in_traceback:
            continue
        text = _strip(raw)
        if text.startswith("File ") or not text:
            continue
        match = _EXC_LINE.match(text)
        if match and text not in found:
            found.append(text)
    return found


def app_exception(lines: list[str]) -> str | None:
    """The exception that reached the server: the last non-group exception line."""
    plain = [e for e in exception_lines(lines) if not e.split(":", 1)[0].endswith(_GROUP_NAMES)]
    if plain:
        return plain[-1]
    every = exception_lines(lines)
    return every[-1] if every else None


def protocol_markers(lines: list[str]) -> list[str]:
    """Lines that show the server rejected a message, exception lines first.

    The phrase also appears in the traceback's source line (``raise
    RuntimeError(f"Expected ASGI message ...")``); the exception line after it
    is the one with the actual message types, so it is the one to show.
    """
    exceptions = [e for e in exception_lines(lines) if any(m in e for m in PROTOCOL_MARKERS)]
    others = [line.strip() for line in lines if any(m in line for m in PROTOCOL_MARKERS)]
    return exceptions + [line for line in others if line not in exceptions]


def incomplete_markers(lines: list[str]) -> list[str]:
    return [line.strip() for line in lines if any(m in line for m in INCOMPLETE_MARKERS)]


def condense(lines: list[str], limit: int = 14) -> list[str]:
    """The lines worth reading: traceback frames and caret markers dropped, at most ``limit``.

    What is left is the server's own messages, the traceback headers and the
    exception lines: enough to recognise the failure; ``--json`` and
    ``--verbose`` give every line.
    """
    kept: list[str] = []
    skip_code = False
    for raw in lines:
        text = _strip(raw)
        if skip_code:
            skip_code = False
            if text and not text.startswith(("File ", "Traceback")):
                continue
        if text.startswith("File "):
            skip_code = True
            continue
        if not text or set(text) <= set("^~ "):
            continue
        kept.append(raw.rstrip())
    if len(kept) > limit:
        head = limit // 2
        dropped = len(kept) - limit + 1
        kept = [*kept[:head], f"... ({dropped} line(s) left out)", *kept[-(limit - head - 1) :]]
    return kept

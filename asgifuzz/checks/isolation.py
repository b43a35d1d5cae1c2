"""The isolation oracle: a connection of a session against the same connection alone.

Pure: it compares what the client received (status, body, and the headers
that are neither dates nor ids) in the session with the same connection run
alone on the same app.  A connection whose alone run does not answer the
same way twice (counters, random ids, clocks in the body) is not compared,
so only a difference the other connections caused is reported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from asgifuzz._finding import Finding
from asgifuzz.checks.invariants import CONNECTION_ISOLATION

__all__ = ("ConnectionView", "isolation_finding")

#: Headers whose value legitimately changes from one response to the next.
_VOLATILE = frozenset({b"date", b"expires", b"last-modified", b"etag", b"age", b"set-cookie", b"server", b"x-runtime"})
_ID_NAME = re.compile(rb"(^|-)(id|request|trace|span|correlation|nonce|timestamp|time)(-|$)")


@dataclass(frozen=True, slots=True)
class ConnectionView:
    """What the client of one connection received (None: no response started)."""

    status: int | None
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    complete: bool


def _stable_headers(headers: Sequence[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    out = []
    for name, value in headers:
        lower = name.lower()
        if lower in _VOLATILE or _ID_NAME.search(lower):
            continue
        out.append((lower, value))
    return sorted(out)


def _key(view: ConnectionView) -> tuple[object, ...]:
    return (view.status, _stable_headers(view.headers), view.body, view.complete)


def _describe(view: ConnectionView) -> str:
    if view.status is None:
        return "no response"
    body = view.body if len(view.body) <= 60 else view.body[:60] + b"..."
    return f"{view.status} {body!r}"


def _difference(session: ConnectionView, alone: ConnectionView) -> str:
    if session.status != alone.status:
        return f"status {session.status} in the session, {alone.status} alone"
    if session.body != alone.body:
        return f"body {_describe(session)} in the session, {_describe(alone)} alone"
    if session.complete != alone.complete:
        return f"the response {'completed' if session.complete else 'did not complete'} in the session, not alone"
    mine, theirs = dict(_stable_headers(session.headers)), dict(_stable_headers(alone.headers))
    for name in sorted(set(mine) | set(theirs)):
        if mine.get(name) != theirs.get(name):
            return f"header {name.decode('latin-1')}: {mine.get(name)!r} in the session, {theirs.get(name)!r} alone"
    return "the responses differ"


def isolation_finding(
    index: int, total: int, session: ConnectionView, alone: ConnectionView, alone_again: ConnectionView | None
) -> Finding | None:
    """The finding for connection ``index`` (0-based) of ``total``, or None.

    ``alone_again`` is a second alone run, made only when the first differs
    from the session: when the two alone runs differ too, the connection is
    not deterministic by itself and nothing is reported.
    """
    if _key(session) == _key(alone):
        return None
    if alone_again is None or _key(alone_again) != _key(alone):
        return None
    others = "the other connection" if total == 2 else f"the other {total - 1} connections"
    return Finding(
        CONNECTION_ISOLATION,
        f"connection {index + 1} of {total} got a different response with {others} than alone "
        f"({_difference(session, alone)}): per-request state is shared between connections",
    )

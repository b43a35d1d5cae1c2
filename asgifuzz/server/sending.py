"""What every connection's ``send()`` does around its protocol's own check.

Before the check: the send latency the case chose (flow control) and the
``call-after-return`` rule.  After it: the message is recorded with its
problems, then treated as the imitated server treats it: dropped (or an
``OSError`` raised) once the client left, a ``ServerRejectedMessage`` for
what the server rejects, passed on otherwise.
"""

from __future__ import annotations

from typing import Any, Protocol

from asgifuzz.checks.http import Problem
from asgifuzz.checks.invariants import CALL_AFTER_RETURN, Invariant
from asgifuzz.server.profiles import ServerProfile
from asgifuzz.server.signals import ClientDisconnected, ServerRejectedMessage
from asgifuzz.server.trace import Recorder

__all__ = ("admit", "before_check")


class Connection(Protocol):
    recorder: Recorder
    profile: ServerProfile
    disconnected: bool
    app_finished: bool
    latency: int

    def find(self, invariant: Invariant, message: str, where: str = "") -> None: ...


async def before_check(conn: Connection, where: str) -> None:
    if conn.latency:
        import anyio

        for _ in range(conn.latency):
            await anyio.lowlevel.checkpoint()
    if conn.app_finished:
        conn.find(CALL_AFTER_RETURN, "send() was called after the app returned", where)


def admit(
    conn: Connection,
    problems: list[Problem],
    copy: dict[str, Any] | None,
    where: str,
    *,
    raise_after_disconnect: bool,
    gone: str,
) -> int | None:
    """Record the message; its trace number when it goes on to the client, None when dropped."""
    left = conn.disconnected
    seq = conn.recorder.record("app", "send", copy, "client gone" if left else "")
    for invariant, text in problems:
        conn.find(invariant, text, where)
    if left:
        if raise_after_disconnect:
            raise ClientDisconnected(gone)
        return None
    # Raise into the app only what the imitated server raises; what it
    # tolerates was recorded above and goes on as the server sends it.
    rejected = [text for invariant, text in problems if invariant.code not in conn.profile.tolerates]
    if rejected:
        raise ServerRejectedMessage(rejected[0])
    return seq

"""What every connection's ``send()`` does around its protocol's own check.

Before the check: the send latency the case chose (flow control) and the
``call-after-return`` rule.  After it: the message is recorded with its
problems, then treated as the imitated server treats it: dropped (or an
``OSError`` raised) once the client left, a ``ServerRejectedMessage`` for
what the server rejects, passed on otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgifuzz._case import Case
from asgifuzz._finding import Finding
from asgifuzz.checks.http import Problem
from asgifuzz.checks.invariants import CALL_AFTER_RETURN, Invariant
from asgifuzz.server.profiles import ServerProfile
from asgifuzz.server.signals import ClientDisconnected, ServerRejectedMessage
from asgifuzz.server.trace import Recorder

__all__ = ("Connection", "admit", "before_check")


class Connection:
    """What the HTTP and websocket connections share: their case, the imitated server, how they report.

    ``notify`` wakes whoever waits on the connection's state; ``wait_for_change`` is that wait.
    """

    def __init__(
        self,
        case: Case,
        profile: ServerProfile,
        recorder: Recorder,
        report: Callable[[Finding], None],
        notify: Callable[[], None],
        wait_for_change: Callable[[], Any],
    ) -> None:
        self.case = case
        self.profile = profile
        self.recorder = recorder
        self._report = report
        self._notify = notify
        self._wait_for_change = wait_for_change
        #: The client closed or lost the connection (its own doing).
        self.disconnected = False
        self.disconnect_seq: int | None = None
        self.disconnect_given = False
        #: Scheduler yields each send() takes (flow control), from ``Latency``.
        self.latency = 0
        #: Set by the driver once the app call has ended.
        self.app_finished = False
        #: Set once the run is over.  What the app left behind (a WSGI adapter's
        #: worker thread still reading the body) may call receive() during a
        #: later run: it gets the disconnect at once, as from a closed socket,
        #: instead of a task that waits forever and counts as the later run's leak.
        self.closed = False

    def find(self, invariant: Invariant, message: str, where: str = "") -> None:
        self._report(Finding(invariant, message, where=where))

    def base_scope(self, spec_version: str | None, state: dict[str, Any] | None) -> dict[str, Any]:
        """The case's scope with what every imitated server adds: ``asgi``, the lifespan ``state``."""
        scope = dict(self.case.scope)
        asgi: dict[str, str] = {"version": "3.0"}
        if spec_version is not None:
            asgi["spec_version"] = spec_version
        scope["asgi"] = asgi
        if self.profile.state:
            # A shallow copy per connection, as uvicorn and hypercorn make.
            scope["state"] = dict(state or {})
        scope["headers"] = [tuple(h) for h in scope.get("headers", [])]
        return scope


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

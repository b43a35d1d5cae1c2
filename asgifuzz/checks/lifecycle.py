"""Lifecycle checks: how the app call ended (pure; the driver supplies the facts).

* an exception that reached the server (``app-raised``, or
  ``exception-on-disconnect`` when the client had left), except the
  exceptions that only say "the client went away" and those asgifuzz's own
  endpoints plant on purpose;
* a normal return with the response unfinished, or with a value;
* an app still running past the deadline (``app-hang``), and tasks it left
  running (``task-leak``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from asgifuzz._finding import Finding
from asgifuzz._frames import chain, exception_site, exception_text, leaves, raise_site
from asgifuzz.checks.invariants import (
    APP_HANG,
    APP_RAISED,
    EXCEPTION_ON_DISCONNECT,
    REQUEST_DEADLOCK,
    RESPONSE_INCOMPLETE,
    RETURNED_NON_NONE,
    TASK_LEAK,
)
from asgifuzz.server.probe import PlantedError
from asgifuzz.server.signals import ClientDisconnected, ServerRejectedMessage

__all__ = (
    "AppEnd",
    "app_end_findings",
    "hang_finding",
    "is_disconnect_signal",
    "leak_finding",
    "request_deadlock",
)

EndKind = Literal["returned", "raised", "hung"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AppEnd:
    """How the app call ended, and the state of the response at that point."""

    kind: EndKind
    exception: BaseException | None = None
    result: object = None
    disconnected: bool = False
    response_started: bool = False
    response_complete: bool = False


def is_disconnect_signal(exc: BaseException) -> bool:
    """True for exceptions that only say "the client went away".

    That is the server's own ``ClientDisconnected`` (the spec's OSError), an
    exception raised while handling it, and Starlette's ``ClientDisconnect``
    (what ``Request.body()`` raises when ``http.disconnect`` arrives mid-body).
    """
    return any(isinstance(e, ClientDisconnected) or type(e).__name__ == "ClientDisconnect" for e in chain(exc))


def _is_planted(exc: BaseException) -> bool:
    return any(isinstance(e, PlantedError) for e in chain(exc))


def app_end_findings(end: AppEnd) -> list[Finding]:
    found: list[Finding] = []
    if end.kind == "raised" and end.exception is not None:
        for leaf in leaves(end.exception):
            if isinstance(leaf, ServerRejectedMessage) or _is_planted(leaf) or is_disconnect_signal(leaf):
                continue
            invariant = EXCEPTION_ON_DISCONNECT if end.disconnected else APP_RAISED
            why = "after the client disconnected" if end.disconnected else "while the client was connected"
            where, raised = exception_site(leaf), raise_site(leaf)
            detail = f" (raised at {raised})" if raised and raised != where else ""
            found.append(
                Finding(invariant, f"{exception_text(leaf)} escaped the app {why}{detail}", where=where, exception=leaf)
            )
    elif end.kind == "returned":
        if not end.response_complete and not end.disconnected:
            state = "never started" if not end.response_started else "started but not finished"
            found.append(Finding(RESPONSE_INCOMPLETE, f"the app returned while the response was {state}"))
        if end.result is not None:
            found.append(Finding(RETURNED_NON_NONE, f"the app returned {end.result!r}"))
    return found


def hang_finding(*, spinning: bool, hang_timeout: float, disconnected: bool, stuck_at: str) -> Finding:
    """The app was still running ``hang_timeout`` virtual seconds after the exchange ended."""
    if spinning:
        text = "the app never blocked: it spins without waiting on anything"
    else:
        text = f"the app was still running {hang_timeout:g}s (virtual) after " + (
            "the client disconnected" if disconnected else "the response completed"
        )
    if stuck_at:
        text += f"; it is waiting at {stuck_at}"
    return Finding(APP_HANG, text, where=stuck_at.split(" in ")[0])


def leak_finding(name: str, waiting_at: str) -> Finding:
    return Finding(
        TASK_LEAK,
        f"task {name!r} started by the app is still running after the app returned"
        + (f"; it is waiting at {waiting_at}" if waiting_at else ""),
        where=waiting_at.split(" in ")[0],
    )


def request_deadlock(waiting_at: str, profile: str, patience: float) -> Finding:
    """The app waited in receive() after the end of the request while the client waited for the response."""
    return Finding(
        REQUEST_DEADLOCK,
        f"the app had the whole request body and called receive() again at {waiting_at or 'an unknown line'} "
        f"without sending anything; under {profile} that call blocks until the client leaves, and the client "
        f"was waiting for the response (it gave up after {patience:g}s, virtual)",
        where=waiting_at,
    )

"""The lifespan state machine (what a lifespan app may send, in which order), written as data.

Theory of operation
-------------------
Rule 1: every ordering rule for what a lifespan app may send lives in this file.
Rule 2: this file knows nothing about drivers, Hypothesis or I/O.

The state is what the server has sent and the app has answered:

    WAITING --(server: startup)--> STARTING --complete--> STARTED --(server: shutdown)--> STOPPING --complete|failed--> STOPPED
                                   STARTING --failed--> FAILED

``LS_TRANSITIONS`` maps ``(state, message type)`` to the next state; a pair
not in the table is illegal and ``illegal_move`` names the invariant it
breaks.  A reply to an event not received yet (startup reply in WAITING,
shutdown reply in STARTED) moves on as uvicorn does, with a warning.

Sources: ASGI ``lifespan.rst``; uvicorn ``LifespanOn.send`` asserts the
same table (and nothing about replies before the event).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

from asgifuzz.checks.invariants import (
    LIFESPAN_REPLY_BEFORE_EVENT,
    LIFESPAN_REPLY_ORDER,
    LIFESPAN_UNKNOWN_MESSAGE_TYPE,
    Invariant,
)

__all__ = ("LS_TRANSITIONS", "LS_TYPES", "LifespanState", "illegal_move", "next_state", "on_event")


class LifespanState(enum.Enum):
    #: ``lifespan.startup`` not received yet.
    WAITING = "waiting"
    #: Startup received, not answered.
    STARTING = "starting"
    #: ``lifespan.startup.complete`` sent.
    STARTED = "started"
    #: ``lifespan.startup.failed`` sent: the server stops, no shutdown follows.
    FAILED = "failed"
    #: Shutdown received, not answered.
    STOPPING = "stopping"
    #: A shutdown reply sent.
    STOPPED = "stopped"


S = LifespanState

STARTUP_TYPES: Final = frozenset({"lifespan.startup.complete", "lifespan.startup.failed"})
SHUTDOWN_TYPES: Final = frozenset({"lifespan.shutdown.complete", "lifespan.shutdown.failed"})
LS_TYPES: Final = STARTUP_TYPES | SHUTDOWN_TYPES

LS_TRANSITIONS: Final[Mapping[tuple[LifespanState, str], LifespanState]] = {
    (S.STARTING, "lifespan.startup.complete"): S.STARTED,
    (S.STARTING, "lifespan.startup.failed"): S.FAILED,
    (S.STOPPING, "lifespan.shutdown.complete"): S.STOPPED,
    (S.STOPPING, "lifespan.shutdown.failed"): S.STOPPED,
}

#: Replies to an event not yet received: legal for uvicorn, a warning.
_EARLY: Final[Mapping[tuple[LifespanState, str], LifespanState]] = {
    (S.WAITING, "lifespan.startup.complete"): S.STARTED,
    (S.WAITING, "lifespan.startup.failed"): S.FAILED,
    (S.STARTED, "lifespan.shutdown.complete"): S.STOPPED,
    (S.STARTED, "lifespan.shutdown.failed"): S.STOPPED,
    (S.FAILED, "lifespan.shutdown.complete"): S.FAILED,
    (S.FAILED, "lifespan.shutdown.failed"): S.FAILED,
}


def on_event(state: LifespanState, event_type: str) -> LifespanState:
    """The state after the app received ``event_type`` from the server."""
    if event_type == "lifespan.startup" and state is S.WAITING:
        return S.STARTING
    if event_type == "lifespan.shutdown" and state is S.STARTED:
        return S.STOPPING
    return state


def next_state(state: LifespanState, message_type: str) -> LifespanState | None:
    """The state after a send, or None when uvicorn would reject it."""
    return LS_TRANSITIONS.get((state, message_type)) or _EARLY.get((state, message_type))


def illegal_move(state: LifespanState, message_type: str) -> Invariant | None:
    """The invariant broken by sending ``message_type`` in ``state`` (None: legal)."""
    if message_type not in LS_TYPES:
        return LIFESPAN_UNKNOWN_MESSAGE_TYPE
    if (state, message_type) in LS_TRANSITIONS:
        return None
    if (state, message_type) in _EARLY:
        return LIFESPAN_REPLY_BEFORE_EVENT
    return LIFESPAN_REPLY_ORDER

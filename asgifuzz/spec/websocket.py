"""The websocket state machine (what an app may send, in which order), written as data.

Theory of operation
-------------------
Rule 1: every ordering rule for what a websocket app may send lives in this file.
Rule 2: this file knows nothing about drivers, Hypothesis or I/O.

``WS_TRANSITIONS`` maps ``(state, message type)`` to the next state; a pair
not in the table is illegal and ``illegal_move`` names the invariant it
breaks.  One move depends on a field: a denial body with ``more_body=False``
ends the denial (``next_state``).

    HANDSHAKE --accept--> CONNECTED --send--> CONNECTED --close--> CLOSED
    HANDSHAKE --close--> CLOSED                         (HTTP 403)
    HANDSHAKE --http.response.start--> DENIAL --body(more)--> DENIAL --body--> CLOSED

Sources: ASGI ``www.rst`` (WebSocket), ``extensions.rst`` (Websocket Denial
Response); uvicorn 0.54 ``websockets_sansio_impl.send`` and hypercorn 0.18
``ws_stream.app_send`` enforce the same table.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

from asgifuzz.checks.invariants import (
    WEBSOCKET_DENIAL_ORDER,
    WEBSOCKET_DUPLICATE_ACCEPT,
    WEBSOCKET_MESSAGE_AFTER_CLOSE,
    WEBSOCKET_SEND_BEFORE_ACCEPT,
    WEBSOCKET_UNKNOWN_MESSAGE_TYPE,
    Invariant,
)

__all__ = (
    "CORE_TYPES",
    "DENIAL_EXTENSION",
    "DENIAL_TYPES",
    "WS_TRANSITIONS",
    "WebSocketState",
    "allowed_types",
    "illegal_move",
    "next_state",
)


class WebSocketState(enum.Enum):
    #: Nothing answered yet: the client waits for the handshake response.
    HANDSHAKE = "handshake"
    #: Accepted: frames flow both ways.
    CONNECTED = "connected"
    #: A denial response started; its body is being sent.
    DENIAL = "denial"
    #: The app closed (after accept), rejected (close before accept) or finished a denial.
    CLOSED = "closed"


S = WebSocketState

DENIAL_EXTENSION: Final = "websocket.http.response"
DENIAL_TYPES: Final = frozenset({"websocket.http.response.start", "websocket.http.response.body"})
CORE_TYPES: Final = frozenset({"websocket.accept", "websocket.send", "websocket.close"})

WS_TRANSITIONS: Final[Mapping[tuple[WebSocketState, str], WebSocketState]] = {
    (S.HANDSHAKE, "websocket.accept"): S.CONNECTED,
    (S.HANDSHAKE, "websocket.close"): S.CLOSED,
    (S.HANDSHAKE, "websocket.http.response.start"): S.DENIAL,
    (S.CONNECTED, "websocket.send"): S.CONNECTED,
    (S.CONNECTED, "websocket.close"): S.CLOSED,
    (S.DENIAL, "websocket.http.response.body"): S.DENIAL,  # see next_state
}


def allowed_types(extensions: Mapping[str, object] | None) -> frozenset[str]:
    """Message types a websocket app may send given the advertised extensions."""
    return CORE_TYPES | (DENIAL_TYPES if DENIAL_EXTENSION in (extensions or {}) else frozenset())


def illegal_move(state: WebSocketState, message_type: str) -> Invariant:
    """The invariant broken by sending ``message_type`` in ``state``."""
    if message_type not in CORE_TYPES and message_type not in DENIAL_TYPES:
        return WEBSOCKET_UNKNOWN_MESSAGE_TYPE
    if state is S.CLOSED:
        return WEBSOCKET_MESSAGE_AFTER_CLOSE
    if state is S.DENIAL or message_type in DENIAL_TYPES:
        return WEBSOCKET_DENIAL_ORDER
    if message_type == "websocket.accept":
        return WEBSOCKET_DUPLICATE_ACCEPT
    return WEBSOCKET_SEND_BEFORE_ACCEPT


def next_state(state: WebSocketState, message_type: str, *, more_body: bool = False) -> WebSocketState | None:
    """The state after a legal send, or None when the move is illegal."""
    target = WS_TRANSITIONS.get((state, message_type))
    if target is None:
        return None
    if message_type == "websocket.http.response.body" and not more_body:
        return S.CLOSED
    return target

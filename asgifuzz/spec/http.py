"""The HTTP response state machine, written as data.

Theory of operation
-------------------
Rule 1: every ordering rule for what an HTTP app may send lives in this file.
Rule 2: this file knows nothing about drivers, Hypothesis or I/O.

``HTTP_TRANSITIONS`` maps ``(state, message type)`` to the next state.  A pair
that is not in the table is illegal; ``illegal_move`` names the invariant it
breaks.  Two moves depend on message fields, not only on the type, and are
written as code in ``next_state``: a body with ``more_body=False`` ends the
body (then trailers or completion) and trailers with ``more_trailers=False``
complete the response.

Sources: ASGI ``www.rst`` (Response Start / Body) and ``extensions.rst``
(trailers, pathsend, early hints, debug, zero-copy send, server push).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

from asgifuzz.checks.invariants import (
    BODY_BEFORE_RESPONSE_START,
    DUPLICATE_RESPONSE_START,
    EXTENSION_MISUSE,
    MESSAGE_AFTER_RESPONSE_COMPLETE,
    UNKNOWN_MESSAGE_TYPE,
    Invariant,
)

__all__ = ("CORE_TYPES", "EXTENSION_TYPES", "HTTP_TRANSITIONS", "HTTPState", "allowed_types", "illegal_move", "next_state")


class HTTPState(enum.Enum):
    #: Nothing sent yet (early hints and debug may go out).
    AWAITING_START = "awaiting-start"
    #: Start sent; body chunks flow.
    STREAMING = "streaming"
    #: Final body sent on a response that declared ``trailers=True``.
    TRAILERS = "trailers"
    #: The response is over; nothing more may be sent.
    COMPLETE = "complete"


S = HTTPState

#: Extension message types; each is allowed only when ``scope["extensions"]``
#: advertises the extension of the same name.
EXTENSION_TYPES: Final = frozenset(
    {
        "http.response.trailers",
        "http.response.pathsend",
        "http.response.zerocopysend",
        "http.response.early_hint",
        "http.response.push",
        "http.response.debug",
    }
)
CORE_TYPES: Final = frozenset({"http.response.start", "http.response.body"})

HTTP_TRANSITIONS: Final[Mapping[tuple[HTTPState, str], HTTPState]] = {
    (S.AWAITING_START, "http.response.start"): S.STREAMING,
    (S.AWAITING_START, "http.response.early_hint"): S.AWAITING_START,
    (S.AWAITING_START, "http.response.debug"): S.AWAITING_START,
    (S.STREAMING, "http.response.body"): S.STREAMING,  # see next_state
    (S.STREAMING, "http.response.zerocopysend"): S.STREAMING,  # see next_state
    (S.STREAMING, "http.response.push"): S.STREAMING,
    (S.STREAMING, "http.response.pathsend"): S.COMPLETE,
    (S.TRAILERS, "http.response.trailers"): S.TRAILERS,  # see next_state
}


def allowed_types(extensions: Mapping[str, object] | None) -> frozenset[str]:
    """Message types an HTTP app may send given the advertised extensions."""
    ext = extensions or {}
    return CORE_TYPES | {t for t in EXTENSION_TYPES if t in ext}


def illegal_move(state: HTTPState, message_type: str) -> Invariant:
    """The invariant broken by sending ``message_type`` in ``state``."""
    if state is S.COMPLETE:
        return MESSAGE_AFTER_RESPONSE_COMPLETE
    if message_type == "http.response.start":
        return DUPLICATE_RESPONSE_START
    if state is S.AWAITING_START and message_type in (
        "http.response.body",
        "http.response.pathsend",
        "http.response.zerocopysend",
        "http.response.trailers",
        "http.response.push",
    ):
        return BODY_BEFORE_RESPONSE_START
    if message_type not in CORE_TYPES and message_type not in EXTENSION_TYPES:
        return UNKNOWN_MESSAGE_TYPE
    return EXTENSION_MISUSE


def next_state(
    state: HTTPState,
    message_type: str,
    *,
    more: bool,
    trailers_declared: bool,
) -> HTTPState | None:
    """The state after a legal send, or None when the move is illegal.

    ``more`` is ``more_body`` (body, zerocopysend) or ``more_trailers``.
    """
    target = HTTP_TRANSITIONS.get((state, message_type))
    if target is None:
        return None
    if message_type in ("http.response.body", "http.response.zerocopysend"):
        if more:
            return S.STREAMING
        return S.TRAILERS if trailers_declared else S.COMPLETE
    if message_type == "http.response.trailers":
        return S.TRAILERS if more else S.COMPLETE
    return target

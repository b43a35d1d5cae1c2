"""Protocol checks for what a websocket app sends (pure; the connection feeds them).

``WebSocketChecker`` is fed every message the app passes to ``send()`` and
returns the violations each one commits; the order rules come from
``spec.websocket``, the field rules from www.rst and RFC 6455.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from asgifuzz.checks.http import Problem, _headers_problem, envelope_problem
from asgifuzz.checks.invariants import (
    WEBSOCKET_INVALID_CLOSE,
    WEBSOCKET_INVALID_MESSAGE,
    WEBSOCKET_SUBPROTOCOL_NOT_OFFERED,
    WEBSOCKET_UNKNOWN_MESSAGE_TYPE,
)
from asgifuzz.spec.websocket import WebSocketState, allowed_types, illegal_move, next_state

if TYPE_CHECKING:
    from asgifuzz._finding import Finding
    from asgifuzz.checks.invariants import Invariant
    from asgifuzz.server.driver import Outcome

__all__ = ("WebSocketChecker", "close_code_problem", "compare_websocket_outcomes", "is_websocket_disconnect_signal")

#: Close codes a close frame may carry (RFC 6455 7.4 and the IANA registry).
_WIRE_CODES = (range(1000, 1004), range(1007, 1015), range(3000, 5000))


def close_code_problem(code: object, *, accepted: bool) -> str | None:
    if not isinstance(code, int) or isinstance(code, bool):
        return f"close code must be an int, got {code!r}"
    if accepted and not any(code in r for r in _WIRE_CODES):
        return f"close code {code} cannot be sent in a close frame (valid: 1000-1003, 1007-1014, 3000-4999)"
    return None


def _reason_problem(reason: object) -> str | None:
    if reason is None:
        return None
    if not isinstance(reason, str):
        return f"close reason must be a str or None, got {type(reason).__name__}"
    try:
        size = len(reason.encode("utf-8"))
    except UnicodeEncodeError:
        return f"close reason {reason!r} is not valid UTF-8 (lone surrogate)"
    if size > 123:
        return f"close reason is {size} UTF-8 bytes; a close frame carries at most 123"
    return None


def _payload_problem(message: Mapping[str, Any]) -> str | None:
    data, text = message.get("bytes"), message.get("text")
    if (data is None) == (text is None):
        return "'websocket.send' needs exactly one of 'bytes' and 'text' (not None)" + (
            ", got both" if data is not None else ", got neither"
        )
    if data is not None and not isinstance(data, bytes | bytearray | memoryview):
        return f"'bytes' must be bytes, got {type(data).__name__}"
    if text is not None:
        if not isinstance(text, str):
            return f"'text' must be a str, got {type(text).__name__}"
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "'text' cannot be encoded as UTF-8 (lone surrogate)"
    return None


def is_websocket_disconnect_signal(exc: BaseException) -> bool:
    """Starlette's ``WebSocketDisconnect``: what ``receive_text()`` raises once the client closed.

    Like Starlette's ``ClientDisconnect`` for HTTP it only says "the client
    went away" (see ``checks.lifecycle.is_disconnect_signal``).
    """
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if type(e).__name__ == "WebSocketDisconnect":
            return True
        e = e.__cause__ or e.__context__
    return False


class WebSocketChecker:
    """Tracks the websocket state and checks each sent message."""

    def __init__(self, scope: Mapping[str, Any]) -> None:
        self.state = WebSocketState.HANDSHAKE
        self.allowed = allowed_types(scope.get("extensions"))
        offered = scope.get("subprotocols") or []
        self.offered = [p for p in offered if isinstance(p, str)]
        self.accepted = False

    @property
    def answered(self) -> bool:
        """The handshake was answered (accepted, rejected, or a denial finished)."""
        return self.state in (WebSocketState.CONNECTED, WebSocketState.CLOSED)

    @property
    def closed(self) -> bool:
        return self.state is WebSocketState.CLOSED

    def check(self, message: object) -> list[Problem]:
        """Check one message and advance the state; returns the violations."""
        envelope = envelope_problem(message)
        if envelope is not None:
            return [envelope]
        assert isinstance(message, Mapping)
        mtype: str = message["type"]
        if mtype not in self.allowed:
            return [
                (
                    WEBSOCKET_UNKNOWN_MESSAGE_TYPE,
                    f"sent {mtype!r} on a websocket scope; this server accepts only {', '.join(sorted(self.allowed))}",
                )
            ]
        more = message.get("more_body", False)
        new = next_state(self.state, mtype, more_body=bool(more))
        if new is None:
            where = self.state.value
            return [(illegal_move(self.state, mtype), f"sent {mtype!r} while the websocket was in state {where!r}")]
        problems: list[Problem] = []
        if mtype == "websocket.accept":
            problems += self._check_accept(message)
            self.accepted = True
        elif mtype == "websocket.send":
            problem = _payload_problem(message)
            if problem:
                problems.append((WEBSOCKET_INVALID_MESSAGE, problem))
        elif mtype == "websocket.close":
            problem = close_code_problem(message.get("code", 1000), accepted=self.accepted)
            problem = problem or _reason_problem(message.get("reason"))
            if problem:
                problems.append((WEBSOCKET_INVALID_CLOSE, problem))
        elif mtype == "websocket.http.response.start":
            status = message.get("status")
            if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
                problems.append((WEBSOCKET_INVALID_MESSAGE, f"denial status must be an int 100-599, got {status!r}"))
            problem = _headers_problem(message.get("headers", []))
            if problem:
                problems.append((WEBSOCKET_INVALID_MESSAGE, f"denial response: {problem}"))
        else:  # websocket.http.response.body
            body = message.get("body", b"")
            if not isinstance(body, bytes | bytearray | memoryview):
                problems.append((WEBSOCKET_INVALID_MESSAGE, f"denial body must be bytes, got {type(body).__name__}"))
            elif not isinstance(more, bool):
                problems.append((WEBSOCKET_INVALID_MESSAGE, f"denial more_body must be a bool, got {more!r}"))
        self.state = new
        return problems

    def _check_accept(self, message: Mapping[str, Any]) -> list[Problem]:
        problems: list[Problem] = []
        sub = message.get("subprotocol")
        if sub is not None and not isinstance(sub, str):
            problems.append((WEBSOCKET_INVALID_MESSAGE, f"accept 'subprotocol' must be a str or None, got {sub!r}"))
        elif sub is not None and sub not in self.offered:
            offered = ", ".join(repr(p) for p in self.offered) or "none"
            problems.append(
                (WEBSOCKET_SUBPROTOCOL_NOT_OFFERED, f"accepted subprotocol {sub!r}; the client offered {offered}")
            )
        headers = message.get("headers", [])
        problem = _headers_problem(headers)
        if problem:
            problems.append((WEBSOCKET_INVALID_MESSAGE, f"accept: {problem}"))
        else:
            for name, _ in headers:
                if bytes(name).lower() == b"sec-websocket-protocol":
                    problems.append(
                        (WEBSOCKET_INVALID_MESSAGE, "accept headers set 'sec-websocket-protocol'; use 'subprotocol'")
                    )
                    break
        return problems


def compare_websocket_outcomes(stack: Outcome, bare: Outcome) -> list[Finding]:
    """The websocket conversation behind the stack against the bare endpoint's (same script).

    Compared: what the client saw (handshake status, subprotocol, frames,
    close code and reason, denial body), what the endpoint received, and
    whether it saw the client leave.  Nothing is compared when either run
    broke an invariant, or when the endpoint was not called behind the stack
    (a middleware answered by itself: authentication, routing).
    """
    from asgifuzz._finding import Finding
    from asgifuzz.checks.invariants import DISCONNECT_HIDDEN, WEBSOCKET_CONVERSATION_ALTERED

    if stack.findings or bare.findings or not (bare.probe.called and stack.probe.called):
        return []
    found: list[tuple[Invariant, str, str]] = []
    b_view, s_view = bare.response, stack.response
    names = (
        "handshake status",
        "subprotocol",
        "frames the client received",
        "close code",
        "close reason",
        "denial body",
    )
    b_sum = b_view.summary() if hasattr(b_view, "summary") else ()
    s_sum = s_view.summary() if hasattr(s_view, "summary") else ()
    for name, b_item, s_item in zip(names, b_sum, s_sum, strict=False):
        if b_item != s_item:
            found.append(
                (
                    WEBSOCKET_CONVERSATION_ALTERED,
                    f"{name}: bare endpoint gave {b_item!r}, behind the stack {s_item!r}",
                    "conversation",
                )
            )
            break
    if not found and bytes(bare.probe.body) != bytes(stack.probe.body):
        found.append(
            (
                WEBSOCKET_CONVERSATION_ALTERED,
                (
                    f"the endpoint received {bytes(bare.probe.body)!r} without middleware, "
                    f"{bytes(stack.probe.body)!r} behind the stack"
                ),
                "conversation",
            )
        )
    if bare.probe.saw_disconnect and not stack.probe.saw_disconnect:
        found.append(
            (
                DISCONNECT_HIDDEN,
                "the bare endpoint saw the websocket client leave; behind the stack it never did",
                "disconnect",
            )
        )
    return [
        Finding(invariant, message, where=where, trace=stack.trace, case=stack.case, reference_trace=bare.trace)
        for invariant, message, where in found
    ]

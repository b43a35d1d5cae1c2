"""When does a real server's behaviour reproduce a finding?  One rule per invariant.

Each rule looks at one try (what the client saw, what the server logged) and
answers reproduced / not reproduced / undecided, with the reason in words.
A new invariant that a real server can show is one line in ``RULES``; an
invariant that is not in the table is "undecided" (its evidence is still
shown), because most transparency and lifecycle invariants are about what
happens inside the app, where a real server cannot look.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from asgifuzz.confirm._client import ClientView
from asgifuzz.confirm._logs import app_exception, has_traceback, incomplete_markers, protocol_markers
from asgifuzz.confirm._ws_client import WsClientView

__all__ = ("RULES", "WS_RULES", "Evidence", "Outcome", "Rule", "judge")

Outcome = Literal["reproduced", "not-reproduced", "undecided"]


@dataclass(frozen=True, slots=True)
class Evidence:
    """One try on one server."""

    client: ClientView | WsClientView
    #: The server's log lines while the request ran (and until it went quiet).
    log: tuple[str, ...]
    #: The server's exit status if it died during the try.
    server_exit: int | None = None

    @property
    def exception(self) -> str | None:
        return app_exception(list(self.log))


Rule = Callable[[Evidence], tuple[Outcome, str]]


def _app_traceback(ev: Evidence) -> tuple[Outcome, str]:
    if has_traceback(list(ev.log)):
        return "reproduced", f"the server logged the app's exception: {ev.exception or 'a traceback'}"
    if ev.server_exit is not None:
        return "undecided", f"the server exited (status {ev.server_exit}) without logging a traceback"
    return "not-reproduced", "the server logged no exception for this request"


def _http(ev: Evidence) -> ClientView:
    assert isinstance(ev.client, ClientView)
    return ev.client


def _server_own_500(client: ClientView) -> bool:
    """granian answers an app that returned without a response with its own 500, logging nothing.

    Its signature (granian 2.x): ``server: granian``, no content type, the body ``Internal server error``.
    """
    headers = {name.lower(): value for name, value in client.headers}
    return (
        client.status == 500
        and client.body == b"Internal server error"
        and headers.get("server") == "granian"
        and "content-type" not in headers
    )


def _client_incomplete(ev: Evidence) -> tuple[Outcome, str]:
    markers = incomplete_markers(list(ev.log))
    if markers:
        return "reproduced", f"the server logged: {markers[0]}"
    if isinstance(ev.client, ClientView) and ev.client.complete and _server_own_500(ev.client):
        return "reproduced", "the app sent no response: the client got granian's own 500 in its place"
    if ev.client.disconnected and not ev.client.complete:
        # The client left as the script says; a missing response proves nothing.
        return "undecided", "the client left before the response, so it cannot tell whether it would have completed"
    if not ev.client.complete:
        return "reproduced", f"the client did not get a complete response ({ev.client.summary()})"
    return "not-reproduced", "the client got a complete response"


def _protocol_error(ev: Evidence) -> tuple[Outcome, str]:
    markers = protocol_markers(list(ev.log))
    if markers:
        return "reproduced", f"the server rejected a message: {markers[0]}"
    client = _http(ev)
    if not client.disconnected and client.error is not None and client.error.startswith("invalid response"):
        return "reproduced", f"the client got an invalid response: {client.error}"
    if not client.disconnected and client.got_response and not client.complete and not client.timed_out:
        return "reproduced", f"the client got a truncated response ({client.summary()})"
    return "not-reproduced", "the server reported no protocol error and the client saw nothing wrong"


def _hang(ev: Evidence) -> tuple[Outcome, str]:
    client = _http(ev)
    if client.disconnected:
        return "undecided", "the client left; a hang would show only inside the app"
    if client.timed_out and not client.complete:
        what = "no response" if not client.got_response else "the response stalled"
        return "reproduced", f"{what} before the deadline ({client.elapsed:.1f}s)"
    return "not-reproduced", "the response completed before the deadline"


def _exited(ev: Evidence) -> tuple[Outcome, str]:
    if ev.server_exit is not None:
        return "reproduced", f"the server process exited with status {ev.server_exit}"
    return "not-reproduced", "the server process kept running"


def _complete_despite_failure(ev: Evidence) -> tuple[Outcome, str]:
    """truncated-response-completed: the app failed mid-response, yet the client got a complete one."""
    client = ev.client
    if not client.complete:
        return "not-reproduced", f"the client saw the response break off ({client.summary()})"
    if has_traceback(list(ev.log)):
        failure = ev.exception or "the app failing"
        return (
            "reproduced",
            f"the client got a complete response ({client.summary()}) although the server logged {failure}",
        )
    return "undecided", "the client got a complete response and the server logged no exception"


#: invariant code -> rule.  Codes not listed are "undecided".
RULES: dict[str, Rule] = {
    "exception-on-disconnect": _app_traceback,
    "app-raised": _app_traceback,
    "response-incomplete": _client_incomplete,
    "response-lost-behind-stack": _client_incomplete,
    "truncated-response-completed": _complete_despite_failure,
    "duplicate-response-start": _protocol_error,
    "message-after-response-complete": _protocol_error,
    "body-before-response-start": _protocol_error,
    "invalid-message": _protocol_error,
    "unknown-message-type": _protocol_error,
    "extension-misuse": _protocol_error,
    "invalid-status": _protocol_error,
    "invalid-body": _protocol_error,
    "invalid-headers": _protocol_error,
    "content-length-mismatch": _protocol_error,
    "body-forbidden": _protocol_error,
    "app-hang": _hang,
    "event-loop-blocked": _hang,
    "process-exited": _exited,
}


def _ws(ev: Evidence) -> WsClientView:
    assert isinstance(ev.client, WsClientView)
    return ev.client


def _ws_protocol_error(ev: Evidence) -> tuple[Outcome, str]:
    """A websocket message the server refuses: its log says so, or the client saw the conversation fail."""
    markers = protocol_markers(list(ev.log))
    if markers or has_traceback(list(ev.log)):
        return "reproduced", f"the server rejected a message: {(markers or [ev.exception or 'a traceback'])[0]}"
    client = _ws(ev)
    if client.handshake == "rejected" and client.status is not None and client.status >= 500:
        return "reproduced", f"the server failed the handshake ({client.summary()})"
    if client.error is not None and client.error.startswith("the client refused"):
        return "reproduced", f"the client failed the connection: {client.error}"
    if client.server_closed and client.close_code in (1002, 1011):
        return "reproduced", f"the server closed with {client.close_code} ({client.summary()})"
    return "not-reproduced", f"the server reported no protocol error and the client saw: {client.summary()}"


def _ws_handshake_incomplete(ev: Evidence) -> tuple[Outcome, str]:
    client = _ws(ev)
    if client.handshake == "rejected":
        return "reproduced", f"the server answered the handshake itself: HTTP {client.status}"
    if client.handshake is None and client.timed_out:
        return "reproduced", "the handshake was never answered before the deadline"
    return "not-reproduced", f"the handshake was answered by the app: {client.summary()}"


def _ws_hang(ev: Evidence) -> tuple[Outcome, str]:
    client = _ws(ev)
    if client.disconnected:
        return "undecided", "the client left; a hang would show only inside the app"
    if client.timed_out and not client.complete:
        return "reproduced", f"the conversation did not end before the deadline ({client.summary()})"
    return "not-reproduced", f"the conversation ended: {client.summary()}"


#: Websocket cases: invariant code -> rule (app-raised and its kin read the log as for HTTP).
WS_RULES: dict[str, Rule] = {
    "exception-on-disconnect": _app_traceback,
    "app-raised": _app_traceback,
    "app-hang": _ws_hang,
    "event-loop-blocked": _ws_hang,
    "process-exited": _exited,
    "websocket-handshake-incomplete": _ws_handshake_incomplete,
    **dict.fromkeys(
        (
            "websocket-unknown-message-type",
            "websocket-send-before-accept",
            "websocket-duplicate-accept",
            "websocket-message-after-close",
            "websocket-denial-order",
            "websocket-invalid-message",
            "websocket-invalid-close",
            "websocket-subprotocol-not-offered",
        ),
        _ws_protocol_error,
    ),
}


def judge(expect: str | None, ev: Evidence) -> tuple[Outcome, str]:
    """Apply the rule of ``expect`` (the case's invariant code) to one try."""
    if expect is None:
        return "undecided", "the case expects no finding (a passing case): nothing to confirm"
    rule = (WS_RULES if isinstance(ev.client, WsClientView) else RULES).get(expect)
    if rule is None:
        return "undecided", f"no real-server rule for {expect!r}: judge from the evidence below"
    return rule(ev)

"""The invariants: every rule asgifuzz checks, as data, in one registry.

An *invariant* is a rule (this file); a *check* detects it (``checks/http.py``
for what the app sends, ``checks/lifecycle.py`` for how the app call ends,
``checks/transparency.py`` for the stack against the bare app, and the
supervisor for blocked loops and dead processes); a *finding* is one
observation of a broken invariant (``asgifuzz.Finding``).

To add an invariant: one ``_define`` below (its ``code`` is stable forever:
corpus files, ``--checks`` and every report use it), then the check that
detects it in the module of its concern.

Severity is honest (see the README): ``error`` when a real server rejects
the message, a client gets a wrong, incomplete or no response, work or data
is lost, or the process crashes, hangs or leaks; ``warning`` for the letter
of the spec that the major servers tolerate, or a debatable design choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = ("INVARIANTS", "Group", "Invariant", "Protocol", "Severity")

Group = Literal["protocol", "lifecycle", "transparency"]
Severity = Literal["error", "warning"]
Protocol = Literal["http", "websocket", "lifespan", "any"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Invariant:
    #: Stable kebab-case identifier (corpus files, ``--checks``, reports).
    code: str
    group: Group
    severity: Severity
    #: One line: what went wrong.
    title: str
    #: A plain paragraph: the rule, and why a real server or client suffers.
    explanation: str
    #: Where the rule comes from (spec section, server behaviour, issue).
    source: str
    protocol: Protocol = "http"

    def __repr__(self) -> str:
        return f"<invariant {self.code}>"


#: Every invariant by code, in the order ``asgifuzz checks`` lists them.
INVARIANTS: Final[dict[str, Invariant]] = {}


def _define(**fields: object) -> Invariant:
    invariant = Invariant(**fields)  # type: ignore[arg-type]
    if invariant.code in INVARIANTS:
        raise RuntimeError(f"invariant {invariant.code!r} is defined twice")
    INVARIANTS[invariant.code] = invariant
    return invariant


# ------------------------------------------------------------ protocol

INVALID_MESSAGE = _define(
    code="invalid-message",
    group="protocol",
    severity="error",
    title="send() was given something that is not an ASGI message",
    explanation="Every object passed to send() must be a dict with str keys and a str "
    "'type'. Servers index message['type'] directly, so anything else "
    "crashes the server's send path and the client gets a dropped connection.",
    source="ASGI spec, asgi.rst 'Events' (GEN-MSG-IS-DICT, GEN-MSG-TYPE-STR)",
)

UNKNOWN_MESSAGE_TYPE = _define(
    code="unknown-message-type",
    group="protocol",
    severity="error",
    title="the app sent a message type the server does not accept",
    explanation="An HTTP app may send only 'http.response.start' and "
    "'http.response.body', plus the extension messages the server "
    "advertised in scope['extensions']. uvicorn raises RuntimeError, "
    "hypercorn UnexpectedMessageError, daphne ValueError.",
    source="asgi.rst 'Error Handling' and 'Extensions' (GEN-MSG-TYPE-ALLOWED)",
)

BODY_BEFORE_RESPONSE_START = _define(
    code="body-before-response-start",
    group="protocol",
    severity="error",
    title="a response message was sent before 'http.response.start'",
    explanation="The first response message must be 'http.response.start' (only "
    "advertised early hints and debug messages may precede it). Every "
    "server rejects a body, trailers or pathsend that comes first.",
    source="www.rst 'Response Start' (HTTP-START-FIRST)",
)

DUPLICATE_RESPONSE_START = _define(
    code="duplicate-response-start",
    group="protocol",
    severity="error",
    title="'http.response.start' was sent twice",
    explanation="A response has exactly one start. A second one typically comes from "
    "error-handling middleware that tries to send a 500 after the inner "
    "app already started the response; servers raise and the client sees "
    "a truncated response.",
    source="www.rst 'Response Start' (HTTP-START-ONCE)",
)

MESSAGE_AFTER_RESPONSE_COMPLETE = _define(
    code="message-after-response-complete",
    group="protocol",
    severity="error",
    title="a message was sent after the response was complete",
    explanation="Once the final body (more_body=False), pathsend or final trailers "
    "went out, the response is over. uvicorn raises RuntimeError and "
    "hypercorn UnexpectedMessageError for anything sent later.",
    source="www.rst 'Response Body' (HTTP-NO-SEND-AFTER-COMPLETE)",
)

EXTENSION_MISUSE = _define(
    code="extension-misuse",
    group="protocol",
    severity="error",
    title="an extension message was sent out of order",
    explanation="Extension messages have their own order: early hints and debug "
    "before the start, trailers only after the final body of a response "
    "that declared trailers=True, pathsend exactly once after the start "
    "and instead of any body. Servers reject other orders.",
    source="docs/extensions.rst (HTTP-TRAILERS-SEQUENCE, HTTP-PATHSEND, HTTP-EARLY-HINT, HTTP-DEBUG)",
)

INVALID_STATUS = _define(
    code="invalid-status",
    group="protocol",
    severity="error",
    title="'http.response.start' has an invalid status",
    explanation="status must be an int (not bool or str) between 200 and 599: 1xx "
    "interim responses go through the early-hint extension. uvicorn raises "
    "KeyError for unknown codes and h11 refuses 1xx as a final status.",
    source="www.rst 'Response Start', RFC 9110 section 15 (HTTP-START-STATUS-*)",
)

INVALID_BODY = _define(
    code="invalid-body",
    group="protocol",
    severity="error",
    title="'http.response.body' has a body that is not bytes or a bad more_body",
    explanation="body must be bytes and more_body a bool. A str or None body raises TypeError inside every server's write path.",
    source="www.rst 'Response Body' (HTTP-BODY-SHAPE)",
)

INVALID_HEADERS = _define(
    code="invalid-headers",
    group="protocol",
    severity="error",
    title="response headers are malformed",
    explanation="Headers are an iterable of [name, value] pairs of bytes; names are "
    "lower-case RFC 9110 tokens without a ':' prefix, and values carry no "
    "CR, LF, NUL or other control bytes (CR/LF allow response splitting). "
    "Servers raise TypeError, ValueError or h11 LocalProtocolError.",
    source="www.rst 'Response Start', RFC 9110 section 5 (HDR-*)",
)

HEADER_NAME_CASE = _define(
    code="header-name-case",
    group="protocol",
    severity="warning",
    title="a response header name is not lower-case",
    explanation=(
        "The ASGI spec asks for lower-case header names. uvicorn (h11 and "
        "httptools), hypercorn and daphne accept upper-case names and send "
        "them on (HTTP field names are case-insensitive), so clients are not "
        "affected; strict tools and HTTP/2 stacks that forbid upper-case "
        "names are. A warning: the letter of the spec that servers tolerate."
    ),
    source="www.rst 'Response Start' (HDR-NAME-LOWERCASE); uvicorn, hypercorn, daphne accept it",
)

CONTENT_LENGTH_MISMATCH = _define(
    code="content-length-mismatch",
    group="protocol",
    severity="error",
    title="the body does not match the declared Content-Length",
    explanation="When a response declares Content-Length N, the body must be exactly N "
    "bytes (HEAD and 304 responses excepted), and the header must be one "
    "valid number. h11 raises LocalProtocolError, httptools RuntimeError; "
    "daphne sends a corrupt stream. Compression middleware that forgets to "
    "rewrite Content-Length is the classic cause.",
    source="RFC 9112 section 6.3 (HTTP-CONTENT-LENGTH-VALID, HTTP-BODY-MATCHES-CONTENT-LENGTH)",
)

BODY_FORBIDDEN = _define(
    code="body-forbidden",
    group="protocol",
    severity="error",
    title="a 204 or 304 response carries a body",
    explanation="204 and 304 responses have no body. uvicorn/h11 raises; other servers drop the bytes silently.",
    source="RFC 9110 sections 15.3.5 and 15.4.5 (HTTP-NO-BODY-FOR-204-304)",
)

# ------------------------------------------------------------ lifecycle

RESPONSE_INCOMPLETE = _define(
    code="response-incomplete",
    group="lifecycle",
    severity="error",
    title="the app returned without completing the response",
    explanation="When the app returns normally it must have sent the start and the "
    "final body, unless the client had disconnected. uvicorn logs 'ASGI "
    "callable returned without completing response' and sends a 500 or "
    "drops the connection; daphne leaves the client waiting.",
    source="www.rst 'Response Start' (HTTP-RESPONSE-COMPLETE-ON-RETURN)",
)

REQUEST_DEADLOCK = _define(
    code="request-deadlock",
    group="lifecycle",
    severity="error",
    title="the app waits for more request after the request ended, while the client waits for the response",
    explanation=(
        "The app had the whole request body (more_body=False) and called "
        "receive() again before answering. uvicorn and daphne block that call "
        "until the response completes or the client leaves, and the client is "
        "waiting for the response: neither side can move, so the request never "
        "gets an answer until the client gives up. (hypercorn's per-chunk "
        "events end with an extra empty event, which can hide the bug there.)"
    ),
    source="www.rst 'Request' and asgiref PR #533 (receive after the final body blocks); uvicorn #119",
)

SERVER_ERROR = _define(
    code="server-error",
    group="lifecycle",
    severity="warning",
    title="a route of the app answered 5xx to a well-formed request",
    explanation=(
        "The client sent a complete, well-formed HTTP request and the app's "
        "own route answered with a server error, handling the failure itself "
        "(an exception that reached the server is app-raised instead). The "
        "client got an error for a request it sent correctly (Schemathesis' "
        "not_a_server_error); answering 500 from an error handler is a design "
        "choice, so this is a warning, shown with the exception that was logged."
    ),
    source="RFC 9110 section 15.6 (5xx: the server failed a valid request); Schemathesis not_a_server_error",
)

EXCEPTION_ON_DISCONNECT = _define(
    code="exception-on-disconnect",
    group="lifecycle",
    severity="error",
    title="an exception escaped the app because the client disconnected",
    explanation="A client that goes away (refresh, abort, timeout) is routine. The app "
    "should stop quietly; instead an exception reached the server, which "
    "logs 'Exception in ASGI application' for a request nobody is waiting "
    "for. Starlette's BaseHTTPMiddleware 'RuntimeError: No response "
    "returned.' (0.28.0 to 0.38.2) is this bug.",
    source="asgi.rst 'Error Handling'; encode/starlette#2516 (GEN-APP-RAISED)",
)

APP_RAISED = _define(
    code="app-raised",
    group="lifecycle",
    severity="error",
    title="an exception escaped the app",
    explanation="An exception reached the server while the client was still there. "
    "The server answers 500 (or drops a started response) and logs the "
    "error. Exceptions planted on purpose by asgifuzz's own adversarial "
    "endpoints are not reported here (the transparency checks compare them).",
    source="asgi.rst 'Error Handling' (GEN-APP-RAISED)",
)

APP_HANG = _define(
    code="app-hang",
    group="lifecycle",
    severity="error",
    title="the app did not finish",
    explanation="After the response completed or the client disconnected, the app kept "
    "running past the deadline (in virtual time), or blocked with nothing "
    "left that could wake it, or spun without ever blocking. A real server "
    "keeps the task, its memory and its connection slot forever.",
    source="asgi.rst connection lifetime (GEN-TERMINATES)",
)

EVENT_LOOP_BLOCKED = _define(
    code="event-loop-blocked",
    group="lifecycle",
    severity="error",
    title="the app blocked the event loop",
    explanation="The app ran Python code (or a blocking call such as time.sleep) for "
    "seconds without ever awaiting, so the event loop could not run: under "
    "a real server every other request on that worker stalls, timeouts do "
    "not fire and disconnects go unnoticed. asgifuzz saw no progress in "
    "its worker process and reports the frame the loop was stuck in.",
    source="asyncio 'Developing with asyncio': blocking code; asgifuzz worker watchdog",
)

PROCESS_EXITED = _define(
    code="process-exited",
    group="lifecycle",
    severity="error",
    title="the app ended the server process",
    explanation="Handling a request terminated the whole process (os._exit, a fatal "
    "signal, or a crash in a C extension). Under a real server this kills "
    "every connection of the worker, not just this request.",
    source="asgi.rst 'Error Handling' (an app must not take the server down); asgifuzz worker supervisor",
)

RECEIVE_AFTER_DISCONNECT = _define(
    code="receive-after-disconnect",
    group="lifecycle",
    severity="error",
    title="receive() was called again after 'http.disconnect'",
    explanation="hypercorn and daphne deliver one 'http.disconnect' and then block "
    "receive() forever, so an app that asks again hangs there (uvicorn "
    "repeats the disconnect, which hides the bug).",
    source="asgi-invariants HTTP-NO-RECEIVE-AFTER-DISCONNECT (hypercorn, daphne behaviour)",
)

TASK_LEAK = _define(
    code="task-leak",
    group="lifecycle",
    severity="error",
    title="a task the app started was still running after it returned",
    explanation="Work started with create_task or a system nursery outlives the "
    "request: nothing awaits it, its errors are lost and it can touch the "
    "connection after the server reused or closed it.",
    source="asgi.rst 'Applications' (GEN-NO-CALLS-AFTER-RETURN)",
)

CALL_AFTER_RETURN = _define(
    code="call-after-return",
    group="lifecycle",
    severity="error",
    title="receive() or send() was called after the app returned",
    explanation="The connection's callables are only valid during the app call. "
    "uvicorn raises RuntimeError for late sends; hypercorn's stream is "
    "already closed.",
    source="asgi.rst 'Applications' (GEN-NO-CALLS-AFTER-RETURN)",
)

RETURNED_NON_NONE = _define(
    code="returned-non-none",
    group="lifecycle",
    severity="warning",
    title="the app returned a value other than None",
    explanation="uvicorn logs an error and closes the connection when the app's coroutine returns anything but None.",
    source="uvicorn run_asgi (GEN-APP-RETURNS-NONE)",
)

# ------------------------------------------------------------ transparency

REQUEST_BODY_ALTERED = _define(
    code="request-body-altered",
    group="transparency",
    severity="error",
    title="the endpoint saw a different request body behind the middleware stack",
    explanation="The same client sent the same bytes, but the endpoint behind the "
    "stack received different bytes, or a different end of body, than the "
    "same endpoint with no middleware. A middleware lost, duplicated or "
    "reordered request data.",
    source="www.rst 'Request' (MW-REQUEST-BODY-INTEGRITY)",
)

DISCONNECT_HIDDEN = _define(
    code="disconnect-hidden",
    group="transparency",
    severity="error",
    title="the endpoint never learned that the client disconnected",
    explanation="Without middleware the endpoint saw the client leave; behind the "
    "stack it did not, so it keeps working (streaming, polling, computing) "
    "for nobody.",
    source="www.rst 'Disconnect' (MW-DISCONNECT-VISIBLE)",
)

BACKGROUND_TASK_LOST = _define(
    code="background-task-lost",
    group="transparency",
    severity="error",
    title="a background task did not run to completion behind the stack",
    explanation="Without middleware the response's background task ran to completion; "
    "behind the stack it was never started or was cancelled.",
    source="Starlette BackgroundTask contract (run after the response is sent)",
)

BACKGROUND_TASK_BEFORE_RESPONSE = _define(
    code="background-task-before-response",
    group="transparency",
    severity="error",
    title="a background task ran before the client had the response",
    explanation="Without middleware the client received the complete response before "
    "the background task started; behind the stack the task started first, "
    "so the client waits for background work (Starlette issue #919 class).",
    source="Starlette BackgroundTask contract (run after the response is sent)",
)

EXCEPTION_SWALLOWED = _define(
    code="exception-swallowed",
    group="transparency",
    severity="warning",
    title="an endpoint's exception did not reach the server behind the stack",
    explanation="Without middleware the endpoint's exception propagated to the server "
    "(which logs it); behind the stack it vanished, so failures go unseen.",
    source="asgi.rst 'Error Handling'",
)

STREAM_BUFFERED = _define(
    code="stream-buffered",
    group="transparency",
    severity="error",
    title="streamed events were held back behind the stack",
    explanation="For a text/event-stream response, each event reached the client "
    "before the next was produced without middleware; behind the stack an "
    "event was still held back when the next one was produced (compared "
    "after decoding Content-Encoding).",
    source="www.rst 'Response Body' (streaming), MW-RESPONSE-INTEGRITY",
)

RESPONSE_LOST_BEHIND_STACK = _define(
    code="response-lost-behind-stack",
    group="transparency",
    severity="error",
    title="the response completed without middleware but not behind the stack",
    explanation="The same interaction gave the client a complete response from the "
    "bare endpoint, and an incomplete or missing one through the stack.",
    source="www.rst 'Response Body'",
)

# ------------------------------------------------------------ websocket
# What a websocket app sends (checks/websocket.py, spec/websocket.py), how
# its call ends, and a stack against the bare websocket endpoint.

WEBSOCKET_UNKNOWN_MESSAGE_TYPE = _define(
    code="websocket-unknown-message-type",
    group="protocol",
    severity="error",
    title="the app sent a message type a websocket server does not accept",
    explanation="A websocket app may send only 'websocket.accept', 'websocket.send' and "
    "'websocket.close', plus 'websocket.http.response.start/body' when the server "
    "advertised the 'websocket.http.response' extension. An HTTP message "
    "('http.response.start') on a websocket scope is the typical cause: a middleware "
    "written for HTTP. uvicorn raises RuntimeError, hypercorn UnexpectedMessageError.",
    source="asgi.rst 'Error Handling'; extensions.rst 'Websocket Denial Response' (GEN-MSG-TYPE-ALLOWED)",
    protocol="websocket",
)

WEBSOCKET_SEND_BEFORE_ACCEPT = _define(
    code="websocket-send-before-accept",
    group="protocol",
    severity="error",
    title="a websocket message was sent before the handshake was answered",
    explanation="The first message must be 'websocket.accept', 'websocket.close' (reject, "
    "HTTP 403) or an advertised denial response. uvicorn raises RuntimeError "
    "('Expected ASGI message websocket.accept...'), hypercorn UnexpectedMessageError, "
    "daphne ValueError.",
    source="www.rst 'Connect - receive event' (WS-HANDSHAKE-FIRST)",
    protocol="websocket",
)

WEBSOCKET_DUPLICATE_ACCEPT = _define(
    code="websocket-duplicate-accept",
    group="protocol",
    severity="error",
    title="'websocket.accept' was sent twice",
    explanation="A connection is accepted once. uvicorn raises RuntimeError (expected "
    "send or close), hypercorn UnexpectedMessageError; in daphne a second accept crashes.",
    source="www.rst 'Accept - send event' (WS-ACCEPT-ONCE)",
    protocol="websocket",
)

WEBSOCKET_MESSAGE_AFTER_CLOSE = _define(
    code="websocket-message-after-close",
    group="protocol",
    severity="error",
    title="a message was sent after the app closed the websocket",
    explanation="After 'websocket.close' (or a finished denial response) the app sends "
    "nothing more. uvicorn raises RuntimeError ('Unexpected ASGI message ... after "
    "sending websocket.close'), hypercorn UnexpectedMessageError for a send (it "
    "tolerates a second close). A send after the *client* closed is not this: the "
    "server drops it or raises its disconnect OSError.",
    source="www.rst 'Close - send event' (WS-NO-SEND-AFTER-CLOSE)",
    protocol="websocket",
)

WEBSOCKET_DENIAL_ORDER = _define(
    code="websocket-denial-order",
    group="protocol",
    severity="error",
    title="the websocket denial response was sent out of order",
    explanation="A denial response is one 'websocket.http.response.start' before any "
    "accept or close, then bodies until more_body=False, and nothing else. uvicorn "
    "raises RuntimeError for any other order.",
    source="extensions.rst 'Websocket Denial Response' (WS-DENIAL-SEQUENCE)",
    protocol="websocket",
)

WEBSOCKET_INVALID_MESSAGE = _define(
    code="websocket-invalid-message",
    group="protocol",
    severity="error",
    title="a websocket message has fields of the wrong type or shape",
    explanation="'websocket.send' carries exactly one of bytes (bytes) and text (a str "
    "that encodes as UTF-8); 'websocket.accept' has a str or None subprotocol and "
    "headers of [bytes, bytes] pairs without 'sec-websocket-protocol'; a denial "
    "start has an int status 100-599 and valid headers, its bodies bytes. hypercorn "
    "raises TypeError, daphne ValueError, wsproto and websockets UnicodeEncodeError.",
    source="www.rst 'Send/Accept - send event', extensions.rst (WS-SEND-PAYLOAD, WS-SEND-TEXT-UTF8, "
    "WS-ACCEPT-SHAPE, WS-DENIAL-SHAPE)",
    protocol="websocket",
)

WEBSOCKET_INVALID_CLOSE = _define(
    code="websocket-invalid-close",
    group="protocol",
    severity="error",
    title="'websocket.close' has a code or reason that cannot be sent",
    explanation="code is an int and, after accept, one a close frame may carry: "
    "1000-1003, 1007-1014 or 3000-4999 (1005, 1006 and 1015 are reserved for "
    "reporting, never sent); reason is a str of at most 123 UTF-8 bytes. websockets "
    "(uvicorn's default) raises ProtocolError; wsproto (hypercorn) silently rewrites "
    "1005/1006/1015 to 1000. Echoing a received 1005/1006 back is the classic cause.",
    source="www.rst 'Close - send event'; RFC 6455 sections 5.5 and 7.4 (WS-CLOSE-SHAPE, "
    "WS-CLOSE-CODE-VALID, WS-CLOSE-REASON-LENGTH)",
    protocol="websocket",
)

WEBSOCKET_SUBPROTOCOL_NOT_OFFERED = _define(
    code="websocket-subprotocol-not-offered",
    group="protocol",
    severity="error",
    title="the app accepted a subprotocol the client did not offer",
    explanation="The accepted subprotocol must be one of scope['subprotocols']. hypercorn "
    "and uvicorn's wsproto implementation raise; uvicorn's websockets implementations "
    "send it anyway and the client fails the handshake.",
    source="RFC 6455 section 4.2.2 (WS-ACCEPT-SUBPROTOCOL-OFFERED)",
    protocol="websocket",
)

WEBSOCKET_HANDSHAKE_INCOMPLETE = _define(
    code="websocket-handshake-incomplete",
    group="lifecycle",
    severity="error",
    title="the app returned without answering the websocket handshake",
    explanation="The app returned before accepting, closing or finishing a denial "
    "response while the client waited. uvicorn logs 'ASGI callable returned without "
    "completing handshake' and answers HTTP 500, hypercorn answers 500, daphne "
    "leaves the client hanging until its connect timeout. A middleware that drops "
    "non-HTTP scopes ('if scope[\"type\"] != \"http\": return') does exactly this.",
    source="www.rst 'Connect - receive event' (WS-HANDSHAKE-BEFORE-RETURN)",
    protocol="websocket",
)

WEBSOCKET_NOT_CLOSED = _define(
    code="websocket-not-closed",
    group="lifecycle",
    severity="warning",
    title="the app returned with the websocket still open",
    explanation="After accepting, the app returned without sending 'websocket.close' and "
    "without the client having closed. uvicorn drops the TCP connection without a "
    "close frame (the client sees 1006, abnormal closure), hypercorn closes with 1011 "
    "(internal error), daphne leaves the socket open. A warning: the spec says should.",
    source="www.rst 'WebSocket' (WS-CLOSE-BEFORE-RETURN)",
    protocol="websocket",
)

WEBSOCKET_RECEIVE_AFTER_DISCONNECT = _define(
    code="websocket-receive-after-disconnect",
    group="lifecycle",
    severity="error",
    title="receive() was called again after 'websocket.disconnect'",
    explanation="hypercorn, daphne and uvicorn (sansio and wsproto implementations, after "
    "an abnormal closure) deliver one 'websocket.disconnect' and then block "
    "receive() forever, so an app that asks again hangs there holding its task "
    "and connection slot.",
    source="asgi-invariants WS-NO-RECEIVE-AFTER-DISCONNECT (uvicorn, hypercorn, daphne queues)",
    protocol="websocket",
)

WEBSOCKET_CONVERSATION_ALTERED = _define(
    code="websocket-conversation-altered",
    group="transparency",
    severity="error",
    title="the websocket conversation differs behind the middleware stack",
    explanation="The same client had a different conversation with the same endpoint "
    "behind the stack than with the bare endpoint: the handshake ended differently "
    "(accepted, rejected, subprotocol), frames were lost, altered, duplicated or "
    "reordered in either direction, or the close code changed.",
    source="www.rst 'WebSocket' (MW transparency for websocket scopes)",
    protocol="websocket",
)

# ------------------------------------------------------------ lifespan
# Sources: ASGI lifespan.rst; uvicorn 0.x ``lifespan/on.py`` (``send`` asserts
# the order, ``main`` classifies exceptions, startup.failed exits with code 3);
# hypercorn ``lifespan.py`` (60 s timeouts, ``LifespanFailureError``);
# asgi-invariants LS-* and 7.5.

LIFESPAN_UNKNOWN_MESSAGE_TYPE = _define(
    code="lifespan-unknown-message-type",
    group="protocol",
    severity="error",
    title="the app sent a message a lifespan server does not accept",
    explanation="A lifespan app may send only 'lifespan.startup.complete|failed' and "
    "'lifespan.shutdown.complete|failed'. uvicorn asserts on any other type (the assertion "
    "raises into the app; after startup the server records an error and skips the shutdown, "
    "so the app's cleanup never runs); hypercorn raises for unknown types. A non-lifespan "
    "message before the startup reply is how HTTP-only apps say they do not support lifespan "
    "and is not reported.",
    source="lifespan.rst; uvicorn LifespanOn.send (assert message['type'] in ...)",
    protocol="lifespan",
)

LIFESPAN_REPLY_ORDER = _define(
    code="lifespan-reply-order",
    group="protocol",
    severity="error",
    title="a lifespan reply came twice, or the shutdown was answered before the startup",
    explanation="After 'lifespan.startup' the app sends exactly one of startup.complete and "
    "startup.failed, and after 'lifespan.shutdown' exactly one of shutdown.complete and "
    "shutdown.failed, never before its startup reply. uvicorn's send asserts each transition "
    "(an AssertionError raises into the app; after startup the shutdown is skipped).",
    source="lifespan.rst; uvicorn LifespanOn.send (STATE_TRANSITION_ERROR); asgi-invariants LS-STARTUP-REPLY, "
    "LS-SHUTDOWN-REPLY",
    protocol="lifespan",
)

LIFESPAN_REPLY_BEFORE_EVENT = _define(
    code="lifespan-reply-before-event",
    group="protocol",
    severity="warning",
    title="the app answered a lifespan event it had not received",
    explanation="The app sent a startup reply before receiving 'lifespan.startup', or a "
    "shutdown reply before receiving 'lifespan.shutdown'. uvicorn and hypercorn accept it "
    "(so a warning), but a shutdown answered early means the server stops without waiting "
    "for the app's cleanup.",
    source="lifespan.rst (spec-derived; uvicorn does not check, asgi-invariants LS-SHUTDOWN-REPLY traps)",
    protocol="lifespan",
)

LIFESPAN_INVALID_MESSAGE = _define(
    code="lifespan-invalid-message",
    group="protocol",
    severity="warning",
    title="a lifespan '*.failed' message has a 'message' that is not a str",
    explanation="The 'message' of 'lifespan.startup.failed' and 'lifespan.shutdown.failed' "
    "is optional and a str. uvicorn logs it and hypercorn puts it in LifespanFailureError, "
    "so another type only garbles the log line the operator reads.",
    source="lifespan.rst 'Startup Failed', 'Shutdown Failed' (LS-FAILED-MESSAGE)",
    protocol="lifespan",
)

LIFESPAN_REPLY_TIMEOUT = _define(
    code="lifespan-reply-timeout",
    group="lifecycle",
    severity="error",
    title="the app never answered a lifespan event",
    explanation="The app received 'lifespan.startup' or 'lifespan.shutdown' and neither "
    "answered nor returned within hypercorn's 60 s timeout (virtual time). hypercorn "
    "raises LifespanTimeoutError and does not start (or stops without cleanup); uvicorn "
    "waits forever, so the server never serves a request or never exits.",
    source="hypercorn startup_timeout/shutdown_timeout; uvicorn LifespanOn.startup (LS-REPLY-DEADLINE)",
    protocol="lifespan",
)

LIFESPAN_SILENT_RETURN = _define(
    code="lifespan-silent-return",
    group="lifecycle",
    severity="warning",
    title="the lifespan app returned without answering an event it received",
    explanation="The app received 'lifespan.startup' (or completed its startup) and returned "
    "without the reply. uvicorn and hypercorn treat the return as success, so a startup that "
    "silently did not happen, or a shutdown that never ran, goes unnoticed.",
    source="lifespan.rst; uvicorn LifespanOn.main (events set in finally) (LS-NO-SILENT-RETURN)",
    protocol="lifespan",
)

LIFESPAN_RAISED = _define(
    code="lifespan-raised",
    group="lifecycle",
    severity="error",
    title="the lifespan app raised after its startup completed",
    explanation="An exception after 'lifespan.startup.complete' and before the shutdown reply "
    "(outside a '*.failed' reply): uvicorn records an error and skips the shutdown, so the "
    "app's cleanup never runs (and with --lifespan on the process exits with an error); "
    "hypercorn logs that it shuts down without lifespan support.",
    source="lifespan.rst 'Scope'; uvicorn LifespanOn.main/shutdown (LS-EXCEPTION-CLASSIFICATION)",
    protocol="lifespan",
)

LIFESPAN_OUTCOME_ALTERED = _define(
    code="lifespan-outcome-altered",
    group="transparency",
    severity="error",
    title="the lifespan outcome differs behind the middleware stack",
    explanation="The same server talked to the app with and without the user's middleware and "
    "learned something different: a startup that failed behind the stack was reported as "
    "complete (the server serves without the app's resources), the app's startup never ran "
    "(the middleware answered lifespan itself or raised for the lifespan scope, which servers "
    "read as 'lifespan unsupported'), or the state the app's startup set did not reach the "
    "server or the request scope.",
    source="lifespan.rst 'Lifespan State'; uvicorn exits with code 3 on startup.failed, hypercorn raises "
    "LifespanFailureError",
    protocol="lifespan",
)

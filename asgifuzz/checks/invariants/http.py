"""HTTP and cross-protocol invariants: protocol, lifecycle, transparency."""

from __future__ import annotations

from asgifuzz.checks.invariants._registry import define as _define, reactions, same_for_all

__all__ = (
    "APP_HANG",
    "APP_RAISED",
    "BACKGROUND_TASK_BEFORE_RESPONSE",
    "BACKGROUND_TASK_LOST",
    "BODY_BEFORE_RESPONSE_START",
    "BODY_FORBIDDEN",
    "CALL_AFTER_RETURN",
    "CONTENT_LENGTH_MISMATCH",
    "DISCONNECT_HIDDEN",
    "DUPLICATE_RESPONSE_START",
    "EVENT_LOOP_BLOCKED",
    "EXCEPTION_ON_DISCONNECT",
    "EXCEPTION_SWALLOWED",
    "EXTENSION_MISUSE",
    "HEADER_NAME_CASE",
    "INVALID_BODY",
    "INVALID_HEADERS",
    "INVALID_MESSAGE",
    "INVALID_STATUS",
    "MESSAGE_AFTER_RESPONSE_COMPLETE",
    "PROCESS_EXITED",
    "RECEIVE_AFTER_DISCONNECT",
    "REQUEST_BODY_ALTERED",
    "REQUEST_DEADLOCK",
    "RESPONSE_INCOMPLETE",
    "RESPONSE_LOST_BEHIND_STACK",
    "RETURNED_NON_NONE",
    "SERVER_ERROR",
    "STREAM_BUFFERED",
    "TASK_LEAK",
    "UNKNOWN_MESSAGE_TYPE",
)

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
    servers=reactions(
        uvicorn='rejects: logs the exception; the response is cut off',
        hypercorn='rejects: logs the exception; the response is cut off',
        daphne='rejects: logs the exception; the client gets no response',
        granian='rejects: logs the exception; 500',
    ),
)

UNKNOWN_MESSAGE_TYPE = _define(
    code="unknown-message-type",
    group="protocol",
    severity="error",
    title="the app sent a message type the server does not accept",
    explanation="An HTTP app may send only 'http.response.start' and "
    "'http.response.body', plus the extension messages the server "
    "advertised in scope['extensions']. uvicorn raises RuntimeError and "
    "hypercorn UnexpectedMessageError (the client gets 500); daphne logs "
    "nothing and the client gets no response.",
    source="asgi.rst 'Error Handling' and 'Extensions' (GEN-MSG-TYPE-ALLOWED)",
    servers=reactions(
        uvicorn='rejects: logs RuntimeError; 500',
        hypercorn='rejects: logs UnexpectedMessageError; 500',
        daphne='harms: logs nothing; the client gets no response',
        granian='rejects: logs the exception; 500',
    ),
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
    servers=reactions(
        uvicorn='rejects: logs RuntimeError; 500',
        hypercorn='rejects: logs UnexpectedMessageError; 500',
        daphne='harms: logs nothing; the client gets no response',
        granian="rejects: 'ASGI flow error: Response not started'; 500",
    ),
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
    servers=reactions(
        uvicorn='rejects: logs RuntimeError; the response is cut off',
        hypercorn='rejects: logs UnexpectedMessageError; the response is cut off',
        daphne='harms: logs nothing; the client gets no response',
        granian="rejects: 'ASGI flow error: Response already started'; 500",
    ),
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
    servers=reactions(
        uvicorn='rejects: logs RuntimeError (the client already has the response)',
        hypercorn='rejects: logs UnexpectedMessageError (the client already has the response)',
        daphne='tolerates: drops the late message silently',
        granian="rejects: 'ASGI flow error: Response already finished'",
    ),
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
    servers=reactions(
        uvicorn='rejects: undeclared trailers: logs RuntimeError',
        hypercorn='rejects: undeclared trailers: logs UnexpectedMessageError',
        daphne='tolerates: undeclared trailers are dropped silently',
        granian='rejects: undeclared trailers: logs the exception',
    ),
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
    servers=reactions(
        uvicorn='rejects: a str status: logs the exception, closes the connection without a response',
        hypercorn="tolerates: a str status '200' is sent as 200",
        daphne='harms: a str status: logs nothing, the client gets no response',
        granian='rejects: a str status: logs the exception; 500',
    ),
)

INVALID_BODY = _define(
    code="invalid-body",
    group="protocol",
    severity="error",
    title="'http.response.body' has a body that is not bytes or a bad more_body",
    explanation="body must be bytes and more_body a bool. A str body raises TypeError in uvicorn's and "
    "hypercorn's write path (the response is cut off); granian sends an empty body instead and "
    "daphne stalls after the head, both without a log line.",
    source="www.rst 'Response Body' (HTTP-BODY-SHAPE)",
    servers=reactions(
        uvicorn='rejects: a str body: logs the exception; the response is cut off',
        hypercorn='rejects: a str body: logs the exception; the response is cut off',
        daphne='harms: a str body: logs nothing, the response stalls after its head',
        granian='harms: a str body: logs nothing, sends an empty body',
    ),
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
    servers=reactions(
        uvicorn='rejects: CR/LF in a value: logs the exception, closes without a response',
        hypercorn='rejects: CR/LF in a value: logs the exception; 500',
        daphne='tolerates: CR/LF in a value become spaces (nothing is injected)',
        granian='rejects: CR/LF in a value: logs the exception; 500',
    ),
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
    servers=reactions(
        uvicorn='tolerates: sends the name on',
        hypercorn='tolerates: sends the name on',
        daphne='tolerates: sends the name on',
        granian='tolerates: sends the name on',
    ),
)

CONTENT_LENGTH_MISMATCH = _define(
    code="content-length-mismatch",
    group="protocol",
    severity="error",
    title="the body does not match the declared Content-Length",
    explanation="When a response declares Content-Length N, the body must be exactly N "
    "bytes (HEAD and 304 responses excepted), and the header must be one "
    "valid number. h11 raises LocalProtocolError (uvicorn, hypercorn); "
    "daphne and granian leave the client waiting for the missing bytes. Compression middleware that forgets to "
    "rewrite Content-Length is the classic cause.",
    source="RFC 9112 section 6.3 (HTTP-CONTENT-LENGTH-VALID, HTTP-BODY-MATCHES-CONTENT-LENGTH)",
    servers=reactions(
        uvicorn='rejects: a short body: logs the exception; the response is cut off',
        hypercorn='rejects: a short body: logs the exception; the response is cut off',
        daphne='harms: a short body: logs nothing, the client waits for the missing bytes',
        granian='harms: a short body: logs nothing, the client waits for the missing bytes',
    ),
)

BODY_FORBIDDEN = _define(
    code="body-forbidden",
    group="protocol",
    severity="error",
    title="a 204 or 304 response carries a body",
    explanation="204 and 304 responses have no body. uvicorn/h11 raises; other servers drop the bytes silently.",
    source="RFC 9110 sections 15.3.5 and 15.4.5 (HTTP-NO-BODY-FOR-204-304)",
    servers=reactions(
        uvicorn='rejects: a 204 with a body: logs the exception',
        hypercorn='tolerates: drops the body',
        daphne='tolerates: drops the body',
        granian='tolerates: drops the body',
    ),
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
    servers=reactions(
        uvicorn="rejects: logs 'ASGI callable returned without completing response', 500 or a dropped connection",
        hypercorn='rejects: answers 500 or closes the stream',
        daphne='harms: the client waits',
        granian='unchecked',
    ),
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
    servers=reactions(
        uvicorn='harms: receive() blocks until the client leaves; no answer',
        hypercorn='tolerates: an extra empty body event unblocks the app',
        daphne='harms: receive() blocks until the client leaves',
        granian='unchecked',
    ),
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
    servers=same_for_all('n/a: the server passes on the 5xx the app answered'),
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
    servers=reactions(
        uvicorn="rejects: logs 'Exception in ASGI application'",
        hypercorn="rejects: logs 'Error in ASGI Framework'",
        daphne="rejects: logs 'Exception inside application'",
        granian="rejects: logs 'Application callable raised an exception'",
    ),
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
    servers=reactions(
        uvicorn='rejects: logs the traceback, answers 500 or drops a started response',
        hypercorn='rejects: logs the traceback, answers 500',
        daphne='rejects: logs the traceback, answers 500',
        granian='rejects: logs the traceback, answers 500',
    ),
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
    servers=same_for_all('harms: the task and its connection slot are kept forever'),
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
    servers=same_for_all('harms: every request of the worker stalls'),
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
    servers=same_for_all('harms: the worker dies with all its connections'),
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
    servers=reactions(
        uvicorn="tolerates: repeats 'http.disconnect'",
        hypercorn='harms: receive() blocks forever',
        daphne='harms: receive() blocks forever',
        granian='unchecked',
    ),
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
    servers=same_for_all('harms: the task outlives the request, unawaited'),
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
    servers=reactions(
        uvicorn='rejects: RuntimeError for a late send',
        hypercorn='rejects: the stream is closed',
        daphne='unchecked',
        granian='unchecked',
    ),
)

RETURNED_NON_NONE = _define(
    code="returned-non-none",
    group="lifecycle",
    severity="warning",
    title="the app returned a value other than None",
    explanation="uvicorn logs an error and closes the connection when the app's coroutine returns anything but None.",
    source="uvicorn run_asgi (GEN-APP-RETURNS-NONE)",
    servers=reactions(
        uvicorn='rejects: logs an error and closes the connection after the response',
        hypercorn='tolerates',
        daphne='tolerates',
        granian='unchecked',
    ),
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
    servers=same_for_all('n/a: the app against itself without its middleware'),
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
    servers=same_for_all('n/a: the app against itself without its middleware'),
)

BACKGROUND_TASK_LOST = _define(
    code="background-task-lost",
    group="transparency",
    severity="error",
    title="a background task did not run to completion behind the stack",
    explanation="Without middleware the response's background task ran to completion; "
    "behind the stack it was never started or was cancelled.",
    source="Starlette BackgroundTask contract (run after the response is sent)",
    servers=same_for_all('n/a: the app against itself without its middleware'),
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
    servers=same_for_all('n/a: the app against itself without its middleware'),
)

EXCEPTION_SWALLOWED = _define(
    code="exception-swallowed",
    group="transparency",
    severity="warning",
    title="an endpoint's exception did not reach the server behind the stack",
    explanation="Without middleware the endpoint's exception propagated to the server "
    "(which logs it); behind the stack it vanished, so failures go unseen.",
    source="asgi.rst 'Error Handling'",
    servers=same_for_all('n/a: the app against itself without its middleware'),
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
    servers=same_for_all('n/a: the app against itself without its middleware'),
)

RESPONSE_LOST_BEHIND_STACK = _define(
    code="response-lost-behind-stack",
    group="transparency",
    severity="error",
    title="the response completed without middleware but not behind the stack",
    explanation="The same interaction gave the client a complete response from the "
    "bare endpoint, and an incomplete or missing one through the stack.",
    source="www.rst 'Response Body'",
    servers=same_for_all('n/a: the app against itself without its middleware'),
)

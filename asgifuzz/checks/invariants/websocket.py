"""Websocket invariants (``protocol="websocket"``)."""

from __future__ import annotations

from asgifuzz.checks.invariants._registry import define as _define, reactions, same_for_all

__all__ = (
    "WEBSOCKET_CONVERSATION_ALTERED",
    "WEBSOCKET_DENIAL_ORDER",
    "WEBSOCKET_DUPLICATE_ACCEPT",
    "WEBSOCKET_HANDSHAKE_INCOMPLETE",
    "WEBSOCKET_INVALID_CLOSE",
    "WEBSOCKET_INVALID_MESSAGE",
    "WEBSOCKET_MESSAGE_AFTER_CLOSE",
    "WEBSOCKET_NOT_CLOSED",
    "WEBSOCKET_RECEIVE_AFTER_DISCONNECT",
    "WEBSOCKET_SEND_BEFORE_ACCEPT",
    "WEBSOCKET_SUBPROTOCOL_NOT_OFFERED",
    "WEBSOCKET_UNKNOWN_MESSAGE_TYPE",
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
    servers=reactions(
        uvicorn="rejects: 'http.response.start' before accept: logs RuntimeError; HTTP 500",
        hypercorn="rejects: 'http.response.start' before accept: logs the exception; HTTP 500",
        daphne="tolerates: ignores 'http.response.start' before accept",
        granian="tolerates: ignores 'http.response.start' before accept",
    ),
)

WEBSOCKET_SEND_BEFORE_ACCEPT = _define(
    code="websocket-send-before-accept",
    group="protocol",
    severity="error",
    title="a websocket message was sent before the handshake was answered",
    explanation="The first message must be 'websocket.accept', 'websocket.close' (reject, "
    "HTTP 403) or an advertised denial response. uvicorn raises RuntimeError "
    "('Expected ASGI message websocket.accept...'), hypercorn UnexpectedMessageError "
    "(both answer HTTP 500); daphne never answers the handshake; granian accepts implicitly.",
    source="www.rst 'Connect - receive event' (WS-HANDSHAKE-FIRST)",
    protocol="websocket",
    servers=reactions(
        uvicorn='rejects: logs RuntimeError; HTTP 500',
        hypercorn='rejects: logs the exception; HTTP 500',
        daphne='harms: logs nothing; the handshake is never answered',
        granian='tolerates: accepts implicitly',
    ),
)

WEBSOCKET_DUPLICATE_ACCEPT = _define(
    code="websocket-duplicate-accept",
    group="protocol",
    severity="error",
    title="'websocket.accept' was sent twice",
    explanation="A connection is accepted once. uvicorn raises RuntimeError (expected "
    "send or close), hypercorn UnexpectedMessageError, granian 'Connection already upgraded'; "
    "under daphne the conversation stalls without a log line.",
    source="www.rst 'Accept - send event' (WS-ACCEPT-ONCE)",
    protocol="websocket",
    servers=reactions(
        uvicorn='rejects: logs RuntimeError; the connection drops (1006)',
        hypercorn='rejects: logs the exception; closes with 1011',
        daphne='harms: logs nothing; the conversation stalls',
        granian="rejects: 'ASGI flow error: Connection already upgraded'",
    ),
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
    servers=reactions(
        uvicorn='rejects: logs RuntimeError',
        hypercorn='rejects: logs the exception',
        daphne='tolerates: drops it silently',
        granian='tolerates: drops it silently',
    ),
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
    servers=reactions(
        uvicorn='rejects: a denial body first: logs RuntimeError; HTTP 500',
        hypercorn='rejects: a denial body first: logs the exception; HTTP 500',
        daphne='tolerates: ignores the denial body (no extension)',
        granian="rejects: 'ASGI flow error: Response not initialised'; HTTP 403",
    ),
)

WEBSOCKET_INVALID_MESSAGE = _define(
    code="websocket-invalid-message",
    group="protocol",
    severity="error",
    title="a websocket message has fields of the wrong type or shape",
    explanation="'websocket.send' carries exactly one of bytes (bytes) and text (a str "
    "that encodes as UTF-8); 'websocket.accept' has a str or None subprotocol and "
    "headers of [bytes, bytes] pairs without 'sec-websocket-protocol'; a denial "
    "start has an int status 100-599 and valid headers, its bodies bytes. uvicorn and "
    "hypercorn raise for bytes given as text (the connection drops); daphne stalls and "
    "granian sends something else than the app meant, without a log line.",
    source="www.rst 'Send/Accept - send event', extensions.rst (WS-SEND-PAYLOAD, WS-SEND-TEXT-UTF8, "
    "WS-ACCEPT-SHAPE, WS-DENIAL-SHAPE)",
    protocol="websocket",
    servers=reactions(
        uvicorn='tolerates: bytes as text: sent on with its wsproto implementation (measured); its websockets one logs the exception and drops the connection (1006)',
        hypercorn='rejects: bytes as text: logs the exception; closes with 1011',
        daphne='harms: bytes as text: logs nothing; the conversation stalls',
        granian='harms: bytes as text: logs nothing, sends something else than the app meant',
    ),
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
    servers=reactions(
        uvicorn='tolerates: code 1005: its wsproto implementation closes with 1000 (measured); its websockets one logs the exception and drops the connection (1006)',
        hypercorn='tolerates: code 1005: sends 1000 instead',
        daphne='harms: code 1005: logs nothing; the connection stays open',
        granian='harms: code 1005: sends it on; the client fails the connection (1002)',
    ),
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
    servers=reactions(
        uvicorn='rejects: its wsproto implementation logs the exception and never answers the handshake (measured); its websockets one sends it and the client fails the handshake',
        hypercorn="rejects: logs 'Invalid Subprotocol'",
        daphne='harms: logs nothing; the handshake is never answered',
        granian='rejects: sends it and logs a failed close; the client refuses the subprotocol it never offered',
    ),
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
    'non-HTTP scopes (\'if scope["type"] != "http": return\') does exactly this.',
    source="www.rst 'Connect - receive event' (WS-HANDSHAKE-BEFORE-RETURN)",
    protocol="websocket",
    servers=reactions(
        uvicorn="rejects: logs 'returned without completing handshake'; HTTP 500",
        hypercorn='rejects: HTTP 500',
        daphne='harms: logs nothing; the handshake is never answered',
        granian='rejects: HTTP 403',
    ),
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
    servers=reactions(
        uvicorn='tolerates: drops the connection without a close frame (1006)',
        hypercorn='tolerates: closes with 1011',
        daphne='tolerates: closes with 1000',
        granian='tolerates: closes with 1005',
    ),
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
    servers=reactions(
        uvicorn='harms: receive() blocks forever (sansio, wsproto)',
        hypercorn='harms: receive() blocks forever',
        daphne='harms: receive() blocks forever',
        granian='unchecked',
    ),
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
    servers=same_for_all('n/a: the app against itself without its middleware'),
)

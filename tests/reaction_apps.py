"""Tiny apps that each break one protocol invariant, served by real servers in test_server_reactions.

Each HTTP app first commits its violation, then (if the server let it go on)
sends the response it meant: 200 ``ok``.  Each websocket app commits its
violation, then accepts (if it has not), sends text ``ok`` and closes 1000.
So a server that *tolerates* the violation gives the client exactly that,
with nothing in its log; one that *rejects* it logs an error or refuses the
connection.  ``app`` picks the violation by the request path (``/<code>``);
the lifespan violation is chosen by ``ASGIFUZZ_REACTION_LIFESPAN`` (one per
server start: a server runs the lifespan once).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]

START = {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
OK = {"type": "http.response.body", "body": b"ok", "more_body": False}


def _start(**fields: Any) -> dict[str, Any]:
    return {**START, **fields}


#: invariant code -> (messages sent before the intended response, the intended response).
HTTP: dict[str, tuple[list[Any], list[dict[str, Any]]]] = {
    "invalid-message": ([], [START, {"body": b"ok", "more_body": False}]),
    "unknown-message-type": ([{"type": "http.response.bogus"}], [START, OK]),
    "body-before-response-start": ([{"type": "http.response.body", "body": b"early", "more_body": True}], [START, OK]),
    "duplicate-response-start": ([START], [START, OK]),
    "message-after-response-complete": ([], [START, OK, {"type": "http.response.body", "body": b"late"}]),
    "extension-misuse": ([], [START, OK, {"type": "http.response.trailers", "headers": [], "more_trailers": False}]),
    "invalid-status": ([], [_start(status="200"), OK]),
    "invalid-body": ([], [START, {"type": "http.response.body", "body": "ok", "more_body": False}]),
    "invalid-headers": ([], [_start(headers=[(b"x-a", b"1\r\nx-injected: 2")]), OK]),
    "header-name-case": ([], [_start(headers=[(b"Content-Type", b"text/plain")]), OK]),
    "content-length-mismatch": ([], [_start(headers=[(b"content-length", b"5")]), OK]),
    "body-forbidden": ([], [_start(status=204), OK]),
}

ACCEPT = {"type": "websocket.accept"}
WS_OK = {"type": "websocket.send", "text": "ok"}
CLOSE = {"type": "websocket.close", "code": 1000}

#: invariant code -> the whole send sequence (after receiving websocket.connect).
WEBSOCKET: dict[str, list[dict[str, Any]]] = {
    "websocket-unknown-message-type": [
        {"type": "http.response.start", "status": 200, "headers": []},
        ACCEPT,
        WS_OK,
        CLOSE,
    ],
    "websocket-send-before-accept": [{"type": "websocket.send", "text": "early"}, ACCEPT, WS_OK, CLOSE],
    "websocket-duplicate-accept": [ACCEPT, ACCEPT, WS_OK, CLOSE],
    "websocket-message-after-close": [ACCEPT, WS_OK, CLOSE, {"type": "websocket.send", "text": "late"}],
    "websocket-denial-order": [
        {"type": "websocket.http.response.body", "body": b"early", "more_body": False},
        ACCEPT,
        WS_OK,
        CLOSE,
    ],
    "websocket-invalid-message": [ACCEPT, {"type": "websocket.send", "text": b"ok"}, CLOSE],
    "websocket-invalid-close": [ACCEPT, WS_OK, {"type": "websocket.close", "code": 1005}],
    "websocket-subprotocol-not-offered": [{"type": "websocket.accept", "subprotocol": "chat"}, WS_OK, CLOSE],
    "websocket-handshake-incomplete": [],
    "websocket-not-closed": [ACCEPT, WS_OK],
}


async def _http(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    before, response = HTTP[scope["path"].strip("/")]
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            break
    for message in [*before, *response]:
        await send(message)


async def _websocket(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    sends = WEBSOCKET[scope["path"].strip("/")]
    assert (await receive())["type"] == "websocket.connect"
    for message in sends:
        await send(message)
    if sends and sends[-1]["type"] != "websocket.close":
        return  # websocket-not-closed: return with the connection open
    if sends:
        # Wait for the client's close reply, as a well-behaved app does.
        while (await receive())["type"] != "websocket.disconnect":
            pass


#: ``ASGIFUZZ_REACTION_LIFESPAN`` -> what the app sends for lifespan (the rest is the correct protocol).
LIFESPAN = (
    "lifespan-unknown-message-type",
    "lifespan-reply-order",
    "lifespan-reply-before-event",
    "lifespan-invalid-message",
)


async def _lifespan(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    case = os.environ.get("ASGIFUZZ_REACTION_LIFESPAN", "")
    if case == "lifespan-reply-before-event":
        await send({"type": "lifespan.startup.complete"})
        await receive()
    else:
        await receive()
        await send({"type": "lifespan.startup.complete"})
    if case == "lifespan-unknown-message-type":
        await send({"type": "lifespan.bogus"})
    if case == "lifespan-reply-order":
        await send({"type": "lifespan.startup.complete"})
    print("reaction-app: startup done", flush=True)
    await receive()
    if case == "lifespan-invalid-message":
        await send({"type": "lifespan.shutdown.failed", "message": 123})
    else:
        await send({"type": "lifespan.shutdown.complete"})
    print("reaction-app: shutdown done", flush=True)


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await _http(scope, receive, send)
    elif scope["type"] == "websocket":
        await _websocket(scope, receive, send)
    elif scope["type"] == "lifespan":
        await _lifespan(scope, receive, send)

"""Tiny websocket apps for tests/test_websocket.py: correct ones, and one broken app per invariant."""

from __future__ import annotations

import functools
from typing import Any

from asgifuzz._types import Receive, Scope, Send


def ws_only(app: Any) -> Any:
    """Raise for other scope types (the spec's way to say "lifespan unsupported")."""

    @functools.wraps(app)
    async def wrapper(scope: Scope, receive: Receive, send: Send) -> Any:
        if scope["type"] != "websocket":
            raise NotImplementedError(scope["type"])
        return await app(scope, receive, send)

    return wrapper


async def _accept(receive: Receive, send: Send, **fields: Any) -> None:
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept", **fields})


@ws_only
async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Correct: accepts the first offered subprotocol, echoes until the client leaves."""
    offered = scope.get("subprotocols") or []
    await _accept(receive, send, subprotocol=offered[0] if offered else None)
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        try:
            if message.get("text") is not None:
                await send({"type": "websocket.send", "text": message["text"]})
            else:
                await send({"type": "websocket.send", "bytes": message["bytes"]})
        except OSError:
            return


@ws_only
async def greets_and_closes(scope: Scope, receive: Receive, send: Send) -> None:
    """Correct: accepts, sends one frame, closes with 1000."""
    await _accept(receive, send)
    try:
        await send({"type": "websocket.send", "text": "hello"})
        await send({"type": "websocket.close", "code": 1000})
    except OSError:
        return


@ws_only
async def http_start_on_websocket(scope: Scope, receive: Receive, send: Send) -> None:
    """websocket-unknown-message-type: an HTTP response on a websocket scope."""
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})


@ws_only
async def sends_before_accept(scope: Scope, receive: Receive, send: Send) -> None:
    """websocket-send-before-accept."""
    await receive()
    await send({"type": "websocket.send", "text": "too early"})


@ws_only
async def accepts_twice(scope: Scope, receive: Receive, send: Send) -> None:
    """websocket-duplicate-accept."""
    await _accept(receive, send)
    await send({"type": "websocket.accept"})


@ws_only
async def sends_after_close(scope: Scope, receive: Receive, send: Send) -> None:
    """websocket-message-after-close."""
    await _accept(receive, send)
    await send({"type": "websocket.close", "code": 1000})
    await send({"type": "websocket.send", "text": "late"})


@ws_only
async def denial_body_first(scope: Scope, receive: Receive, send: Send) -> None:
    """websocket-denial-order (where the extension is advertised; rejects cleanly otherwise)."""
    await receive()
    if "websocket.http.response" in (scope.get("extensions") or {}):
        await send({"type": "websocket.http.response.body", "body": b"no"})
    else:
        await send({"type": "websocket.close", "code": 1000})


@ws_only
async def text_and_bytes(scope: Scope, receive: Receive, send: Send) -> None:
    """websocket-invalid-message: both payloads set."""
    await _accept(receive, send)
    await send({"type": "websocket.send", "text": "a", "bytes": b"a"})


@ws_only
async def closes_with_1006(scope: Scope, receive: Receive, send: Send) -> None:
    """websocket-invalid-close: 1006 is reserved, never sent in a close frame."""
    await _accept(receive, send)
    await send({"type": "websocket.close", "code": 1006})


@ws_only
async def closes_before_accept_with_1006(scope: Scope, receive: Receive, send: Send) -> None:
    """Correct: before accept the close code is not sent anywhere (the client gets HTTP 403)."""
    await receive()
    await send({"type": "websocket.close", "code": 1006})


@ws_only
async def always_chat(scope: Scope, receive: Receive, send: Send) -> None:
    """websocket-subprotocol-not-offered: accepts 'chat' whatever the client offered."""
    await _accept(receive, send, subprotocol="chat")
    await send({"type": "websocket.close", "code": 1000})


@ws_only
async def returns_before_handshake(scope: Scope, receive: Receive, send: Send) -> None:
    """websocket-handshake-incomplete."""
    await receive()


@ws_only
async def returns_open(scope: Scope, receive: Receive, send: Send) -> None:
    """websocket-not-closed: accepts, sends, returns with the socket open."""
    await _accept(receive, send)
    await send({"type": "websocket.send", "text": "bye?"})


@ws_only
async def keeps_receiving(scope: Scope, receive: Receive, send: Send) -> None:
    """websocket-receive-after-disconnect: ignores websocket.disconnect and receives again."""
    await _accept(receive, send)
    while True:
        await receive()


@ws_only
async def raises_on_disconnect(scope: Scope, receive: Receive, send: Send) -> None:
    """exception-on-disconnect: turns the client's close into an exception."""
    await _accept(receive, send)
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            raise RuntimeError(f"client went away with {message['code']}")


class DropsNonHTTP:
    """websocket-handshake-incomplete: a middleware that silently drops non-HTTP scopes."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        await self.app(scope, receive, send)


class DropsBinaryFrames:
    """websocket-conversation-altered: a middleware that loses the client's binary frames."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return

        async def wrapped() -> Any:
            while True:
                message = await receive()
                if message["type"] != "websocket.receive" or message.get("bytes") is None:
                    return message

        await self.app(scope, wrapped, send)


class ReadsStatus:
    """A middleware written for HTTP: it reads message['status'] from every message."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def wrapped(message: Any) -> None:
            if message["type"].endswith("start") or scope["type"] != "http":
                scope.setdefault("asgifuzz.status", message["status"])
            await send(message)

        await self.app(scope, receive, wrapped)


class PassThrough:
    """Correct: forwards every scope untouched."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

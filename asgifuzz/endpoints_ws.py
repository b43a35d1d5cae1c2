"""Adversarial websocket endpoints: instrumented apps that record their conversation.

Each exists as a Starlette websocket endpoint (behind the user's middleware
when Starlette is installed) and as a pure ASGI app.  They report to the
run's probe (``asgifuzz.server.probe``): ``on_call`` when called, every
received message through ``on_body`` (length-prefixed, so message
boundaries survive the comparison), every produced frame through
``on_chunk``, and ``on_disconnect`` when the disconnect reached them.  The
transparency check (``checks.websocket.compare_websocket_outcomes``)
compares these reports and the client's view between the bare endpoint and
the endpoint behind the stack.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from asgifuzz._types import ASGIApp, Message, Receive, Scope, Send
from asgifuzz.server.probe import Probe, current_probe

__all__ = ("WS_ENDPOINTS", "WebSocketEndpoint", "starlette_websocket_app")

StarletteWsEndpoint = Callable[[Any], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class WebSocketEndpoint:
    name: str
    description: str
    starlette: StarletteWsEndpoint
    asgi: ASGIApp


def _record(probe: Probe, message: Message) -> None:
    """A received message, length-prefixed: ``T<n>:`` text or ``B<n>:`` bytes."""
    if message.get("text") is not None:
        data = str(message["text"]).encode("utf-8")
        probe.on_body(b"T%d:" % len(data) + data, done=False)
    else:
        data = bytes(message.get("bytes") or b"")
        probe.on_body(b"B%d:" % len(data) + data, done=False)


def _sleep(seconds: float) -> Awaitable[None]:
    import anyio

    return anyio.sleep(seconds)


def _subprotocol(scope: Scope) -> str | None:
    offered = scope.get("subprotocols") or []
    return offered[0] if offered else None


# ---------------------------------------------------------------- pure ASGI


class _Conn:
    """A tiny pure-ASGI websocket helper (no framework)."""

    def __init__(self, scope: Scope, receive: Receive, send: Send, probe: Probe) -> None:
        self.scope, self._receive, self._send, self.probe = scope, receive, send, probe
        self.gone = False

    async def connect(self) -> None:
        message = await self._receive()
        assert message["type"] == "websocket.connect", message

    async def receive(self) -> Message | None:
        """The next data message, or None once the disconnect arrived (never asks again)."""
        if self.gone:
            return None
        message = await self._receive()
        if message["type"] == "websocket.disconnect":
            self.gone = True
            self.probe.on_disconnect()
            return None
        _record(self.probe, message)
        return message

    async def send(self, message: Message) -> bool:
        """False when the server says the client left (its OSError)."""
        try:
            await self._send(message)
        except OSError:
            self.gone = True
            return False
        return True

    async def text(self, text: str) -> bool:
        self.probe.on_chunk(text.encode())
        return await self.send({"type": "websocket.send", "text": text})


def _asgi(body: Callable[[_Conn], Awaitable[None]], name: str) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        probe = current_probe()
        probe.on_call(name)
        await body(_Conn(scope, receive, send, probe))

    app.__name__ = name
    return app


async def _a_echo(c: _Conn) -> None:
    await c.connect()
    await c.send({"type": "websocket.accept", "subprotocol": _subprotocol(c.scope)})
    while (m := await c.receive()) is not None:
        c.probe.on_chunk(b"echo")
        if not await c.send({"type": "websocket.send", "text": m.get("text"), "bytes": m.get("bytes")}):
            return


async def _a_accept_then_close(c: _Conn) -> None:
    await c.connect()
    await c.send({"type": "websocket.accept"})
    await c.send({"type": "websocket.close", "code": 1000, "reason": ""})


async def _a_reject(c: _Conn) -> None:
    await c.connect()
    await c.send({"type": "websocket.close", "code": 1008, "reason": ""})


async def _a_send_then_close(c: _Conn) -> None:
    await c.connect()
    await c.send({"type": "websocket.accept"})
    if await c.text("hello"):
        c.probe.on_chunk(b"\x00\x01")
        if await c.send({"type": "websocket.send", "bytes": b"\x00\x01"}):
            await c.send({"type": "websocket.close", "code": 4001, "reason": "done"})


async def _a_slow_consumer(c: _Conn) -> None:
    await c.connect()
    await c.send({"type": "websocket.accept"})
    while await c.receive() is not None:
        await _sleep(1.0)
        if not await c.text("ack"):
            return


async def _a_ignores_disconnect(c: _Conn) -> None:
    await c.connect()
    await c.send({"type": "websocket.accept"})
    for i in range(4):
        if not await c.text(f"tick {i}"):
            return
        await _sleep(1.0)
    await c.send({"type": "websocket.close", "code": 1000, "reason": ""})


async def _a_deny(c: _Conn) -> None:
    await c.connect()
    if "websocket.http.response" not in (c.scope.get("extensions") or {}):
        await c.send({"type": "websocket.close", "code": 1000, "reason": ""})
        return
    body = b"denied"
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))]
    await c.send({"type": "websocket.http.response.start", "status": 403, "headers": headers})
    await c.send({"type": "websocket.http.response.body", "body": body})


# ---------------------------------------------------------------- Starlette


async def _st_receive(ws: Any, probe: Probe) -> Message | None:
    from starlette.websockets import WebSocketDisconnect

    try:
        message: Message = await ws.receive()
    except WebSocketDisconnect:  # pragma: no cover - receive() returns the disconnect itself
        probe.on_disconnect()
        return None
    if message["type"] == "websocket.disconnect":
        probe.on_disconnect()
        return None
    _record(probe, message)
    return message


def _st(body: Callable[[Any, Probe], Awaitable[None]], name: str) -> StarletteWsEndpoint:
    async def endpoint(ws: Any) -> None:
        from starlette.websockets import WebSocketDisconnect

        probe = current_probe()
        probe.on_call(name)
        try:
            await body(ws, probe)
        except WebSocketDisconnect:
            probe.on_disconnect()  # a send after the client left (spec 2.4 OSError)

    endpoint.__name__ = name
    return endpoint


async def _s_echo(ws: Any, probe: Probe) -> None:
    await ws.accept(subprotocol=_subprotocol(ws.scope))
    while (m := await _st_receive(ws, probe)) is not None:
        probe.on_chunk(b"echo")
        if m.get("text") is not None:
            await ws.send_text(m["text"])
        else:
            await ws.send_bytes(m.get("bytes") or b"")


async def _s_accept_then_close(ws: Any, probe: Probe) -> None:
    await ws.accept()
    await ws.close(1000)


async def _s_reject(ws: Any, probe: Probe) -> None:
    await ws.close(1008)


async def _s_send_then_close(ws: Any, probe: Probe) -> None:
    await ws.accept()
    probe.on_chunk(b"hello")
    await ws.send_text("hello")
    probe.on_chunk(b"\x00\x01")
    await ws.send_bytes(b"\x00\x01")
    await ws.close(4001, "done")


async def _s_slow_consumer(ws: Any, probe: Probe) -> None:
    await ws.accept()
    while await _st_receive(ws, probe) is not None:
        await _sleep(1.0)
        probe.on_chunk(b"ack")
        await ws.send_text("ack")


async def _s_ignores_disconnect(ws: Any, probe: Probe) -> None:
    await ws.accept()
    for i in range(4):
        probe.on_chunk(f"tick {i}".encode())
        await ws.send_text(f"tick {i}")
        await _sleep(1.0)
    await ws.close(1000)


async def _s_deny(ws: Any, probe: Probe) -> None:
    from starlette.responses import PlainTextResponse

    if "websocket.http.response" not in (ws.scope.get("extensions") or {}):
        await ws.close(1000)
        return
    await ws.send_denial_response(PlainTextResponse("denied", status_code=403))


def _ep(
    name: str, description: str, st: Callable[[Any, Probe], Awaitable[None]], asgi: Callable[[_Conn], Awaitable[None]]
) -> WebSocketEndpoint:
    return WebSocketEndpoint(name, description, _st(st, name), _asgi(asgi, name))


WS_ENDPOINTS: dict[str, WebSocketEndpoint] = {
    e.name: e
    for e in (
        _ep(
            "ws_echo",
            "accepts (first offered subprotocol), echoes every message until the client leaves",
            _s_echo,
            _a_echo,
        ),
        _ep("ws_accept_then_close", "accepts, then closes with 1000", _s_accept_then_close, _a_accept_then_close),
        _ep("ws_reject", "closes before accepting (HTTP 403)", _s_reject, _a_reject),
        _ep(
            "ws_send_then_close",
            "accepts, sends a text and a binary frame, closes with 4001",
            _s_send_then_close,
            _a_send_then_close,
        ),
        _ep("ws_slow_consumer", "answers each message after 1s", _s_slow_consumer, _a_slow_consumer),
        _ep(
            "ws_ignores_disconnect",
            "accepts, sends 4 frames 1s apart without receiving, then closes",
            _s_ignores_disconnect,
            _a_ignores_disconnect,
        ),
        _ep("ws_deny", "sends a 403 denial response where the extension is advertised, else closes", _s_deny, _a_deny),
    )
}


def starlette_websocket_app(endpoint: WebSocketEndpoint, middleware: list[Any] | None = None) -> ASGIApp:
    """A Starlette app serving the websocket ``endpoint`` at ``/`` behind ``middleware``."""
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute

    route = WebSocketRoute("/", endpoint.starlette)
    if middleware:
        return Starlette(routes=[route], middleware=list(middleware))
    return Starlette(routes=[route])

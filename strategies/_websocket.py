"""Strategies for websocket connections: scopes and the client's frames, closes and pauses.

The client's state (has it closed or dropped the connection) is its own, never
the app's, so a script replays against any app: frames drawn before the app
accepted wait for the handshake (``server.websocket``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from hypothesis import strategies as st

from asgifuzz._case import Action, Advance, Disconnect, Latency, Run, WsBytes, WsClose, WsText

from ._chars import TEXT_CHARS
from ._draw_source import DrawSource
from ._scopes import _paths

__all__ = ("WebSocketDrawSource", "websocket_actions", "websocket_scopes")

_ADVANCES = (0.5, 1.0, 2.0, 5.0, 30.0)
#: Close codes a client sends: normal, going away, none, app-defined, and a few registered ones.
_CLOSE_CODES = st.sampled_from([1000, 1001, None, 4000, 1008, 1011, 3000])
_REASONS = st.sampled_from(["", "", "bye", "going away"])
_SUBPROTOCOLS = st.sampled_from([[], [], ["chat"], ["chat", "superchat"], ["graphql-ws"]])


def _frames() -> st.SearchStrategy[Action | None]:
    return st.one_of(
        st.text(TEXT_CHARS, max_size=12).map(WsText),
        st.binary(max_size=12).map(WsBytes),
    )


@lru_cache(maxsize=8)
def websocket_actions(*, connected: bool, coarse: bool = False) -> st.SearchStrategy[Action | None]:
    """The websocket client's next action, or None to end the script (then it closes normally)."""
    options: list[st.SearchStrategy[Action | None]] = [st.none()]
    if connected:
        options.append(_frames())
        options.append(st.builds(WsClose, _CLOSE_CODES, _REASONS))
        options.append(st.just(Disconnect()))
    options.append(st.just(Run()))
    options.append(st.sampled_from(_ADVANCES).map(Advance))
    if not coarse:
        options.append(st.integers(1, 12).map(Run))
        options.append(st.integers(0, 3).map(Latency))
    return st.one_of(options)


@st.composite
def _ws_scope(
    draw: st.DrawFn, paths: st.SearchStrategy[str], extra_headers: tuple[tuple[bytes, bytes], ...]
) -> tuple[dict[str, Any], bytes]:
    path = draw(paths)
    subprotocols: list[str] = draw(_SUBPROTOCOLS)
    host = next((v for n, v in extra_headers if n == b"host"), b"testserver")
    headers: list[tuple[bytes, bytes]] = [
        (b"host", host),
        (b"connection", b"Upgrade"),
        (b"upgrade", b"websocket"),
        (b"sec-websocket-version", b"13"),
        (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
    ]
    if subprotocols:
        headers.append((b"sec-websocket-protocol", ", ".join(subprotocols).encode()))
    if draw(st.booleans()):
        headers.append((b"origin", b"http://" + host))
    headers.extend((n, v) for n, v in extra_headers if n != b"host")
    scope: dict[str, Any] = {
        "type": "websocket",
        "http_version": "1.1",
        "scheme": "ws",
        "path": path,
        "raw_path": path.encode("utf-8"),
        "query_string": draw(st.sampled_from([b"", b"", b"token=abc"])),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "subprotocols": subprotocols,
    }
    # uvicorn and hypercorn advertise the denial-response extension; daphne does not.
    if draw(st.booleans()):
        scope["extensions"] = {"websocket.http.response": {}}
    return scope, b""


def websocket_scopes(
    *, path: str = "/", extra_headers: Sequence[tuple[bytes, bytes]] = ()
) -> st.SearchStrategy[tuple[dict[str, Any], bytes]]:
    """Pairs of (websocket scope, b"") for a route template (the body is always empty).

    The client offers no subprotocol or a few; the denial-response extension
    is advertised in half the scopes.
    """
    return _ws_scope(_paths(path), tuple(extra_headers))


class WebSocketDrawSource(DrawSource):
    """Draws the websocket client's next action from Hypothesis (``_search`` uses it)."""

    def draw_action(self, connection: Any) -> Action | None:
        action: Action | None = self.data.draw(
            websocket_actions(connected=not connection.disconnected, coarse=self.coarse)
        )
        if isinstance(action, WsClose | Disconnect):
            where = "before-accept" if not connection.checker.accepted else "connected"
            self.stats.disconnect_positions.add(f"websocket-{where}")
        return action

"""ASGI apps for tests/test_cli.py, imported by the CLI's worker processes (``--app-dir tests/cli_apps``)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

Scope = dict[str, Any]


async def _read_body(receive: Any) -> bool:
    """Read the whole request body; False when the client disconnected first."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return False
        if not message.get("more_body", False):
            return True


async def ok(scope: Scope, receive: Any, send: Any) -> None:
    """A correct app: no finding."""
    if scope["type"] != "http" or not await _read_body(receive):
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def double_start(scope: Scope, receive: Any, send: Any) -> None:
    """duplicate-response-start: a second 'http.response.start'."""
    if scope["type"] != "http" or not await _read_body(receive):
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.start", "status": 500, "headers": []})


async def spins(scope: Scope, receive: Any, send: Any) -> None:
    """event-loop-blocked: loops forever without awaiting."""
    if scope["type"] != "http":
        return
    await receive()
    while True:
        pass


async def awaits_forever(scope: Scope, receive: Any, send: Any) -> None:
    """app-hang: awaits something that never happens."""
    if scope["type"] != "http":
        return
    await receive()
    await asyncio.Event().wait()


async def exits(scope: Scope, receive: Any, send: Any) -> None:
    """process-exited: ends the process with os._exit."""
    if scope["type"] != "http":
        return
    await receive()
    os._exit(3)


def make_ok() -> Any:
    """An app factory (--factory)."""
    return ok


not_an_app = 42


async def asyncio_only(scope: Scope, receive: Any, send: Any) -> None:
    """Correct on asyncio; on trio asyncio.get_running_loop() raises (the --backend trio mismatch)."""
    if scope["type"] != "http" or not await _read_body(receive):
        return
    asyncio.get_running_loop()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def routed(scope: Scope, receive: Any, send: Any) -> None:
    """Two routes named with --path: /good is correct, /bad sends a second start."""
    if scope["type"] != "http":
        return
    await (double_start if scope["path"].startswith("/bad") else ok)(scope, receive, send)

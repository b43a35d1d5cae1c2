"""An app whose bug takes a few hundred examples to find, for tests/test_database.py.

``chunky`` answers twice (duplicate-response-start) only when the request
body arrived in two or more non-empty chunks: a fresh search with a budget
of one example does not find it, a search that replays the shared example
database does.
"""

from __future__ import annotations

from typing import Any


async def chunky(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    chunks = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        if message.get("body"):
            chunks += 1
        if not message.get("more_body", False):
            break
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    if chunks >= 2:
        await send({"type": "http.response.start", "status": 500, "headers": []})
        return
    await send({"type": "http.response.body", "body": b"ok"})

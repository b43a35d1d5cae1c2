"""Lifespan endpoints: small pure-ASGI apps a middleware stack must pass the lifespan through to.

Each answers the lifespan protocol in one way the user's middleware must
report faithfully to the server (``checks.lifespan.compare_lifespan_outcomes``)
and serves ``GET`` with what its request scope holds of the state its startup
set, so a stack that drops or replaces the state is seen.
"""

from __future__ import annotations

from typing import Any, Final

from asgifuzz._types import ASGIApp, Receive, Scope, Send

__all__ = ("LIFESPAN_ENDPOINTS",)

_KEY: Final = "asgifuzz.started"


async def _state_response(scope: Scope, send: Send) -> None:
    seen = b"yes" if (scope.get("state") or {}).get(_KEY) is True else b"no"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"state: " + seen})


def _lifespan_app(*, fail: bool = False, delay: float = 0.0) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await _state_response(scope, send)
            return
        message: Any = await receive()
        assert message["type"] == "lifespan.startup"
        if delay:
            import anyio

            await anyio.sleep(delay)
        if fail:
            await send({"type": "lifespan.startup.failed", "message": "database unreachable"})
            return
        scope["state"][_KEY] = True
        await send({"type": "lifespan.startup.complete"})
        message = await receive()
        await send({"type": "lifespan.shutdown.complete"})

    return app


#: Lifespan endpoints by name: starts and keeps state; fails its startup; starts after 5 s.
LIFESPAN_ENDPOINTS: Final[dict[str, ASGIApp]] = {
    "lifespan-state": _lifespan_app(),
    "lifespan-fails": _lifespan_app(fail=True),
    "lifespan-slow": _lifespan_app(delay=5.0),
}

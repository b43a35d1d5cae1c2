"""Hand-written lifespan apps and middlewares: one broken per lifespan invariant, and correct twins."""

from __future__ import annotations

from typing import Any

from asgifuzz._types import ASGIApp, Receive, Scope, Send


async def correct(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "lifespan":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            scope["state"]["db"] = "connected"
            await send({"type": "lifespan.startup.complete"})
        else:
            await send({"type": "lifespan.shutdown.complete"})
            return


async def double_startup_reply(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "lifespan.startup.complete"})
    await send({"type": "lifespan.startup.complete"})
    await receive()
    await send({"type": "lifespan.shutdown.complete"})


async def typo_type(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "lifespan.startup.completed"})


async def failed_message_not_str(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "lifespan.startup.failed", "message": 42})


async def hangs_in_startup(scope: Scope, receive: Receive, send: Send) -> None:
    import anyio

    await receive()
    await anyio.sleep_forever()


async def returns_after_startup(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "lifespan.startup.complete"})


async def raises_after_startup(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "lifespan.startup.complete"})
    await receive()
    raise RuntimeError("cleanup failed")


def answers_lifespan_itself(app: ASGIApp) -> ASGIApp:
    """A middleware that answers the lifespan protocol itself: the app's startup never runs."""

    async def mw(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await app(scope, receive, send)

    return mw


def swallows_startup_failure(app: ASGIApp) -> ASGIApp:
    """A middleware that turns the app's startup.failed into startup.complete."""

    async def mw(scope: Scope, receive: Receive, send: Send) -> None:
        async def wrapped(message: Any) -> None:
            if message["type"] == "lifespan.startup.failed":
                message = {"type": "lifespan.startup.complete"}
            await send(message)

        await app(scope, receive, wrapped if scope["type"] == "lifespan" else send)

    return mw


def http_only(app: ASGIApp) -> ASGIApp:
    """A middleware written for HTTP that breaks on other scopes (it reads the method)."""

    async def mw(scope: Scope, receive: Receive, send: Send) -> None:
        scope["method"].upper()
        await app(scope, receive, send)

    return mw


def fresh_state(app: ASGIApp) -> ASGIApp:
    """A middleware that hands the app a new state dict: the startup's state never reaches requests."""

    async def mw(scope: Scope, receive: Receive, send: Send) -> None:
        await app({**scope, "state": {}}, receive, send)

    return mw


def passthrough(app: ASGIApp) -> ASGIApp:
    """The correct twin: passes every scope through (a shallow scope copy shares the state dict)."""

    async def mw(scope: Scope, receive: Receive, send: Send) -> None:
        await app(dict(scope), receive, send)

    return mw


async def replies_before_the_event(scope: Scope, receive: Receive, send: Send) -> None:
    """lifespan-reply-before-event: answers the startup before it was asked (uvicorn does not check)."""
    await send({"type": "lifespan.startup.complete"})
    await receive()  # lifespan.startup
    await receive()  # lifespan.shutdown
    await send({"type": "lifespan.shutdown.complete"})

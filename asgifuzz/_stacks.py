"""Middleware stacks built again from the user's middleware list, in front of another app.

The lifespan targets rebuild the user's middleware in front of asgifuzz's
lifespan endpoints (the app's own lifespan runs once, on its real instances),
and the composed and explicit-list targets build stacks per example.  A
rebuilt stack is not the app: it is seen from inside the user's Starlette app
(``scope["app"]``), and its lifespan findings count only if it can run at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from asgifuzz._errors import UsageError
from asgifuzz._types import ASGIApp, Receive, Scope, Send

__all__ = ("build_stack", "is_starlette", "rebuild_starts_plainly", "rebuilt")


def is_starlette(app: object) -> bool:
    return all(hasattr(app, a) for a in ("router", "user_middleware", "build_middleware_stack"))


def rebuild_starts_plainly(items: Sequence[Any], owner: Any, cache: dict[str, bool]) -> bool:
    """Whether the user's middleware, built once more, starts and stops a plain lifespan app.

    Lifespan stack targets rebuild the user's middleware (the app's own
    lifespan runs once, on the real instances).  Middleware with process-wide
    effects on its first call cannot run twice: aioprometheus registers its
    metrics in the global registry then, and every second instance raised
    "already registered", reported as the stack breaking the lifespan, which
    it does not on a server (triage).  Such a rebuild says nothing of the app,
    so its lifespan findings are dropped.  Checked after a finding only: a
    rebuilt instance's first call has happened by then anyway.  Only when the
    app itself, on its own instances, did not fail its lifespan: a middleware
    that breaks every startup breaks the app's too, and that is a finding.
    """
    from asgifuzz.server.lifespan import lifespan_unsupported

    if lifespan_unsupported(owner):
        return True
    if "plain" not in cache:
        cache["plain"] = not _plain_lifespan_error(items, owner)
    return cache["plain"]


def _plain_lifespan_error(items: Sequence[Any], owner: Any) -> str:
    """The exception ``items`` in front of a plain lifespan app raised in startup and shutdown ('' if none)."""
    import asyncio

    events = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]

    async def plain(scope: Scope, receive: Receive, send: Send) -> None:
        while scope["type"] == "lifespan":
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return

    async def receive() -> dict[str, Any]:
        if events:
            return events.pop(0)
        await asyncio.Event().wait()  # (never: the plain app returns after the shutdown)
        return {}

    async def send(message: Any) -> None:
        pass

    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    loop = asyncio.new_event_loop()  # the run's own loop stands still between cases; this one is apart
    try:
        loop.run_until_complete(asyncio.wait_for(rebuilt(items, plain, owner)(scope, receive, send), 5))
    except TimeoutError:
        return ""  # a stack that hangs a plain startup hangs the app's own too: a finding, not a rebuild's
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        loop.close()
    # What it sent is the middleware's own doing (twice the startup reply, say): a finding either way.
    return ""


class _AppInScope:
    """Sets ``scope["app"]`` to the user's Starlette app before its rebuilt middleware, as
    ``Starlette.__call__`` does on a server: starlette-prometheus reads ``scope["app"].routes``, and
    its requests behind a rebuilt stack raised KeyError (a false lifespan-outcome-altered, triage)."""

    def __init__(self, inner: ASGIApp, owner: Any) -> None:
        self.inner = inner
        self.owner = owner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self.owner
        await self.inner(scope, receive, send)


def rebuilt(items: Sequence[Any], inner: ASGIApp, owner: Any) -> ASGIApp:
    """``items`` built again in front of ``inner``, seen from inside ``owner`` (the user's app) when it is Starlette."""
    stack = build_stack(items, inner)
    return _AppInScope(stack, owner) if owner is not None and is_starlette(owner) else stack


def build_stack(items: Sequence[Any], inner: ASGIApp) -> ASGIApp:
    app = inner
    for item in reversed(list(items)):
        if hasattr(item, "cls"):  # starlette.middleware.Middleware
            args = getattr(item, "args", ())
            kwargs = getattr(item, "kwargs", None)
            if kwargs is None:
                kwargs = getattr(item, "options", {})
            app = item.cls(app, *args, **kwargs)
        elif callable(item):
            app = item(app)
        else:
            raise UsageError(f"middleware item {item!r} is neither a Middleware nor a factory(app) -> app")
    return app

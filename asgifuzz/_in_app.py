"""asgifuzz's endpoints served from inside the user's own app.

The adversarial endpoints must sit behind the user's middleware exactly as
the app's routes do: the same middleware *instances* (constructors with
global side effects, such as metric registration, must not run twice), the
same ``app.state`` and ``scope["app"]``, and the same ``Starlette.__call__``
(integrations such as sentry-sdk patch it).  So instead of rebuilding the
stack around an endpoint, an ``EndpointSwitch`` is spliced into the app's own
built stack in place of its router: while a stack target runs, the switch
hands HTTP requests to that target's endpoint; otherwise (the app's own
routes, lifespan) it is the router, unchanged.
"""

from __future__ import annotations

import re
from typing import Any

from asgifuzz._types import ASGIApp, Receive, Scope, Send

__all__ = ("EndpointSwitch", "LayerTrace", "cookie_names", "install_switch", "patched_call_notes", "via_switch")

#: Attribute chains followed from the built stack towards the router.
_INNER = ("app", "_app")
_MAX_DEPTH = 64
#: Objects looked into at most while searching the stack for the router.
_MAX_NODES = 256


class EndpointSwitch:
    """Stands in for the router inside the app's stack (see the module docstring)."""

    def __init__(self, router: ASGIApp) -> None:
        self.router = router
        #: The endpoint serving the run in progress, or None (the router serves).
        self.active: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.active is not None and scope["type"] == "http":
            await self.active(scope, receive, send)
            return
        try:
            await self.router(scope, receive, send)
        except Exception as exc:  # (cancellation is not the route's failure)
            # The transparency check compares this with what reached the server (``exception-swallowed``).
            if scope["type"] == "http":
                from asgifuzz.server.probe import current_probe

                current_probe().on_router_raised(exc)
            raise

    def __getattr__(self, name: str) -> Any:
        # Code that reaches through the stack for router attributes still finds them.
        return getattr(self.router, name)


class LayerTrace:
    """Records what the layer it wraps receives and sends, into the run's trace.

    Installed between the layers of the app's built stack, so a report
    shows, per middleware, the messages that layer actually saw: the one
    that altered a message is visible.  It adds no scheduling point (the
    wrappers only await what the layer awaits), so runs are unchanged.
    """

    def __init__(self, app: ASGIApp, depth: int) -> None:
        self.app = app
        self.depth = depth
        self.label = f"{depth}:{type(app).__name__}"

    def _record(self, kind: str, message: Any) -> None:
        from asgifuzz.server import running
        from asgifuzz.server.trace import copy_message

        run = running.current()
        recorder = getattr(run, "recorder", None)
        if recorder is not None:
            recorder.record("layer", kind, copy_message(message), self.label)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def traced_receive() -> Any:
            message = await receive()
            self._record("receive", message)
            return message

        async def traced_send(message: Any) -> None:
            self._record("send", message)
            await send(message)

        await self.app(scope, traced_receive, traced_send)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)


def install_switch(app: Any) -> tuple[EndpointSwitch | None, str]:
    """Splice a switch in place of ``app.router`` inside its built stack.

    Returns the switch (the one already there, on a second call), or None
    and the reason when the router cannot be found in the stack.
    """
    router = getattr(app, "router", None)
    stack = getattr(app, "middleware_stack", None)
    if stack is None and hasattr(app, "build_middleware_stack"):
        # Newer Starlette builds the stack on its first call; build it the
        # same way now (each middleware constructed once, as Starlette would).
        stack = app.middleware_stack = app.build_middleware_stack()
    path = _path_to(stack, router, 0, set())
    if isinstance(path, EndpointSwitch):
        return path, ""
    if path and router is not None:
        node, attr = path[-1]
        switch = EndpointSwitch(router)
        setattr(node, attr, switch)
        _trace_layers(path[:-1])
        return switch, ""
    return (
        None,
        (
            f"the router could not be found inside {type(stack).__name__} "
            "(it keeps its inner app in an attribute asgifuzz does not know)"
        ),
    )


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}")


def cookie_names(app: Any) -> tuple[str, ...]:
    """The cookie names the app's middleware is configured with (Starlette's ``session_cookie``,
    starlette-session's and starlette-csrf's ``cookie_name``...), read from the built stack."""
    names: list[str] = []
    todo: list[Any] = [getattr(app, "middleware_stack", None) or app]
    seen: set[int] = set()
    while todo and len(seen) < _MAX_NODES:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        try:
            held = dict(vars(node))
        except TypeError:  # no __dict__
            continue
        names += [v for k, v in held.items() if "cookie" in k.lower() and isinstance(v, str) and _TOKEN.fullmatch(v)]
        todo += [held[k] for k in _inner_names(node) if k in held]
    return tuple(dict.fromkeys(names))


def _inner_names(node: Any) -> list[str]:
    """Where ``node`` may keep the app it wraps: the usual attributes, then any other callable it holds.

    Middleware name that attribute freely (aioprometheus: ``asgi_callable``);
    not finding the router meant rebuilding the stack, whose second instances
    registered the app's metrics again and raised.
    """
    names = [a for a in _INNER if getattr(node, a, None) is not None]
    try:
        held = vars(node)
    except TypeError:  # no __dict__
        return names
    return names + sorted(k for k, v in held.items() if k not in _INNER and callable(v) and not isinstance(v, type))


def _path_to(node: Any, router: Any, depth: int, seen: set[int]) -> list[tuple[Any, str]] | EndpointSwitch | None:
    """The (layer, attribute) links from ``node`` down to the router (depth first), or a switch already there."""
    if node is None or isinstance(node, EndpointSwitch) or depth >= _MAX_DEPTH or len(seen) > _MAX_NODES:
        return None
    names = _inner_names(node)
    for attr in names:
        inner = getattr(node, attr, None)
        if isinstance(inner, EndpointSwitch):
            return inner
        if inner is not None and inner is router:
            return [(node, attr)]
    for attr in names:
        inner = getattr(node, attr, None)
        if id(inner) in seen:
            continue
        seen.add(id(inner))
        found = _path_to(inner, router, depth + 1, seen)
        if isinstance(found, EndpointSwitch):
            return found
        if found:
            return [(node, attr), *found]
    return None


def _trace_layers(links: list[tuple[Any, str]]) -> None:
    """Put a ``LayerTrace`` in front of every layer below the outermost one."""
    for depth, (parent, attr) in enumerate(links, start=1):
        inner = getattr(parent, attr)
        if not isinstance(inner, LayerTrace):
            setattr(parent, attr, LayerTrace(inner, depth))


def via_switch(app: ASGIApp, switch: EndpointSwitch, endpoint: ASGIApp) -> ASGIApp:
    """The user's app, with ``endpoint`` answering its HTTP requests while it runs."""

    async def run(scope: Scope, receive: Receive, send: Send) -> None:
        switch.active = endpoint
        try:
            await app(scope, receive, send)
        finally:
            switch.active = None

    run.__qualname__ = f"via_switch({getattr(endpoint, '__name__', 'endpoint')})"
    return run


#: Frameworks whose ``__call__`` integrations replace on the class (sentry-sdk replaces ``Starlette.__call__``).
_FRAMEWORKS = ("starlette", "fastapi")


def patched_call_notes(app: object) -> list[str]:
    """A note for each framework ``__call__`` in the app's class hierarchy that another package replaced.

    Such an integration (sentry-sdk's Starlette integration wraps every
    Starlette app in its ``SentryAsgiMiddleware``) is not in
    ``user_middleware``: the app is fuzzed with it, as deployed, but the apps
    it is compared against (the app without its user middleware, the bare
    endpoints) are Starlette apps too and run through it, so no bare
    comparison exists for what the wrapper does.
    """
    notes = []
    for cls in type(app).__mro__:
        own = cls.__module__.split(".")[0]
        call = cls.__dict__.get("__call__")
        if own not in _FRAMEWORKS or call is None:
            continue
        # The defining module, also through functools.wraps (which copies __module__, not __globals__).
        globals_ = getattr(call, "__globals__", None)
        where = globals_.get("__name__", "?") if isinstance(globals_, dict) else type(call).__module__
        if where.split(".")[0] != own:
            notes.append(
                f"{cls.__qualname__}.__call__ is replaced by {where}: the app is fuzzed through that wrapper, as "
                "deployed, but no bare comparison exists for it (the apps it is compared against run through it "
                "too), so a change it makes to the messages is not reported as a transparency finding"
            )
    return notes

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

from typing import Any

from asgifuzz._types import ASGIApp, Receive, Scope, Send

__all__ = ("EndpointSwitch", "install_switch", "via_switch")

#: Attribute chains followed from the built stack towards the router.
_INNER = ("app", "_app")
_MAX_DEPTH = 64


class EndpointSwitch:
    """Stands in for the router inside the app's stack (see the module docstring)."""

    def __init__(self, router: ASGIApp) -> None:
        self.router = router
        #: The endpoint serving the run in progress, or None (the router serves).
        self.active: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.active is not None and scope["type"] == "http":
            await self.active(scope, receive, send)
        else:
            await self.router(scope, receive, send)

    def __getattr__(self, name: str) -> Any:
        # Code that reaches through the stack for router attributes still finds them.
        return getattr(self.router, name)


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
    node: Any = stack
    for _ in range(_MAX_DEPTH):
        if node is None:
            break
        for attr in _INNER:
            inner = getattr(node, attr, None) if not isinstance(node, EndpointSwitch) else None
            if isinstance(inner, EndpointSwitch):
                return inner, ""
            if inner is not None and inner is router:
                switch = EndpointSwitch(router)
                setattr(node, attr, switch)
                return switch, ""
        node = next((getattr(node, a) for a in _INNER if getattr(node, a, None) is not None), None)
    name = type(node).__name__ if node is not None else "the stack"
    return None, f"the router could not be found inside {name} (it keeps its inner app in an attribute asgifuzz does not know)"


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

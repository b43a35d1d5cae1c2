"""``asgifuzz._in_app``: what a run says about integrations that wrap the framework's ``__call__``."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import asgifuzz
from asgifuzz._in_app import patched_call_notes


async def hello(request: Any) -> PlainTextResponse:
    return PlainTextResponse("hello")


def patch_like_sentry(monkeypatch: pytest.MonkeyPatch, *, wraps: bool) -> list[int]:
    """Replace ``Starlette.__call__`` from this module, as sentry-sdk's Starlette integration does."""
    old = Starlette.__call__
    calls: list[int] = []

    async def patched(self: Starlette, scope: Any, receive: Any, send: Any) -> None:
        calls.append(1)
        await old(self, scope, receive, send)

    monkeypatch.setattr(Starlette, "__call__", functools.wraps(old)(patched) if wraps else patched)
    return calls


def test_an_unpatched_app_has_no_note() -> None:
    assert patched_call_notes(Starlette(routes=[Route("/", hello)])) == []
    assert patched_call_notes(FastAPI()) == []
    assert patched_call_notes(object()) == []


@pytest.mark.parametrize("wraps", [False, True])  # functools.wraps copies __module__: the code's module decides
def test_a_replaced_starlette_call_is_named_and_said_to_have_no_bare_comparison(
    monkeypatch: pytest.MonkeyPatch, wraps: bool
) -> None:
    calls = patch_like_sentry(monkeypatch, wraps=wraps)
    for app in (Starlette(routes=[Route("/", hello)]), FastAPI()):
        [note] = patched_call_notes(app)
        assert note.startswith(f"Starlette.__call__ is replaced by {__name__}: ")
        assert "no bare comparison exists for it" in note
    # A run says so among its notes, and fuzzes the app through the wrapper (as deployed).
    app = Starlette(routes=[Route("/", hello)], middleware=[Middleware(GZipMiddleware)])
    result = asgifuzz.fuzz(app, max_examples=20, seed=1)
    assert [n for n in result.notes if "Starlette.__call__ is replaced by" in n] == patched_call_notes(app)
    assert calls


class RegistersOnFirstCall:
    """Like aioprometheus: metrics go to a process-wide registry on the instance's first call."""

    registry: set[str] = set()

    def __init__(self, app: Any) -> None:
        self.app = app
        self.ready = False

    def inner(self) -> Any:
        return self.app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if not self.ready:
            self.ready = True
            if "requests_total" in RegistersOnFirstCall.registry:
                raise ValueError("A collector for requests_total is already registered")
            RegistersOnFirstCall.registry.add("requests_total")
        await self.inner()(scope, receive, send)


class KeepsItAsAsgiCallable(RegistersOnFirstCall):
    """Like aioprometheus' MetricsMiddleware itself: the inner app under its own name."""

    def __init__(self, app: Any) -> None:
        self.asgi_callable = app
        self.ready = False

    def inner(self) -> Any:
        return self.asgi_callable


def test_the_router_is_found_under_any_attribute_name_so_the_stack_is_not_built_twice() -> None:
    """aioprometheus keeps its inner app in ``asgi_callable``: the stack was rebuilt around each endpoint,
    and each second instance raised "already registered" on its first call (false ``app-raised``)."""
    from asgifuzz._in_app import install_switch

    RegistersOnFirstCall.registry.clear()
    app = Starlette(routes=[Route("/", hello)], middleware=[Middleware(KeepsItAsAsgiCallable)])
    switch, why = install_switch(app)
    assert switch is not None, why
    result = asgifuzz.fuzz(app, max_examples=150, seed=1, backend="asyncio", lifespan="off")
    assert [f.code for f in result.findings if f.severity == "error"] == []


def test_lifespan_findings_of_a_rebuilt_stack_that_cannot_run_twice_are_not_reported() -> None:
    """The lifespan targets rebuild the user's middleware; a second instance of this one raises on its
    first call, which no server shows (the app's own instance runs once): a false lifespan-outcome-altered."""
    RegistersOnFirstCall.registry.clear()
    app = Starlette(routes=[Route("/", hello)], middleware=[Middleware(RegistersOnFirstCall)])
    result = asgifuzz.fuzz(app, max_examples=300, seed=1, backend="asyncio", lifespan="on")
    assert [f.code for f in result.findings] == []
    assert any("(lifespan)" in t for t in result.stats.targets_seen)


class HttpOnly:
    """Breaks every lifespan: asserts an HTTP scope, so the app's startup never runs (on uvicorn too)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http", "HTTP only"
        await self.app(scope, receive, send)


def test_a_middleware_that_breaks_every_lifespan_of_the_app_is_still_found() -> None:
    """The rebuilt stack fails a plain startup here too, but so did the app's own: that is the finding."""

    import contextlib

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> Any:
        yield

    app = Starlette(routes=[Route("/", hello)], middleware=[Middleware(HttpOnly)], lifespan=lifespan)
    result = asgifuzz.fuzz(app, max_examples=300, seed=1, backend="asyncio", lifespan="auto")
    assert "lifespan-outcome-altered" in [f.code for f in result.findings]


class ReadsTheAppsRoutes:
    """Like starlette-prometheus: finds the route template through ``scope["app"].routes``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            assert scope["app"].routes
        await self.app(scope, receive, send)


def test_a_rebuilt_lifespan_stack_sees_the_users_app_in_the_scope_as_on_a_server() -> None:
    """Starlette sets ``scope["app"]``; requests behind the rebuilt lifespan stack lacked it (false finding)."""
    app = Starlette(routes=[Route("/", hello)], middleware=[Middleware(ReadsTheAppsRoutes)])
    result = asgifuzz.fuzz(app, max_examples=300, seed=1, backend="asyncio", lifespan="on")
    assert [f.code for f in result.findings] == []
    assert any("(lifespan)" in t for t in result.stats.targets_seen)

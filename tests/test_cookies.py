"""Requests carry cookies, under the names the app's middleware reads (issue 12: recall)."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import asgifuzz
from asgifuzz._in_app import cookie_names, install_switch


async def home(request: Any) -> PlainTextResponse:
    return PlainTextResponse("home")


class SignedSession:
    """Like starlette-session 0.4.3: reads its cookie, and a value without a signature raises (a 500)."""

    def __init__(self, app: Any, cookie_name: str) -> None:
        self.app = app
        self.cookie_name = cookie_name

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            value = HTTPConnection(scope).cookies.get(self.cookie_name)
            if value is not None and "." not in value:
                raise ValueError(f"No b'.' found in value {value!r}")
        await self.app(scope, receive, send)


def test_the_cookie_names_come_from_the_apps_middleware() -> None:
    app = Starlette(
        routes=[Route("/", home)],
        middleware=[Middleware(SignedSession, cookie_name="cookie22"), Middleware(SessionMiddleware, secret_key="k")],
    )
    install_switch(app)
    assert set(cookie_names(app)) == {"cookie22", "session"}


def test_a_middleware_that_fails_on_a_malformed_cookie_is_found_and_starlettes_sessions_stay_clean() -> None:
    """starlette-session answered 500 to a malformed session cookie (confirmed on uvicorn); asgifuzz sent none."""
    buggy = Starlette(routes=[Route("/", home)], middleware=[Middleware(SignedSession, cookie_name="cookie22")])
    found = asgifuzz.fuzz(buggy, max_examples=300, seed=1, backend="asyncio", lifespan="off")
    assert "app-raised" in [f.code for f in found.findings]
    clean = Starlette(routes=[Route("/", home)], middleware=[Middleware(SessionMiddleware, secret_key="k")])
    assert asgifuzz.fuzz(clean, max_examples=300, seed=1, backend="asyncio", lifespan="off").findings == []

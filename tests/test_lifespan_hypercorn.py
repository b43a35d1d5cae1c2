"""hypercorn's LifespanFailureError in the lifespan driver (the hypercorn profile).

hypercorn 0.18 (``asyncio/lifespan.py``): ``send()`` of ``lifespan.startup.failed``
raises ``LifespanFailureError`` into the app, and ``run.py`` refuses to start only
when that exception comes back out of the app.  So a middleware that swallows
the app's exceptions turns a failed startup into a served one, under hypercorn
only (uvicorn reads the failed reply itself and exits with code 3).
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from asgifuzz._case import Case, LsRequest, LsShutdown, LsStartup
from asgifuzz._config import Backend
from asgifuzz._types import ASGIApp, Receive, Scope, Send
from asgifuzz.server.driver import run_case
from asgifuzz.server.lifespan_driver import LifespanView

BACKENDS: list[Backend] = ["asyncio", "trio"]


def _case(profile: str, backend: Backend = "asyncio") -> Case:
    return Case(
        target="lifespan",
        scope={"type": "lifespan"},
        body=b"",
        actions=(LsStartup(), LsRequest(), LsShutdown()),
        backend=backend,
        profile=profile,
        differential=True,
    )


async def fails_startup(scope: Scope, receive: Receive, send: Send) -> None:
    """A correct app whose startup fails, as Starlette's router reports it: failed, then re-raise."""
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"served"})
        return
    await receive()
    try:
        raise ConnectionRefusedError("database down")
    except ConnectionRefusedError:
        await send({"type": "lifespan.startup.failed", "message": "database down"})
        raise


def swallows_errors(app: ASGIApp) -> ASGIApp:
    async def mw(scope: Scope, receive: Receive, send: Send) -> None:
        with contextlib.suppress(Exception):  # the bug: "never let an exception reach the server"
            await app(scope, receive, send)

    return mw


def _view(outcome: Any) -> LifespanView:
    view = outcome.response
    assert isinstance(view, LifespanView)
    return view


@pytest.mark.parametrize("backend", BACKENDS)
def test_hypercorn_raises_lifespan_failure_into_the_app_and_refuses_to_serve(backend: Backend) -> None:
    outcome = run_case(fails_startup, _case("hypercorn", backend))
    view = _view(outcome)
    assert (view.startup, view.requests) == ("failed", [])
    assert outcome.findings == []  # the app did what it should: the failure is hypercorn's own exception
    assert any("raises LifespanFailureError" in (e.detail or "") for e in outcome.trace)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_swallowed_failure_is_served_by_hypercorn_only(backend: Backend) -> None:
    app = swallows_errors(fails_startup)
    hyper = _view(run_case(app, _case("hypercorn", backend)))
    assert hyper.startup == "swallowed" and hyper.requests == [(200, b"served")]
    uvi = _view(run_case(app, _case("uvicorn", backend)))
    assert uvi.startup == "failed" and uvi.requests == []


def test_the_swallowing_middleware_is_a_lifespan_finding_under_hypercorn() -> None:
    from asgifuzz.checks.lifespan import compare_lifespan_outcomes

    stack = run_case(swallows_errors(fails_startup), _case("hypercorn"))
    bare = run_case(fails_startup, _case("hypercorn"))
    [finding] = compare_lifespan_outcomes(stack, bare)
    assert finding.code == "lifespan-outcome-altered"
    assert "hypercorn serves" in finding.message
    uvicorn_stack = run_case(swallows_errors(fails_startup), _case("uvicorn"))
    uvicorn_bare = run_case(fails_startup, _case("uvicorn"))
    assert compare_lifespan_outcomes(uvicorn_stack, uvicorn_bare) == []


def test_hypercorn_tolerates_a_second_startup_reply() -> None:
    async def double(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})

    hyper = run_case(double, _case("hypercorn"))
    assert [f.code for f in hyper.findings] == ["lifespan-reply-order"]
    assert _view(hyper).shutdown == "complete"  # nothing was raised into the app
    uvi = run_case(double, _case("uvicorn"))
    assert [f.code for f in uvi.findings] == ["lifespan-reply-order"]
    assert _view(uvi).shutdown != "complete"  # uvicorn's assertion ended the app

"""Lifespan fuzzing: a broken app or middleware per lifespan invariant, correct twins clean."""

from __future__ import annotations

import ls_apps as A
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware

from asgifuzz._case import Case, LsRequest, LsShutdown, LsStartup, case_from_json, case_to_json
from asgifuzz._config import Backend, Settings
from asgifuzz._search import search
from asgifuzz._targets import lifespan_targets
from asgifuzz._types import ASGIApp
from asgifuzz.server.driver import run_case
from asgifuzz.server.lifespan_driver import LifespanView

BACKENDS: list[Backend] = ["asyncio", "trio"]
SCRIPT = (LsStartup(), LsRequest(), LsShutdown())


def _case(backend: Backend = "asyncio", differential: bool = False) -> Case:
    return Case(
        target="lifespan",
        scope={"type": "lifespan"},
        body=b"",
        actions=SCRIPT,
        backend=backend,
        differential=differential,
    )


#: One broken app per lifespan invariant (tests/test_oracles.py counts them).
LIFESPAN_CASES: dict[str, ASGIApp] = {
    "lifespan-reply-order": A.double_startup_reply,
    "lifespan-unknown-message-type": A.typo_type,
    "lifespan-invalid-message": A.failed_message_not_str,
    "lifespan-reply-timeout": A.hangs_in_startup,
    "lifespan-silent-return": A.returns_after_startup,
    "lifespan-raised": A.raises_after_startup,
    "lifespan-reply-before-event": A.replies_before_the_event,
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("code", "app"), sorted(LIFESPAN_CASES.items()))
def test_broken_app_found(code: str, app: ASGIApp, backend: Backend) -> None:
    outcome = run_case(app, _case(backend))
    assert [f.code for f in outcome.findings] == [code]


def test_what_happened_tells_the_lifespan_not_a_request() -> None:
    from asgifuzz.report.text import what_happened

    [finding] = run_case(A.double_startup_reply, _case()).findings
    sentence = what_happened(finding)
    assert sentence.startswith("The server sent lifespan.startup; the app replied lifespan.startup.complete x2;"), sentence
    assert "body byte" not in sentence and "response" not in sentence


def _starlette_lifespan() -> Starlette:
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, str]]:
        yield {"db": "connected"}

    return Starlette(
        lifespan=lifespan, middleware=[Middleware(CORSMiddleware, allow_origins=["*"]), Middleware(GZipMiddleware)]
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_correct_apps_clean(backend: Backend) -> None:
    assert run_case(A.correct, _case(backend)).findings == []
    app = _starlette_lifespan()
    outcome = run_case(app, _case(backend))
    assert outcome.findings == []
    assert isinstance(outcome.response, LifespanView)
    assert (outcome.response.startup, outcome.response.shutdown, outcome.response.state_keys) == (
        "complete",
        "complete",
        ("db",),
    )
    [target] = lifespan_targets(app)
    assert target.bare is not None
    assert target.run(_case(backend, differential=True), Settings())[1] == []


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("mw", "clean"),
    [
        (A.answers_lifespan_itself, False),
        (A.swallows_startup_failure, False),
        (A.http_only, False),
        (A.fresh_state, False),
        (A.passthrough, True),
    ],
)
def test_middleware_transparency(mw: object, clean: bool, backend: Backend) -> None:
    firsts: set[str] = set()
    for target in lifespan_targets(middleware=[mw]):
        _, findings = target.run(_case(backend, differential=True), Settings())
        firsts |= {findings[0].code} if findings else set()
    # The root cause comes first (a swallowed failure also makes the app look as if it returned early).
    assert firsts == (set() if clean else {"lifespan-outcome-altered"})


def test_search_finds_and_shrinks_a_middleware_that_answers_lifespan() -> None:
    targets = lifespan_targets(middleware=[A.answers_lifespan_itself])
    result = search(targets, Settings(max_examples=60, seed=1, backends=("asyncio",)))
    assert "lifespan-outcome-altered" in {f.code for f in result.findings}


def test_lifespan_case_round_trips() -> None:
    case = _case("trio", differential=True)
    assert case_from_json(case_to_json(case)) == case

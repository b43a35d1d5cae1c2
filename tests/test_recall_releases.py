"""Issue 12's oracles on real releases that had each bug, and on the releases that fixed it.

Each app (``recallapps``, ``wsgiecho``) is the user's own app as the bug
reports describe it, fuzzed the way a user would (the whole app, one check,
``exitfirst``), in a virtualenv pinned by ``oldreleases``:

* class 1, ``exception-swallowed`` (Kludex/starlette#2812, fixed in 0.46.0):
  behind BaseHTTPMiddleware a background task's exception never reached the
  server (the bare app raises after its response) on 0.45.3; 0.46.2 is clean.
* class 2, ``exception-swallowed`` (Kludex/starlette#1459, fixed in 0.19.0):
  a StreamingResponse whose iterator raised behind BaseHTTPMiddleware hid
  the error on 0.18.0; 0.19.0 is clean.  ``truncated-response-completed``:
  the broken stream reaches the client as a complete 200 through
  BaseHTTPMiddleware since 0.46.0, whose fix for #2812 moved ``raise
  app_exc`` from the body stream to after the response, up to the newest
  release (confirmed on uvicorn 0.54 with Starlette 1.10); 0.45.3 (before
  the regression) is clean.
* class 3, ``app-background-task-lost``: the route's BackgroundTasks were
  cancelled when the client closed the connection after the response
  (Kludex/starlette#1438, fixed in 0.21.0 by #1715) on 0.20.4; and a task a
  BaseHTTPMiddleware sets on the response from ``call_next`` was never run
  on 0.38.3-0.38.4 (fixed in 0.38.5 by #2688).
* class 4, ``response-depends-on-chunking``: asgiref's WsgiToAsgi gave the
  WSGI app only the first body message (django/asgiref#115) on 3.2.1;
  3.2.2 reads the whole body.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from oldreleases import run_in

# Fuzz runs in old-release virtualenvs.
pytestmark = pytest.mark.slow

PROBE = """
import json, asgifuzz
module, attr = {app!r}.split(":")
app = getattr(__import__(module), attr)
result = asgifuzz.fuzz(app, seed={seed}, backend={backend!r}, checks={checks!r}, exitfirst=True,
                       max_examples={budget}, endpoints=[])
print(json.dumps({{
    "examples": result.examples,
    "findings": [
        {{"code": f.code, "message": f.message, "target": f.case.target, "messages": f.case.message_count}}
        for f in result.findings
    ],
}}), flush=True)
import os
os._exit(0)  # asgiref 3.2's WsgiToAsgi can leave a worker thread blocked; it must not hold the exit
"""


def fuzz_in(venv: str, app: str, checks: list[str], *, backend: str = "asyncio", budget: int = 500) -> dict[str, Any]:
    proc = run_in(venv, PROBE.format(app=app, seed=3, backend=backend, checks=checks, budget=budget))
    assert proc.returncode == 0, proc.stderr[-3000:]
    report: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return report


#: (vulnerable venv, clean venv, app, code, text in the message, target)
BUGS: dict[str, tuple[str, str, str, str, str, str]] = {
    "class 1 #2812": (
        "starlette-0.45.3",
        "starlette-0.46.2",
        "recallapps:background_failure",
        "exception-swallowed",
        "route's exception (ValueError) reached the server without middleware",
        "route GET /report",
    ),
    "class 2 #1459": (
        "starlette-0.18.0",
        "starlette-0.19.0",
        "recallapps:stream_failure",
        "exception-swallowed",
        "route's exception (ConnectionError)",
        "route GET /export",
    ),
    "class 2 truncated (regression)": (
        "starlette-0.46.2",
        "starlette-0.45.3",
        "recallapps:stream_failure",
        "truncated-response-completed",
        "without middleware the 200 response broke off after 6 byte(s)",
        "route GET /export",
    ),
    "class 3 #1438": (
        "starlette-0.20.4",
        "starlette-0.21.0",
        "recallapps:route_work",
        "app-background-task-lost",
        "background task 'send_email' of the response the client received",
        "route GET /signup",
    ),
    "class 3 #2688": (
        "starlette-0.38.4",
        "starlette-0.38.5",
        "recallapps:middleware_work",
        "app-background-task-lost",
        "background task 'audit' of the response the client received never started",
        "route GET /",
    ),
    "class 4 asgiref#115": (
        "asgiref-3.2.1",
        "asgiref-3.2.2",
        "wsgiecho:app",
        "response-depends-on-chunking",
        "than in one chunk: body",
        "",
    ),
}


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_found_on_the_vulnerable_release(bug: str) -> None:
    venv, _, app, code, text, target = BUGS[bug]
    report = fuzz_in(venv, app, [code])
    (finding,) = report["findings"]
    assert finding["code"] == code and text in finding["message"], finding
    assert not target or finding["target"] == target
    assert finding["messages"] <= 2, finding  # shrunk


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_clean_on_the_fixed_release(bug: str) -> None:
    _, fixed, app, code, _, _ = BUGS[bug]
    report = fuzz_in(fixed, app, [code])
    assert report["findings"] == [], report
    assert report["examples"] == 500


def test_the_truncated_stream_is_still_completed_by_the_newest_basehttpmiddleware() -> None:
    import recallapps

    from asgifuzz import fuzz

    result = fuzz(recallapps.stream_failure, seed=3, checks=["truncated-response-completed"], exitfirst=True, endpoints=[])
    assert [f.code for f in result.findings] == ["truncated-response-completed"]

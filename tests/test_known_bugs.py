"""Real BaseHTTPMiddleware bugs besides the seed, on the releases that had them.

Each is found by asgifuzz on its own (default strategies, the five-layer
pass-through app of ``seedapp``) on a pinned release that had the bug, and
is gone on the release that fixed it:

* ``pathsend`` (Kludex/starlette#2613): under a server that offers the
  ``http.response.pathsend`` extension (Granian), a ``FileResponse`` behind
  BaseHTTPMiddleware fails ``assert message["type"] == "http.response.body"``
  in ``starlette/middleware/base.py``.  Present in 0.37.2, gone in 0.38.3.
* ``background-before-response`` (Kludex/starlette#3458, fixed by #3476 in
  1.7.0): behind BaseHTTPMiddleware a response's background task starts
  before the client has the last byte, contrary to Starlette's documented
  contract.  Present from 0.21 to 1.6.0 (0.38.3 here), gone in the newest.
"""

from __future__ import annotations

import json

import pytest
from oldreleases import run_in

import asgifuzz

PROBE = """
import json, asgifuzz, seedapp
result = asgifuzz.fuzz(seedapp.app, seed={seed}, backend={backend!r}, checks={checks!r}, exitfirst={exitfirst})
print(json.dumps({{
    "starlette": __import__("starlette").__version__,
    "examples": result.examples,
    "findings": [
        {{"code": f.code, "message": f.message, "where": f.where, "target": f.case.target}}
        for f in result.findings
    ],
}}))
"""

PATHSEND_CHECKS = ["app-raised", "exception-on-disconnect"]
BACKGROUND_CHECKS = ["background-task-before-response"]


def fuzz_in(venv: str, backend: str, checks: list[str], *, exitfirst: bool, seed: int = 3) -> dict[str, object]:
    proc = run_in(venv, PROBE.format(seed=seed, backend=backend, checks=checks, exitfirst=exitfirst))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_pathsend_assertion_found_on_0_37_2(backend: str) -> None:
    report = fuzz_in("starlette-0.37.2", backend, PATHSEND_CHECKS, exitfirst=False)
    pathsend = [f for f in report["findings"] if f["where"].startswith("starlette/middleware/base.py:")  # type: ignore[attr-defined]
                and f["message"].startswith("AssertionError")]  # fmt: skip
    assert pathsend, report
    assert all(f["target"].endswith("-> file") for f in pathsend), pathsend


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_pathsend_assertion_gone_on_0_38_3(backend: str) -> None:
    report = fuzz_in("starlette-0.38.3", backend, PATHSEND_CHECKS, exitfirst=False)
    assert report["findings"] == [], report
    assert report["examples"] == 1000


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_background_before_response_found_on_0_38_3(backend: str) -> None:
    report = fuzz_in("starlette-0.38.3", backend, BACKGROUND_CHECKS, exitfirst=True)
    (finding,) = report["findings"]  # type: ignore[misc]
    assert finding["code"] == "background-task-before-response"
    assert "started before the client had the complete response" in finding["message"]
    assert finding["target"].startswith("stack[PassThrough") and "-> background_" in finding["target"]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_background_before_response_gone_on_newest_starlette(backend: str) -> None:
    import seedapp

    result = asgifuzz.fuzz(seedapp.app, seed=3, backend=backend, checks=BACKGROUND_CHECKS)  # type: ignore[arg-type]
    assert result.examples == 1000
    assert result.findings == []

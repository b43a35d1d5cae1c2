"""The seed bug on real Starlette releases, each in its own pinned virtualenv.

starlette 0.37.2 (with anyio 4.4.0): five pass-through BaseHTTPMiddleware
layers raise ``RuntimeError: No response returned.`` when the client leaves.
asgifuzz must report it under ``exception-on-disconnect``, shrunk to at most
three client messages, within the default budget, on asyncio and on trio.
On 0.38.3 and on the newest Starlette the finding must be gone.
"""

from __future__ import annotations

import json

import pytest
from oldreleases import run_in

# Fuzz runs of the default budget (1000 examples), most in old-release virtualenvs.
pytestmark = pytest.mark.slow

PROBE = """
import json, asgifuzz, seedapp
result = asgifuzz.fuzz(seedapp.app, seed={seed}, backend={backend!r}, checks=["exception-on-disconnect"], exitfirst={exitfirst})
print(json.dumps({{
    "examples": result.examples,
    "findings": [
        {{"code": f.code, "message": f.message, "where": f.where, "messages": f.case.message_count,
          "target": f.case.target}}
        for f in result.findings
    ],
}}))
"""


def _fuzz_in(venv: str, backend: str, *, exitfirst: bool, seed: int = 7) -> dict[str, object]:
    proc = run_in(venv, PROBE.format(seed=seed, backend=backend, exitfirst=exitfirst))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_seed_bug_found_on_starlette_0_37_2(backend: str) -> None:
    report = _fuzz_in("starlette-0.37.2", backend, exitfirst=True)
    findings = report["findings"]
    assert isinstance(findings, list) and findings, report
    finding = findings[0]
    assert finding["code"] == "exception-on-disconnect"
    assert "RuntimeError: No response returned." in finding["message"]
    # The line to fix is the user's middleware calling call_next; Starlette's raise site is named too.
    assert "seedapp.py:" in finding["where"]
    assert "(raised at starlette/middleware/base.py:" in finding["message"]
    assert finding["messages"] <= 3
    assert isinstance(report["examples"], int) and report["examples"] <= 1000


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_seed_bug_gone_on_starlette_0_38_3(backend: str) -> None:
    report = _fuzz_in("starlette-0.38.3", backend, exitfirst=False)
    assert report["findings"] == [], report
    assert report["examples"] == 1000


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_seed_bug_gone_on_newest_starlette(backend: str) -> None:
    import seedapp

    import asgifuzz

    result = asgifuzz.fuzz(seedapp.app, seed=7, backend=backend, checks=["exception-on-disconnect"])
    assert result.examples == 1000
    assert result.findings == []


COMPOSE = """
import json, asgifuzz
from starlette.middleware import Middleware
from seedapp import PassThrough
result = asgifuzz.fuzz(middleware=[Middleware(PassThrough)], compose=True, endpoints=["sleeps"], seed=1,
                       max_examples=600, checks=["exception-on-disconnect"])
print(json.dumps([len(f.case.stack) for f in result.findings]))
"""


def test_composed_stacks_shrink_to_the_smallest_failing_depth() -> None:
    """On asyncio the seed bug needs four layers: the shrunk stack has exactly four."""
    proc = run_in("starlette-0.37.2", COMPOSE)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [4]

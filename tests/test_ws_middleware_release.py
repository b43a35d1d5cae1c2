"""A real websocket middleware bug, found on the release that had it and gone on the fix, confirmed on uvicorn.

aioprometheus 23.3.0's ``MetricsMiddleware`` handles the ``lifespan`` and
``http`` scopes and, for any other scope, returns without calling the app
(claws/aioprometheus#93): a websocket handshake is never answered, so uvicorn
answers HTTP 500 ("ASGI callable returned without completing handshake") and
the client's connection fails.  23.12.0 passes websocket scopes on (#94, #97).
asgifuzz finds it as ``websocket-handshake-incomplete`` on the app's own
websocket route on 23.3.0, finds nothing on 23.12.0, and ``confirm`` replays
the found case on uvicorn 0.54 (a wsproto client on loopback): confirmed on
23.3.0, not reproduced on 23.12.0.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from oldreleases import run_in

pytestmark = pytest.mark.slow

PROBE = """
import json
import asgifuzz, metricsapp
from asgifuzz.confirm import confirm_case
# The app's own routes (and lifespan): asgifuzz's endpoint stacks would build a second MetricsMiddleware,
# whose metrics clash in aioprometheus' global registry (a process serves one instance).
result = asgifuzz.fuzz(metricsapp.app, seed=1, max_examples=300, backend="asyncio", endpoints=[])
findings = [f for f in result.findings if f.severity == "error"]
out = {"findings": [{"code": f.code, "target": f.case.target, "message": f.message} for f in findings], "verdicts": []}
ws = [f for f in findings if f.code == "websocket-handshake-incomplete" and f.case.target.startswith("route ")]
case = ws[0].case if ws else None
if case is None and REPLAY:
    # The fixed release: replay the vulnerable release's case (the same connection) against it.
    from asgifuzz._case import Case, WsText, WsClose
    case = Case(target="route WEBSOCKET /ws", scope={"type": "websocket", "path": "/ws", "query_string": b"",
        "headers": [], "subprotocols": []}, body=b"", actions=(WsText("hi"), WsClose(1000)))
if case is not None:
    from asgifuzz._corpus import CorpusCase
    cc = CorpusCase(case=case, app="metricsapp:app", invariant="websocket-handshake-incomplete",
                    expect="websocket-handshake-incomplete")
    for v in confirm_case(cc, servers=["uvicorn"], tries=1, timeout=3.0, app_dir="."):
        out["verdicts"].append({"outcome": v.outcome, "verdict": v.verdict, "reason": v.reason,
                                "log": list(v.log)})
print(json.dumps(out))
"""


def _probe(venv: str, *, replay: bool) -> dict[str, Any]:
    proc = run_in(venv, PROBE.replace("REPLAY", repr(replay)), timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return doc


def test_found_and_confirmed_on_23_3_0() -> None:
    doc = _probe("aioprometheus-23.3.0", replay=False)
    route = [f for f in doc["findings"] if f["target"] == "route WEBSOCKET /ws"]
    assert [f["code"] for f in route] == ["websocket-handshake-incomplete"], doc["findings"]
    [verdict] = doc["verdicts"]
    assert verdict["outcome"] == "confirmed", verdict
    assert verdict["verdict"].startswith("confirmed on uvicorn 0.54.0")


def test_gone_on_23_12_0() -> None:
    doc = _probe("aioprometheus-23.12.0", replay=True)
    assert doc["findings"] == []
    [verdict] = doc["verdicts"]
    assert verdict["outcome"] == "not-reproduced", verdict

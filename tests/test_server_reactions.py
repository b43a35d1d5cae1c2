"""Each protocol invariant's claimed server reactions, measured on the real servers on loopback.

For every invariant of the protocol group, ``reaction_apps`` has a tiny app
that breaks it and then carries on as a correct app would.  Each installed
server (uvicorn, hypercorn, daphne, granian) serves it on 127.0.0.1 and a
raw client (HTTP) or wsproto client (websocket) talks to it; the reaction is

* ``rejects``: the server logged an error or a traceback about it, or refused
  the websocket handshake;
* ``tolerates``: nothing logged, and the client got what the app meant
  (HTTP 200 ``ok``; the websocket accepted, ``ok``, closed 1000);
* ``harms``: nothing logged, and the client got something else (a truncated
  body, an injected header, a failed handshake, a hang).

The test fails when the measurement contradicts the invariant's record
(``Invariant.servers``).  Servers that are not installed are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from reaction_apps import HTTP, LIFESPAN, WEBSOCKET

from asgifuzz._case import Case, WsClose
from asgifuzz.checks.invariants import INVARIANTS
from asgifuzz.confirm._client import replay_over_socket
from asgifuzz.confirm._logs import has_traceback, protocol_markers
from asgifuzz.confirm._servers import SERVERS, LaunchSpec, RunningServer, installed_servers, start_server
from asgifuzz.confirm._ws_client import WsClientView, replay_websocket

pytestmark = pytest.mark.slow

TESTS = str(Path(__file__).resolve().parent)
INSTALLED = installed_servers()
_ERROR = re.compile(r"\berror\b|\bexception\b", re.IGNORECASE)


def _errors(lines: list[str]) -> list[str]:
    """The log lines in which the server complains."""
    if has_traceback(lines):
        return [line for line in lines if _ERROR.search(line)] or ["a traceback"]
    return protocol_markers(lines) + [line for line in lines if _ERROR.search(line)]


def _server(name: str, **env: str) -> RunningServer:
    if name not in INSTALLED:
        pytest.skip(f"{name} is not installed")
    launch = LaunchSpec(app="reaction_apps:app", paths=(TESTS,), env=tuple(env.items()))
    return start_server(SERVERS[name], INSTALLED[name], launch)


@pytest.fixture(scope="module", params=list(SERVERS))
def served(request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    server = _server(request.param)
    try:
        yield server
    finally:
        server.stop()


def _http_reaction(server: RunningServer, code: str) -> tuple[str, str]:
    mark = server.log.mark()
    scope = {"type": "http", "method": "GET", "path": f"/{code}", "query_string": b"", "headers": []}
    view = replay_over_socket(Case(target="app", scope=scope, body=b"", actions=()), server.port, timeout=2.0)
    server.log.settle(quiet=0.4, limit=3.0)
    errors = _errors(server.log.since(mark))
    evidence = f"client: {view.summary()}; headers {list(view.headers)}; log: {errors[:2]}"
    if errors:
        return "rejects", evidence
    status = HTTP[code][1][0].get("status")
    meant = (204, b"") if status == 204 else (200, b"ok")
    injected = any(name.lower() == "x-injected" for name, _ in view.headers)
    if view.complete and (view.status, view.body) == meant and not injected and view.error is None:
        return "tolerates", evidence
    return "harms", evidence


def _ws_reaction(server: RunningServer, code: str) -> tuple[str, str]:
    mark = server.log.mark()
    scope = {"type": "websocket", "path": f"/{code}", "query_string": b"", "headers": [], "subprotocols": []}
    view: WsClientView = replay_websocket(
        Case(target="app", scope=scope, body=b"", actions=(WsClose(1000),) if code == "websocket-not-closed" else ()),
        server.port,
        timeout=2.0,
    )
    server.log.settle(quiet=0.4, limit=3.0)
    errors = _errors(server.log.since(mark))
    evidence = f"client: {view.summary()}; log: {errors[:2]}"
    if errors or view.handshake == "rejected":
        return "rejects", evidence
    meant = view.handshake == "accepted" and len(view.received) == 1 and view.received[0][1] in ("ok", b"ok")
    if code != "websocket-not-closed":
        # (An app that returns with the socket open gets it closed however the server ends it: not judged.)
        meant = meant and view.server_closed and view.close_code == 1000 and view.error is None
    return ("tolerates" if meant else "harms"), evidence


HTTP_CODES = [c for c in INVARIANTS if INVARIANTS[c].group == "protocol" and INVARIANTS[c].protocol == "http"]
WS_CODES = list(WEBSOCKET)


def test_every_protocol_invariant_has_a_violating_app() -> None:
    protocol = {c for c, inv in INVARIANTS.items() if inv.group == "protocol"}
    assert protocol == set(HTTP) | {c for c in WEBSOCKET if INVARIANTS[c].group == "protocol"} | set(LIFESPAN)


def _check(served: RunningServer, code: str, measured: str, evidence: str) -> None:
    claim = INVARIANTS[code].reaction(served.spec.name)
    assert claim is not None
    # Whether a server that broke the conversation also logged it ("rejects") or not ("harms") depends on
    # when its log line is flushed (granian's failed close shows in some runs only): both mean the client
    # suffers, which is what an error's severity rests on; tolerating is told apart exactly.
    assert _kind(claim.reaction) == _kind(measured), (
        f"{code} on {served.label}: claimed {claim.reaction}, measured {measured}: {evidence}"
    )


def _kind(reaction: str) -> str:
    return "suffers" if reaction in ("rejects", "harms") else reaction


@pytest.mark.parametrize("code", HTTP_CODES)
def test_http_reaction(served: RunningServer, code: str) -> None:
    _check(served, code, *_http_reaction(served, code))


@pytest.mark.parametrize("code", WS_CODES)
def test_websocket_reaction(served: RunningServer, code: str) -> None:
    _check(served, code, *_ws_reaction(served, code))


@pytest.mark.parametrize("name", [n for n in SERVERS if n != "daphne"])  # daphne has no lifespan
@pytest.mark.parametrize("code", LIFESPAN)
def test_lifespan_reaction(name: str, code: str) -> None:
    server = _server(name, ASGIFUZZ_REACTION_LIFESPAN=code)
    try:
        server.log.settle(quiet=0.4, limit=3.0)
    finally:
        server.stop()
    lines = server.log.since(0)
    started = any("startup done" in line for line in lines)
    errors = _errors(lines)
    if code == "lifespan-invalid-message":
        # A failed shutdown is logged as an error by design; only a crash on the non-str message rejects it.
        errors = ["a traceback"] if has_traceback(lines) else []
    measured = "rejects" if errors or not started else "tolerates"
    evidence = f"startup done: {started}; log: {errors[:3]}"
    claim = INVARIANTS[code].reaction(name)
    assert claim is not None
    assert claim.reaction == measured, f"{code} on {name}: claimed {claim.reaction}, measured {measured}: {evidence}"

"""Findings and run reports built by hand, for the tests of ``asgifuzz.report``."""

from __future__ import annotations

from asgifuzz import INVARIANTS, Case, Finding, Settings
from asgifuzz._case import Chunk, Disconnect
from asgifuzz._finding import TraceEvent
from asgifuzz.report import RunReport
from asgifuzz.report.base import FailOn


def finding(code: str, message: str = "", *, where: str = "app.py:7 in app", target: str = "app") -> Finding:
    case = Case(
        target=target,
        scope={"type": "http", "method": "POST", "path": "/upload", "headers": [(b"content-type", b"text/plain")]},
        body=b"hello",
        actions=(Chunk(2), Disconnect()),
    )
    trace = [
        TraceEvent(0, 0.0, "server", "call", None, "POST /upload"),
        TraceEvent(1, 0.0, "server", "receive", {"type": "http.request", "body": b"he", "more_body": True}),
        TraceEvent(2, 0.5, "app", "returned", None, "returned"),
    ]
    return Finding(INVARIANTS[code], message or f"{code} happened", where=where, trace=trace, case=case)


def report(findings: list[Finding], *, fail_on: FailOn = "error", interrupted: bool = False) -> RunReport:
    return RunReport(
        findings=findings,
        target="main:app",
        seed=1,
        examples=100,
        elapsed=2.0,
        settings=Settings(),
        fail_on=fail_on,
        interrupted=interrupted,
    )

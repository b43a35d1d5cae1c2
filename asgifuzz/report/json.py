"""The ``--json`` document: one JSON object for the whole run.

A finding's ``case`` is ``asgifuzz._case.case_to_json``, the corpus codec,
so ``case_from_json`` reads it back (a composed stack keeps its ``stack``)
and the case replays exactly as a corpus file would.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from asgifuzz import __version__
from asgifuzz._case import case_to_json
from asgifuzz._finding import Finding
from asgifuzz.report.base import RunReport

__all__ = ("JsonHandler", "finding_to_json", "report_to_json")


def finding_to_json(finding: Finding, *, replay: str | None = None) -> dict[str, Any]:
    return {
        "invariant": finding.code,
        "severity": finding.severity,
        "title": finding.invariant.title,
        "message": finding.message,
        "explanation": finding.invariant.explanation,
        "servers": finding.invariant.servers_json(),
        "where": finding.where,
        "exception": finding.exception_text() or None,
        "hits": finding.hits,
        "also_seen_on": list(finding.also),
        "confirmations": list(finding.confirmations),
        "server_behaviours": list(finding.behaviours),
        "output": finding.output or None,
        "flaky": finding.flaky,
        "case": case_to_json(finding.case) if finding.case is not None else None,
        "trace": [
            {
                "seq": e.seq,
                "time": e.time,
                "actor": e.actor,
                "kind": e.kind,
                "detail": e.detail,
                "message": json.loads(json.dumps(e.message, default=repr)) if e.message else None,
            }
            for e in finding.trace
        ],
        "replay": replay,
    }


def _shares(counts: dict[str, int]) -> dict[str, dict[str, float]]:
    """name -> examples and their share of all counted examples."""
    total = sum(counts.values()) or 1
    return {name: {"examples": n, "share": round(n / total, 4)} for name, n in sorted(counts.items())}


def _route(target: str, counts: dict[str, int]) -> dict[str, Any]:
    """One row of the coverage table; ``chunking`` says whether the chunking oracle judged the route."""
    from asgifuzz.chunking import NONDETERMINISTIC

    statuses = {k: n for k, n in counts.items() if k != NONDETERMINISTIC}
    skipped = counts.get(NONDETERMINISTIC, 0)
    return {
        "target": target,
        "examples": sum(statuses.values()),
        "statuses": dict(sorted(statuses.items())),
        "chunking": f"skipped in {skipped} example(s): not deterministic" if skipped else "compared",
    }


def report_to_json(report: RunReport) -> dict[str, Any]:
    coverage = report.coverage
    return {
        "asgifuzz": __version__,
        "target": report.target,
        "examples": report.examples,
        "elapsed": round(report.elapsed, 3),
        "seed": report.seed,
        "workers": report.workers,
        "interrupted": report.interrupted,
        "fail_on": report.fail_on,
        "exit_status": report.exit_status(),
        "coverage": {
            "steps": coverage.steps,
            "disconnect_positions": list(coverage.disconnect_positions),
            "targets": list(coverage.targets),
            "backends": list(coverage.backends),
            "stack_depths": list(coverage.stack_depths),
            "routes": [_route(target, counts) for target, counts in sorted(coverage.statuses.items())],
            "shapes": _shares(coverage.shapes),
            "server_behaviours": _shares(coverage.behaviours),
        },
        "notes": list(report.notes),
        "severity_counts": dict(report.counts()),
        "findings": [finding_to_json(f, replay=report.hint(f)) for f in report.findings],
    }


class JsonHandler:
    """Writes ``report_to_json`` to a stream (stdout for ``--json``)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def handle(self, report: RunReport) -> None:
        self.stream.write(json.dumps(report_to_json(report), indent=2, sort_keys=True) + "\n")

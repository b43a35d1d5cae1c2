"""``asgifuzz.report.json``: the ``--json`` document."""

from __future__ import annotations

import io
import json
from typing import Any

import compose_apps
from report_helpers import finding, report

from asgifuzz import Settings, fuzz
from asgifuzz._case import case_from_json
from asgifuzz._corpus import CorpusCase, replay_case
from asgifuzz.report import Coverage, RunReport
from asgifuzz.report.json import JsonHandler


def _document(rep: RunReport) -> dict[str, Any]:
    out = io.StringIO()
    JsonHandler(out).handle(rep)
    doc: dict[str, Any] = json.loads(out.getvalue())
    return doc


def test_each_finding_carries_its_severity_and_the_run_a_count_per_severity() -> None:
    doc = _document(report([finding("returned-non-none"), finding("app-raised"), finding("exception-swallowed")]))
    assert [(f["invariant"], f["severity"]) for f in doc["findings"]] == [
        ("app-raised", "error"),
        ("returned-non-none", "warning"),
        ("exception-swallowed", "warning"),
    ]
    assert doc["severity_counts"] == {"error": 1, "warning": 2}
    assert doc["fail_on"] == "error" and doc["exit_status"] == 1


def test_warnings_alone_exit_0_unless_fail_on_warning() -> None:
    assert _document(report([finding("returned-non-none")]))["exit_status"] == 0
    assert _document(report([finding("returned-non-none")], fail_on="warning"))["exit_status"] == 1


def test_a_composed_stack_finding_keeps_its_stack_and_replays_from_the_json() -> None:
    settings = Settings.create(max_examples=300, seed=3, checks=["background-task-before-response"])
    result = fuzz(middleware=compose_apps.MIDDLEWARE, compose=True, endpoints=["background_async"], settings=settings)
    rep = RunReport(
        findings=result.findings,
        target="compose_apps:MIDDLEWARE",
        seed=result.seed,
        examples=result.examples,
        elapsed=result.elapsed,
        settings=settings,
        coverage=Coverage.of(result.stats),
    )
    [entry] = _document(rep)["findings"]
    assert entry["case"]["stack"] == [0, 0]
    assert entry["case"]["target"].startswith("compose[")

    case = case_from_json(entry["case"])
    assert case == result.findings[0].case
    replayed = replay_case(CorpusCase(case=case, app=None, middleware="compose_apps:MIDDLEWARE",
                                      expect=entry["invariant"]))  # fmt: skip
    assert replayed.outcome == "still failing"

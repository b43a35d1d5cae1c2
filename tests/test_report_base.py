"""``asgifuzz.report.base``: the run report every handler reads."""

from __future__ import annotations

import pytest
from report_helpers import finding, report

from asgifuzz import UsageError
from asgifuzz.report import RunReport, check_fail_on, run_handlers


def test_findings_are_ordered_errors_first_keeping_their_order() -> None:
    rep = report([finding("returned-non-none", "w1"), finding("app-raised", "e1"), finding("exception-swallowed", "w2"),
                  finding("duplicate-response-start", "e2")])  # fmt: skip
    assert [f.message for f in rep.findings] == ["e1", "e2", "w1", "w2"]
    groups = rep.groups()
    assert [(severity, [i for i, _ in members]) for severity, members in groups] == [("error", [1, 2]), ("warning", [3, 4])]
    assert rep.counts() == {"error": 2, "warning": 2}


@pytest.mark.parametrize(
    ("codes", "fail_on", "interrupted", "status"),
    [
        ([], "error", False, 0),
        (["returned-non-none"], "error", False, 0),
        (["returned-non-none"], "warning", False, 1),
        (["app-raised"], "error", False, 1),
        (["app-raised", "returned-non-none"], "error", False, 1),
        (["returned-non-none"], "error", True, 130),
    ],
)
def test_exit_status_follows_fail_on(codes: list[str], fail_on: str, interrupted: bool, status: int) -> None:
    rep = report([finding(code) for code in codes], fail_on=check_fail_on(fail_on), interrupted=interrupted)
    assert rep.exit_status() == status


def test_fail_on_rejects_anything_but_error_and_warning() -> None:
    with pytest.raises(UsageError, match="choose 'error' or 'warning'"):
        check_fail_on("info")


def test_hints_are_keyed_by_the_finding_key_not_the_object() -> None:
    first = finding("app-raised", "boom")
    rep = report([first])
    rep.hints[first.key] = "asgifuzz replay corpus/x.json"
    # A copy of the finding (as the supervisor makes when it merges hits) finds the same hint.
    import dataclasses

    assert rep.hint(dataclasses.replace(first, hits=7)) == "asgifuzz replay corpus/x.json"


def test_handlers_run_in_order_on_the_same_report() -> None:
    seen: list[str] = []

    class First:
        def handle(self, report: RunReport) -> None:
            report.hints[report.findings[0].key] = "set by the first"
            seen.append("first")

    class Second:
        def handle(self, report: RunReport) -> None:
            seen.append(f"second saw {report.hint(report.findings[0])!r}")

    run_handlers(report([finding("app-raised")]), [First(), Second()])
    assert seen == ["first", "second saw 'set by the first'"]

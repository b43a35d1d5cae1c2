"""``asgifuzz.report.text`` and ``terminal``: one renderer for the CLI, the plugin and JUnit."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from report_helpers import finding, report
from rich.console import Console

from asgifuzz._pytest_report import report_text
from asgifuzz.report.terminal import TerminalHandler, summary_table
from asgifuzz.report.text import TextHandler, render_finding, render_report, render_trace


def test_the_app_end_event_reads_returned_once() -> None:
    lines = render_trace(finding("app-raised").trace)
    assert lines[-1].endswith("app               returned")
    assert "returned returned" not in "\n".join(lines)


def test_a_finding_names_its_severity() -> None:
    assert "    severity: warning" in render_finding(finding("returned-non-none")).splitlines()
    assert "    severity: error" in render_finding(finding("app-raised")).splitlines()


def test_the_report_has_a_heading_per_severity_errors_first() -> None:
    text = render_report(report([finding("returned-non-none", "w"), finding("app-raised", "e")]))
    lines = text.splitlines()
    error_heading = next(i for i, line in enumerate(lines) if line.startswith("== 1 error(s)"))
    warning_heading = next(i for i, line in enumerate(lines) if line.startswith("== 1 warning(s)"))
    assert error_heading < lines.index("[1] app-raised: an exception escaped the app") < warning_heading
    assert lines[warning_heading + 2].startswith("[2] returned-non-none:")
    assert "not failing" in lines[warning_heading] and "not failing" not in lines[error_heading]


def test_warnings_fail_under_fail_on_warning_and_their_heading_says_so() -> None:
    text = render_report(report([finding("returned-non-none")], fail_on="warning"))
    assert "not failing" not in text


def test_replay_hints_are_printed_under_their_finding() -> None:
    first, second = finding("app-raised", "one", where="a.py:1"), finding("app-raised", "two", where="b.py:2")
    rep = report([first, second])
    rep.hints[second.key] = "asgifuzz replay corpus/two.json"
    blocks = render_report(rep).split("\n\n")
    [block] = [b for b in blocks if "    two" in b]
    assert block.rstrip().endswith("replay: asgifuzz replay corpus/two.json")
    assert "replay:" not in next(b for b in blocks if "    one" in b)


def test_cli_terminal_report_and_plugin_failure_share_the_renderer(pytestconfig: pytest.Config, tmp_path: Path) -> None:
    rep = report([finding("returned-non-none", "w"), finding("duplicate-response-start", "e")])
    plugin_text = report_text(
        pytestconfig, rep, app_spec=None, mw_spec=None, factory=False, corpus=tmp_path, app_dir=None, project_root=tmp_path
    )
    shared = render_report(rep)  # the plugin added its "not saved" note to the report: rendered by both
    assert "note: not saved to the corpus" in shared
    assert shared in plugin_text

    out = io.StringIO()
    TerminalHandler(Console(file=out, width=200, color_system=None, highlight=False)).handle(rep)
    assert shared in out.getvalue()

    stream = io.StringIO()
    TextHandler(stream).handle(rep)
    assert stream.getvalue() == shared + "\n"


def test_summary_table_has_a_severity_column() -> None:
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(summary_table(report([finding("returned-non-none")])))
    header, row = [line for line in out.getvalue().splitlines() if "invariant" in line or "returned-non-none" in line]
    assert "severity" in header
    assert "warning" in row

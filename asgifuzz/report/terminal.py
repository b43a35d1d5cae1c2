"""The terminal report (rich): the run's summary line, the findings, a summary table, the live panel.

When stdout is not a terminal (a CI log), ``SummaryHandler`` prints one
line per finding instead and writes the full report to a file.

The findings are ``text.report_lines`` -- the very text the pytest plugin
fails a test with -- with headings coloured when the output is a terminal
(rich drops the styles by itself when it is not).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from asgifuzz import __version__
from asgifuzz._finding import Finding
from asgifuzz.checks.invariants import Severity
from asgifuzz.report.base import RunReport, write_file
from asgifuzz.report.text import render_report, severity_counts, severity_lines

__all__ = (
    "DISCONNECT_POINTS",
    "SummaryHandler",
    "TerminalHandler",
    "finding_line",
    "print_findings",
    "progress_view",
    "severity_style",
    "summary_line",
    "summary_table",
)

_STYLE: dict[Severity, str] = {"error": "bold red", "warning": "bold yellow"}


def severity_style(severity: Severity) -> str:
    """``severity`` as rich markup in its colour (red errors, yellow warnings)."""
    return f"[{_STYLE[severity]}]{severity}[/]"


def summary_line(report: RunReport) -> str:
    """``asgifuzz 0.1.0: 300 examples in 2.8s (108/s, 1 worker(s), seed 1), 3 finding(s) (2 errors, 1 warning)``."""
    rate = report.examples / report.elapsed if report.elapsed > 0 else 0.0
    by_severity = severity_counts(report)
    return (
        f"asgifuzz {__version__}: {report.examples} examples in {report.elapsed:.1f}s ({rate:,.0f}/s, "
        f"{report.workers} worker(s), seed {report.seed}), {len(report.findings)} finding(s)"
        + (f" ({by_severity})" if by_severity else "")
        + (" -- interrupted" if report.interrupted else "")
    )


def print_findings(console: Any, report: RunReport) -> None:
    """Print the run's notes and findings, grouped by severity, on a rich ``Console``."""
    from rich.text import Text

    for severity, line in severity_lines(report):
        text = Text(line)
        stripped = line.lstrip()
        if severity is not None and line.startswith(("== ", "[")):
            text.stylize(_STYLE[severity])
        elif stripped.endswith(":") and not stripped[:1].isdigit():
            text.stylize("bold")
        elif stripped.startswith("replay:"):
            text.stylize("green")
        console.print(text, highlight=False, soft_wrap=True)


def summary_table(report: RunReport) -> Any:
    """The end-of-run table: one row per distinct finding, errors first."""
    from rich.table import Table

    rate = report.examples / report.elapsed if report.elapsed > 0 else 0.0
    table = Table(
        title=f"{len(report.findings)} finding(s) in {report.examples:,} examples, {report.elapsed:.1f}s "
        f"({rate:,.0f}/s), seed {report.seed}",
        title_justify="left",
        show_lines=False,
    )
    table.add_column("#", justify="right")
    table.add_column("severity")
    table.add_column("invariant", style="bold")
    table.add_column("target")
    table.add_column("where")
    table.add_column("hits", justify="right")
    for i, f in enumerate(report.findings, 1):
        table.add_row(
            str(i),
            severity_style(f.severity),
            f.code + (" (flaky)" if f.flaky else ""),
            f.case.target if f.case is not None else "-",
            f.where or "-",
            str(f.hits),
        )
    return table


def finding_line(report: RunReport, index: int, finding: Finding) -> str:
    """One finding on one line, for CI logs: number, invariant, severity, where, what, and how to replay it."""
    target = finding.case.target if finding.case is not None else "-"
    line = f"[{index}] {finding.code}: {finding.invariant.title} ({finding.severity}) on {target}"
    if finding.where:
        line += f" at {finding.where}"
    message = finding.message.strip().splitlines()
    if message:
        line += f": {message[0]}"
    hint = report.hint(finding)
    if hint:
        line += f"; replay: {hint}"
    return line


class SummaryHandler:
    """CI logs (stdout not a terminal): the summary line, one line per finding, the full report in a file.

    The full text (every trace, exception and captured output) goes to
    ``path``, so a log holds one line per finding however much the app said.
    """

    def __init__(self, console: Any, path: str | Path) -> None:
        self.console = console
        self.path = path

    def handle(self, report: RunReport) -> None:
        head = summary_line(report)
        if report.findings:  # a clean run leaves no file behind
            write_file(self.path, head + "\n" + render_report(report) + "\n")
        self.console.print(head, highlight=False, soft_wrap=True)
        for note in report.notes:
            self.console.print(f"note: {note}", highlight=False, soft_wrap=True)
        for index, finding in enumerate(report.findings, 1):
            self.console.print(finding_line(report, index, finding), highlight=False, soft_wrap=True)
        if report.findings:
            self.console.print(f"full report: {self.path}", highlight=False, soft_wrap=True)


class TerminalHandler:
    """The CLI's report on stdout: summary line, notes, findings by severity, summary table."""

    def __init__(self, console: Any) -> None:
        self.console = console

    def handle(self, report: RunReport) -> None:
        self.console.print(summary_line(report))
        print_findings(self.console, report)
        if report.findings:
            self.console.print()
            self.console.print(summary_table(report))


DISCONNECT_POINTS = ("before-body", "mid-body", "after-body", "mid-response", "after-response")


def progress_view(
    snapshot: Any,
    *,
    target: str,
    max_examples: int | None,
    max_time: float | None,
    seed: int,
) -> Any:
    """The live progress panel: examples, speed, time, findings, coverage of the state space.

    ``max_examples`` is None for a run bounded by time alone.
    """
    from rich.panel import Panel
    from rich.progress_bar import ProgressBar
    from rich.table import Table

    elapsed = max(snapshot.elapsed, 1e-9)
    rate = snapshot.examples / elapsed
    if max_time is not None:
        left = f"{max(0.0, max_time - snapshot.elapsed):.0f}s left of {max_time:g}s"
    elif rate > 0 and max_examples is not None:
        left = f"about {max(0.0, (max_examples - snapshot.examples) / rate):.0f}s left"
    else:
        left = "starting"
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold cyan", justify="right")
    grid.add_column()
    done = snapshot.examples / max_examples if max_examples is not None else 0.0
    if max_time is not None:
        done = max(done, snapshot.elapsed / max_time)
    grid.add_row("progress", ProgressBar(total=1.0, completed=min(done, 1.0), width=40))
    budget = f" / {max_examples:,}" if max_examples is not None else ""
    grid.add_row("examples", f"{snapshot.examples:,}{budget}  ({rate:,.0f}/s)")
    grid.add_row("time", f"{snapshot.elapsed:.1f}s elapsed, {left}")
    if snapshot.findings:
        errors = sum(1 for f in snapshot.findings if f.severity == "error")
        codes = sorted({f.code for f in snapshot.findings})
        found = f"[bold red]{errors}[/] error(s), {len(snapshot.findings) - errors} warning(s): " + ", ".join(codes)
    else:
        found = "0"
    grid.add_row("findings", found)
    seen = [p for p in DISCONNECT_POINTS if p in snapshot.disconnect_positions]
    grid.add_row("disconnects", f"{len(seen)}/{len(DISCONNECT_POINTS)} points: " + (", ".join(seen) or "-"))
    grid.add_row("targets", f"{len(snapshot.targets_seen)} reached")
    extra = f"   stack depths: {', '.join(map(str, sorted(snapshot.depths_seen)))}" if snapshot.depths_seen else ""
    grid.add_row("backends", (", ".join(sorted(snapshot.backends_seen)) or "-") + extra)
    grid.add_row("workers", f"{snapshot.workers_alive} running of {snapshot.workers}")
    return Panel(grid, title=f"asgifuzz run {target}", subtitle=f"seed {seed}", expand=False)

"""Plain-text and JSON rendering of findings, shared by the CLI and the plugin."""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from typing import Any

from asgifuzz._case import case_to_json, describe_action
from asgifuzz._finding import Finding, TraceEvent

__all__ = (
    "case_to_json",
    "finding_to_json",
    "print_findings",
    "progress_view",
    "render_finding",
    "render_trace",
    "summary_table",
)

_ARROWS = {
    ("client", "chunk"): "client  -> server ",
    ("client", "disconnect"): "client  -x server ",
    ("server", "receive"): "server  -> app    ",
    ("app", "send"): "app     -> server ",
    ("server", "call"): "server  -> app    ",
    ("server", "time"): "clock            ",
}


def _short_message(message: dict[str, Any] | None) -> str:
    if message is None:
        return ""
    parts = []
    for k, v in message.items():
        if isinstance(v, bytes) and len(v) > 40:
            v = v[:40] + b"..."
        parts.append(f"{k}={v!r}" if k != "type" else repr(v))
    return "{" + ", ".join(parts) + "}"


def render_trace(trace: Sequence[TraceEvent], *, limit: int = 60) -> list[str]:
    lines = []
    events = list(trace)
    skipped = max(0, len(events) - limit)
    if skipped:
        events = events[:20] + events[-(limit - 20) :]
    for i, e in enumerate(events):
        if skipped and i == 20:
            lines.append(f"      ... {skipped} more event(s) ...")
        arrow = _ARROWS.get((e.actor, e.kind), f"{e.actor:<7}   {'':<7}")
        what = _short_message(e.message) if e.message else ""
        if e.kind in ("call",):
            what = f"app(scope) for {e.detail}"
        elif not what:
            what = f"{e.kind} {e.detail}".strip()
        elif e.detail:
            what += f"  ({e.detail})"
        lines.append(f"  {e.seq:>4} t={e.time:<7.3f} {arrow} {what}")
    return lines


def finding_to_json(finding: Finding) -> dict[str, Any]:
    return {
        "invariant": finding.code,
        "title": finding.invariant.title,
        "message": finding.message,
        "explanation": finding.invariant.explanation,
        "where": finding.where,
        "exception": finding.exception_text() or None,
        "hits": finding.hits,
        "flaky": finding.flaky,
        "case": case_to_json(finding.case) if finding.case is not None else None,
        "trace": [
            {"seq": e.seq, "time": e.time, "actor": e.actor, "kind": e.kind, "detail": e.detail,
             "message": json.loads(json.dumps(e.message, default=repr)) if e.message else None}
            for e in finding.trace
        ],
    }


def render_finding(finding: Finding, index: int = 1, *, replay_hint: str | None = None) -> str:
    inv = finding.invariant
    case = finding.case
    out = [f"[{index}] {inv.code}: {inv.title}", f"    {finding.message}"]
    if finding.where:
        out.append(f"    at {finding.where}")
    if case is not None:
        out.append(f"    target: {case.target}  (backend {case.backend}, profile {case.profile})")
        scope = case.scope
        out.append(f"    request: {scope.get('method')} {scope.get('path')} body={case.body[:60]!r}"
                   + ("..." if len(case.body) > 60 else ""))
        steps = [describe_action(a) for a in case.actions] or ["(no actions: the client sent its request and waited)"]
        out.append(f"    minimal case ({case.message_count} client message(s)):")
        out += [f"      {i + 1}. {s}" for i, s in enumerate(steps)]
    out.append("    why it matters:")
    out += ["      " + line for line in _wrap(inv.explanation, 90)]
    out.append(f"    rule: {inv.source}")
    out.append("    trace:")
    out += ["    " + line for line in render_trace(finding.trace)]
    if finding.exception is not None:
        out.append("    exception from the app:")
        out += ["      " + line for line in finding.exception_text().splitlines()[-25:]]
    if finding.flaky:
        out.append("    note: this case did not reproduce on every replay (scheduling or thread timing).")
    if replay_hint:
        out.append(f"    replay: {replay_hint}")
    return "\n".join(out)


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width)


def quote_args(args: Sequence[str]) -> str:
    return " ".join(shlex.quote(a) for a in args)


# ------------------------------------------------------ terminal (rich)
#
# The same text as ``render_finding`` (so ``run``, ``replay`` and ``show``
# share one style), with headings coloured when the output is a terminal;
# rich drops the styles by itself when it is not.


def print_findings(console: Any, findings: Sequence[Finding], hints: dict[int, str] | None = None) -> None:
    """Print each finding's report on a rich ``Console``."""
    from rich.text import Text

    for i, finding in enumerate(findings, 1):
        console.print()
        lines = render_finding(finding, i, replay_hint=(hints or {}).get(id(finding))).splitlines()
        for line in lines:
            text = Text(line)
            stripped = line.lstrip()
            if line.startswith("["):
                text.stylize("bold red")
            elif stripped.endswith(":") and not stripped.startswith(("1", "2", "3", "4", "5", "6", "7", "8", "9")):
                text.stylize("bold")
            elif stripped.startswith("replay:"):
                text.stylize("green")
            console.print(text, highlight=False, soft_wrap=True)


def summary_table(findings: Sequence[Finding], *, examples: int, elapsed: float, seed: int) -> Any:
    """The end-of-run table: one row per distinct finding."""
    from rich.table import Table

    rate = examples / elapsed if elapsed > 0 else 0.0
    table = Table(
        title=f"{len(findings)} finding(s) in {examples:,} examples, {elapsed:.1f}s ({rate:,.0f}/s), seed {seed}",
        title_justify="left",
        show_lines=False,
    )
    table.add_column("#", justify="right")
    table.add_column("invariant", style="bold")
    table.add_column("target")
    table.add_column("where")
    table.add_column("hits", justify="right")
    for i, f in enumerate(findings, 1):
        table.add_row(
            str(i),
            f.code + (" (flaky)" if f.flaky else ""),
            f.case.target if f.case is not None else "-",
            f.where or "-",
            str(f.hits),
        )
    return table


DISCONNECT_POINTS = ("before-body", "mid-body", "after-body", "mid-response", "after-response")


def progress_view(
    snapshot: Any,
    *,
    target: str,
    max_examples: int,
    max_time: float | None,
    seed: int,
) -> Any:
    """The live progress panel: examples, speed, time, findings, coverage of the state space."""
    from rich.panel import Panel
    from rich.progress_bar import ProgressBar
    from rich.table import Table

    elapsed = max(snapshot.elapsed, 1e-9)
    rate = snapshot.examples / elapsed
    if max_time is not None:
        left = f"{max(0.0, max_time - snapshot.elapsed):.0f}s left of {max_time:g}s"
    elif rate > 0:
        left = f"about {max(0.0, (max_examples - snapshot.examples) / rate):.0f}s left"
    else:
        left = "starting"
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold cyan", justify="right")
    grid.add_column()
    done = snapshot.examples / max_examples
    if max_time is not None:
        done = max(done, snapshot.elapsed / max_time)
    grid.add_row("progress", ProgressBar(total=1.0, completed=min(done, 1.0), width=40))
    grid.add_row("examples", f"{snapshot.examples:,} / {max_examples:,}  ({rate:,.0f}/s)")
    grid.add_row("time", f"{snapshot.elapsed:.1f}s elapsed, {left}")
    codes = sorted({f.code for f in snapshot.findings})
    grid.add_row(
        "findings",
        f"[bold red]{len(snapshot.findings)}[/] " + ", ".join(codes) if snapshot.findings else "0",
    )
    seen = [p for p in DISCONNECT_POINTS if p in snapshot.disconnect_positions]
    grid.add_row("disconnects", f"{len(seen)}/{len(DISCONNECT_POINTS)} points: " + (", ".join(seen) or "-"))
    grid.add_row("targets", f"{len(snapshot.targets_seen)} reached")
    extra = f"   stack depths: {', '.join(map(str, sorted(snapshot.depths_seen)))}" if snapshot.depths_seen else ""
    grid.add_row("backends", (", ".join(sorted(snapshot.backends_seen)) or "-") + extra)
    grid.add_row("workers", f"{snapshot.workers_alive} running of {snapshot.workers}")
    return Panel(grid, title=f"asgifuzz run {target}", subtitle=f"seed {seed}", expand=False)

"""Plain-text reports: one finding, one trace, a whole run grouped by severity.

Every text a person reads comes from here: the CLI's terminal report
(``terminal`` only adds colour), the pytest failure message, JUnit failure
bodies, ``asgifuzz replay -v`` and ``asgifuzz show``.
"""

from __future__ import annotations

import shlex
import textwrap
from collections.abc import Sequence
from typing import Any, TextIO

from asgifuzz._capture import trim_output
from asgifuzz._case import describe_action
from asgifuzz._finding import Finding, TraceEvent
from asgifuzz.checks.invariants import Severity
from asgifuzz.report.base import RunReport
from asgifuzz.server.profiles import behaviour_label

__all__ = (
    "TextHandler",
    "output_lines",
    "quote_args",
    "render_finding",
    "render_report",
    "render_trace",
    "report_lines",
    "request_line",
    "severity_counts",
    "severity_heading",
    "severity_lines",
)

_ARROWS = {
    ("client", "chunk"): "client  -> server ",
    ("client", "disconnect"): "client  -x server ",
    ("server", "receive"): "server  -> app    ",
    ("app", "send"): "app     -> server ",
    ("server", "call"): "server  -> app    ",
    ("server", "time"): "clock            ",
    ("layer", "receive"): "      -> layer   ",
    ("layer", "send"): "layer   ->       ",
}

#: What each severity means, under its heading.
_MEANING: dict[Severity, str] = {
    "error": "a real server rejects it, or a client gets a wrong, incomplete or no response",
    "warning": "the letter of the spec that the major servers tolerate, or a design choice",
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


def _event_text(e: TraceEvent) -> str:
    if e.kind == "call":
        return f"app(scope) for {e.detail}"
    what = _short_message(e.message) if e.message else ""
    if e.actor == "layer":
        return f"{what}  ({'received' if e.kind == 'receive' else 'sent'} by layer {e.detail})"
    if not what:
        # The app's end event carries its kind as the detail when it returned
        # ("returned"): print it once.
        return e.kind if e.detail in ("", e.kind) else f"{e.kind} {e.detail}"
    return f"{what}  ({e.detail})" if e.detail else what


def _altered_layers_only(trace: Sequence[TraceEvent]) -> list[TraceEvent]:
    """The trace without the middleware-layer events that only passed a message on unchanged.

    A layer event is kept when its message differs from the one the
    neighbouring layer (or the server) handled just before in the same
    direction: that is where a middleware altered, dropped or made up a
    message.
    """
    out: list[TraceEvent] = []
    last: dict[str, object] = {}
    for e in trace:
        if e.actor == "layer":
            if last.get(e.kind) == e.message:
                continue
            last[e.kind] = e.message
        elif (e.actor, e.kind) in (("server", "receive"), ("app", "send")):
            last["receive" if e.actor == "server" else "send"] = e.message
        out.append(e)
    return out


def render_trace(trace: Sequence[TraceEvent], *, limit: int = 60) -> list[str]:
    """The message trace, one line per event; long traces keep their first 20 and last events.

    Middleware layers show only where they changed a message (``_altered_layers_only``).
    """
    lines = []
    events = _altered_layers_only(trace)
    skipped = max(0, len(events) - limit)
    if skipped:
        events = events[:20] + events[-(limit - 20) :]
    for i, e in enumerate(events):
        if skipped and i == 20:
            lines.append(f"      ... {skipped} more event(s) ...")
        arrow = _ARROWS.get((e.actor, e.kind), f"{e.actor:<7}   {'':<7}")
        lines.append(f"  {e.seq:>4} t={e.time:<7.3f} {arrow} {_event_text(e)}")
    return lines


def what_happened(finding: Finding) -> str:
    """One sentence, generated from the trace shown: what the client did, the app's end, the response.

    Explanations of invariants are general; this sentence is true of this
    very case (who left, when, and what was waiting).
    """
    case = finding.case
    if case is not None and case.scope.get("type") == "lifespan":
        return _lifespan_happened(finding)
    if case is not None and case.scope.get("type") == "websocket":
        return _websocket_happened(finding)
    sent = chunks = 0
    left: str | None = None
    start_status: object = None
    start_late = False
    completed = False
    end = ""
    for e in finding.trace:
        if e.actor == "client" and e.kind == "chunk":
            chunks += 1
            sent += int(e.detail.split(" ", 1)[0]) if e.detail[:1].isdigit() else 0
        elif e.actor == "client" and e.kind == "disconnect" and left is None:
            why = "gave up waiting for the response" if "gave up" in e.detail else "disconnected"
            left = f"{why} at t={e.time:.3f}"
        elif e.actor == "app" and e.kind == "send" and e.message:
            if e.message.get("type") == "http.response.start" and start_status is None:
                start_status = e.message.get("status")
                start_late = e.detail == "client gone"
            if e.message.get("type") == "http.response.body" and not e.message.get("more_body", False):
                completed = True
        elif e.actor == "app" and e.kind in ("returned", "raised", "hung") and not end:
            end = f"the app {'raised ' + e.detail if e.kind == 'raised' else e.kind} at t={e.time:.3f}"
    total = len(case.body) if case is not None else sent
    client = f"The client sent {sent} of {total} body byte(s)" + (f" in {chunks} chunk(s)" if chunks > 1 else "")
    client += f" and {left}" if left else " and waited for the response"
    if start_status is None:
        response = "no response had started"
    elif start_late:
        response = f"the app answered {start_status} only after the client had left"
    else:
        response = f"the response ({start_status}) " + ("completed" if completed else "never completed")
    return "; ".join(p for p in (client, end or "the app was still running at the end", response) if p) + "."


def _app_end(finding: Finding) -> str:
    return next(
        (
            f"the app {'raised ' + e.detail if e.kind == 'raised' else e.kind} at t={e.time:.3f}"
            for e in finding.trace
            if e.actor == "app" and e.kind in ("returned", "raised", "hung")
        ),
        "the app was still running at the end",
    )


def _runs(types: list[str]) -> str:
    """``a, b x3, c``: the message types in order, repeats counted."""
    out: list[tuple[str, int]] = []
    for t in types:
        if out and out[-1][0] == t:
            out[-1] = (t, out[-1][1] + 1)
        else:
            out.append((t, 1))
    return ", ".join(t if n == 1 else f"{t} x{n}" for t, n in out)


def _app_sent(finding: Finding) -> list[str]:
    return [str(e.message.get("type")) for e in finding.trace if e.actor == "app" and e.kind == "send" and e.message]


def _lifespan_happened(finding: Finding) -> str:
    """The lifespan's sentence: what the server asked, what the app replied, how the app ended."""
    asked = [e.message["type"] for e in finding.trace if e.actor == "server" and e.kind == "lifespan" and e.message]
    replied = _app_sent(finding)
    server = f"The server sent {', '.join(asked)}" if asked else "The server sent nothing yet"
    app = f"the app replied {_runs(replied)}" if replied else "the app replied nothing"
    return f"{server}; {app}; {_app_end(finding)}."


def _websocket_happened(finding: Finding) -> str:
    """The websocket's sentence: the client's frames and how it left, what the app sent, how the app ended."""
    frames = sum(1 for e in finding.trace if e.actor == "client" and e.kind == "frame")
    left = next(
        (
            f"{'closed' if e.kind == 'close' else 'dropped the connection'} at t={e.time:.3f}"
            for e in finding.trace
            if e.actor == "client" and e.kind in ("close", "disconnect")
        ),
        "stayed connected",
    )
    sent = _app_sent(finding)
    app = f"the app sent {_runs(sent)}" if sent else "the app sent nothing"
    return f"The client connected, sent {frames} frame(s) and {left}; {app}; {_app_end(finding)}."


def request_line(case: Any, *, max_headers: int = 8, preview: int = 60) -> str:
    """The request of ``case`` on one line: method, path and query, headers, a body preview.

    ``POST /upload?x=1  [content-type: application/json; content-length: 12]  body 12 B: b'{"a": 1}...'``
    """
    scope = case.scope
    if scope.get("type") == "lifespan":
        return "(lifespan: no request)"
    query = scope.get("query_string") or b""
    method = scope.get("method") or ("WEBSOCKET" if scope.get("type") == "websocket" else "?")
    target = f"{method} {scope.get('path')}" + (f"?{query.decode('latin-1')}" if query else "")
    pairs = [
        f"{name.decode('latin-1')}: {_clip(value.decode('latin-1'), 40)}"
        for name, value in scope.get("headers", [])
    ]
    if len(pairs) > max_headers:
        pairs = [*pairs[:max_headers], f"+{len(pairs) - max_headers} more"]
    headers = f"  [{'; '.join(pairs)}]" if pairs else "  [no headers]"
    body: bytes = case.body
    shown = f"{body[:preview]!r}" + ("..." if len(body) > preview else "")
    return f"{target}{headers}  body {len(body)} B" + (f": {shown}" if body else "")


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def render_finding(finding: Finding, index: int = 1, *, replay_hint: str | None = None) -> str:
    """One finding: what broke, its severity, the minimal case, why it matters, the trace, the replay."""
    inv = finding.invariant
    case = finding.case
    out = [f"[{index}] {inv.code}: {inv.title}", f"    {finding.message}", f"    severity: {inv.severity}"]
    if finding.where:
        out.append(f"    at {finding.where}")
    if case is not None:
        out.append(
            f"    target: {case.target}  (backend {case.backend}, server {behaviour_label(case.profile, case.server)})"
        )
        if finding.behaviours:
            out.append(f"    shows under: {', '.join(finding.behaviours)}")
        if finding.also:
            shown = ", ".join(finding.also[:6]) + (", ..." if len(finding.also) > 6 else "")
            out.append(f"    also seen on {len(finding.also)} more target(s): {shown}")
        out.append(f"    request: {request_line(case)}")
        out.append(f"    what happened: {what_happened(finding)}")
        steps = [describe_action(a) for a in case.actions] or ["(no actions: the client sent its request and waited)"]
        out.append(f"    minimal case ({case.message_count} client message(s)):")
        out += [f"      {i + 1}. {s}" for i, s in enumerate(steps)]
    out.append("    why it matters:")
    out += ["      " + line for line in textwrap.wrap(inv.explanation, 90)]
    out.append(f"    rule: {inv.source}")
    out.append(f"    real servers: {inv.servers_line()}")
    out.append("    trace:")
    out += ["    " + line for line in render_trace(finding.trace)]
    if finding.exception is not None:
        out.append("    exception from the app:")
        out += ["      " + line for line in finding.exception_text().splitlines()[-25:]]
    out += output_lines(finding)
    for line in finding.confirmations:
        out.append(f"    real server: {line}")
    if finding.flaky:
        out.append("    note: this case did not reproduce on every replay (scheduling or thread timing).")
    if replay_hint:
        out.append(f"    replay: {replay_hint}")
    return "\n".join(out)


#: Lines of the app's captured output shown with a finding (the full kept text is in the JSON and HTML reports).
OUTPUT_SHOWN_LINES = 30


def _fold_tracebacks(text: str) -> str:
    """Each traceback the app logged as one line (its frames are long and the exception line follows)."""
    out: list[str] = []
    frames = 0
    for line in text.splitlines():
        if frames and line[:1].isspace():
            frames += 1
            continue
        if frames:
            out[-1] = f"Traceback ({frames - 1} line(s) of frames, in the JSON and HTML reports)"
            frames = 0
        if line.startswith("Traceback (most recent call last):"):
            frames = 1
        out.append(line)
    if frames:
        out[-1] = f"Traceback ({frames - 1} line(s) of frames, in the JSON and HTML reports)"
    return "\n".join(out)


def output_lines(finding: Finding, *, limit: int = OUTPUT_SHOWN_LINES) -> list[str]:
    """The app's captured logging and prints, its last ``limit`` lines, as pytest shows a captured log."""
    if not finding.output:
        return []
    shown, left_out = trim_output(_fold_tracebacks(finding.output), lines=limit)
    head = "    captured output of the app (logging, stdout, stderr)"
    head += f", last {len(shown)} line(s), {left_out} earlier not shown:" if left_out else ":"
    return [head, *("      " + line for line in shown)]


def severity_heading(severity: Severity, count: int, *, failing: bool) -> str:
    """The heading above one severity's findings, e.g. ``== 2 error(s): ... ==``."""
    verdict = "" if failing else "; reported, not failing the run"
    return f"== {count} {severity}(s): {_MEANING[severity]}{verdict} =="


def severity_lines(report: RunReport) -> list[tuple[Severity | None, str]]:
    """``report_lines`` with the severity group each line belongs to (None for the notes)."""
    out: list[tuple[Severity | None, str]] = [(None, f"note: {note}") for note in report.notes]
    for severity, members in report.groups():
        failing = report.fails(members[0][1])
        out += [(severity, ""), (severity, severity_heading(severity, len(members), failing=failing))]
        for index, finding in members:
            out.append((severity, ""))
            text = render_finding(finding, index, replay_hint=report.hint(finding))
            out += [(severity, line) for line in text.splitlines()]
    return out


def report_lines(report: RunReport) -> list[str]:
    """The findings of a run, grouped by severity (errors first), each group under a heading.

    Blank lines separate the headings and the findings; the notes of the run
    come first.
    """
    return [line for _, line in severity_lines(report)]


def render_report(report: RunReport) -> str:
    return "\n".join(report_lines(report))


def severity_counts(report: RunReport) -> str:
    """``2 errors, 1 warning`` (only the severities found; empty when nothing was found)."""
    return ", ".join(f"{n} {s}{'' if n == 1 else 's'}" for s, n in report.counts().items() if n)


def quote_args(args: Sequence[str]) -> str:
    return " ".join(shlex.quote(a) for a in args)


class TextHandler:
    """Writes ``render_report`` to a text stream (the pytest failure message, a log file)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def handle(self, report: RunReport) -> None:
        text = render_report(report)
        if text:
            self.stream.write(text + "\n")

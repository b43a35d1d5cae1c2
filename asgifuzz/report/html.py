"""The HTML report (``--html FILE``, ``asgifuzz show CASE --html FILE``): each finding as a picture.

Every finding's minimal case is drawn as a sequence diagram (``diagram``):
client, server, each middleware layer, the endpoint, every message, and the
point where the invariant broke; a transparency finding also gets the bare
run (the same case without the user's middleware) beside it, its events
that the stack run lacks shaded.  Around the pictures: the same facts as
the text report (what happened, the minimal case, why it matters, the
app's exception and captured output, the replay command).

One self-contained file: inline CSS and SVG, no script, nothing fetched.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from asgifuzz._case import Case, describe_action
from asgifuzz._finding import Finding, TraceEvent
from asgifuzz.report.base import RunReport, write_file
from asgifuzz.report.diagram import sequence_svg
from asgifuzz.report.text import severity_counts, what_happened
from asgifuzz.server.profiles import behaviour_label

__all__ = ("HtmlHandler", "case_document", "finding_section", "render_html")

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #24292f; margin: 0 2rem 3rem; }
h1 { font-size: 1.5rem; margin: 1.2rem 0 .3rem; }
h2 { font-size: 1.15rem; margin: 0 0 .4rem; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: .6rem .8rem; overflow-x: auto; }
.summary { color: #57606a; }
.note { color: #9a6700; }
section.finding { border: 1px solid #d0d7de; border-left: 6px solid #8c959f; border-radius: 6px; padding: 1rem 1.2rem;
  margin: 1.2rem 0; }
section.finding.error { border-left-color: #cf222e; }
section.finding.warning { border-left-color: #d4a72c; }
.badge { display: inline-block; border-radius: 999px; padding: 0 .6rem; font-size: 12px; font-weight: 600;
  vertical-align: middle; color: #fff; background: #8c959f; }
.badge.error { background: #cf222e; } .badge.warning { background: #bf8700; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: .6rem 0; }
dl.facts dt { color: #57606a; } dl.facts dd { margin: 0; }
.diagrams { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; margin: .8rem 0; }
figure { margin: 0; }
figcaption { font-weight: 600; margin-bottom: .3rem; }
svg.sequence { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; }
svg text { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
svg .msg, svg .note { font-size: 11px; } svg .seq { font-size: 10px; fill: #8c959f; }
svg .lane-title { font-size: 12px; font-weight: 600; fill: #24292f; } svg .lane-sub { font-size: 10px; fill: #57606a; }
svg .broke { font-size: 12px; font-weight: 600; }
svg g.row:hover line { stroke-width: 3; }
.legend span { margin-right: 1rem; white-space: nowrap; } .legend i { display: inline-block; width: 1.4rem;
  height: 3px; vertical-align: middle; margin-right: .3rem; }
"""

_LEGEND = (
    ("#1f6feb", "client to server"),
    ("#1a7f37", "server to app"),
    ("#6e7781", "a layer passed it on"),
    ("#d4760a", "a layer changed it"),
    ("#8250df", "app to server"),
    ("#cf222e", "disconnect, exception, the broken invariant"),
)


def _e(value: object) -> str:
    return html.escape(str(value))


def _endpoint_name(case: Case | None) -> str:
    if case is None:
        return ""
    if " -> " in case.target:
        return case.target.rsplit(" -> ", 1)[1]
    return "route" if case.target.startswith("route") else ""


def _signature(e: TraceEvent) -> tuple[str, str, str]:
    kind = str(e.message.get("type", "")) if e.message else e.detail.split(" ", 1)[0]
    return (e.actor, e.kind, kind)


def _only_in(reference: Sequence[TraceEvent], trace: Sequence[TraceEvent]) -> frozenset[int]:
    """Sequence numbers of the events of ``reference`` the other run has no counterpart of."""
    seen = {_signature(e) for e in trace if e.actor != "layer"}
    return frozenset(e.seq for e in reference if e.actor != "layer" and _signature(e) not in seen)


def _request(case: Case) -> str:
    scope = case.scope
    query = scope.get("query_string") or b""
    line = f"{scope.get('method', scope.get('type', ''))} {scope.get('path', '')}"
    if query:
        line += "?" + (query.decode("latin-1") if isinstance(query, bytes) else str(query))
    headers = [
        f"{n.decode('latin-1') if isinstance(n, bytes) else n}: {v.decode('latin-1') if isinstance(v, bytes) else v}"
        for n, v in scope.get("headers", [])
    ]
    body = f"body: {len(case.body)} byte(s) {case.body[:120]!r}" + ("..." if len(case.body) > 120 else "")
    return "\n".join([line, *headers, body])


def _diagrams(finding: Finding) -> str:
    endpoint = _endpoint_name(finding.case)
    broke = f"{finding.code}: {finding.message}"
    figures = []
    caption = "the minimal case, behind the stack" if finding.reference_trace is not None else "the minimal case"
    figures.append(
        f"<figure><figcaption>{_e(caption)}</figcaption>"
        f"{sequence_svg(finding.trace, endpoint=endpoint, broke=broke)}</figure>"
    )
    if finding.reference_trace is not None:
        shaded = _only_in(finding.reference_trace, finding.trace)
        figures.append(
            "<figure><figcaption>"
            + _e("the same case without the user's middleware (bare run)")
            + (", shaded: what the stack run lacks" if shaded else "")
            + f"</figcaption>{sequence_svg(finding.reference_trace, endpoint=endpoint, highlight=shaded, css_class='sequence bare')}"
            "</figure>"
        )
    legend = "".join(f'<span><i style="background:{c}"></i>{_e(t)}</span>' for c, t in _LEGEND)
    return f'<div class="diagrams">{"".join(figures)}</div><p class="legend">{legend}</p>'


def finding_section(finding: Finding, index: int = 1, *, replay_hint: str | None = None) -> str:
    """One finding as an HTML ``<section>``: its facts, its diagram(s), its exception and output."""
    inv = finding.invariant
    case = finding.case
    facts: list[tuple[str, str]] = []
    if finding.where:
        facts.append(("at", f"<code>{_e(finding.where)}</code>"))
    if case is not None:
        facts.append(("target", f"<code>{_e(case.target)}</code> (backend {_e(case.backend)}, server {_e(behaviour_label(case.profile, case.server))})"))
        if finding.also:
            facts.append(("also seen on", _e(", ".join(finding.also))))
        facts.append(("request", f'<pre class="request">{_e(_request(case))}</pre>'))
        facts.append(("what happened", _e(what_happened(finding))))
        steps = [describe_action(a) for a in case.actions] or ["(no actions: the client sent its request and waited)"]
        facts.append(("minimal case", "<ol>" + "".join(f"<li>{_e(s)}</li>" for s in steps) + "</ol>"))
    facts.append(("hits", str(finding.hits) + (" (flaky: did not reproduce on every replay)" if finding.flaky else "")))
    parts = [
        f'<section class="finding {_e(inv.severity)}" id="finding-{index}">',
        f'<h2>[{index}] {_e(inv.code)}: {_e(inv.title)} <span class="badge {_e(inv.severity)}">{_e(inv.severity)}</span></h2>',
        f"<p>{_e(finding.message)}</p>",
        '<dl class="facts">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts) + "</dl>",
        _diagrams(finding),
        f"<p><strong>Why it matters.</strong> {_e(inv.explanation)} <em>Rule: {_e(inv.source)}</em></p>",
    ]
    if finding.exception is not None:
        parts.append(f"<h3>Exception from the app</h3><pre>{_e(finding.exception_text())}</pre>")
    if finding.output:
        lines = finding.output.count("\n") + 1
        parts.append(
            f"<details{' open' if lines <= 40 else ''}><summary>Captured output of the app (logging, stdout, stderr): "
            f"{lines} line(s)</summary><pre>{_e(finding.output)}</pre></details>"
        )
    parts += [f"<p>Real server: {_e(line)}</p>" for line in finding.confirmations]
    if replay_hint:
        parts.append(f"<p>Replay: <code>{_e(replay_hint)}</code></p>")
    parts.append("</section>")
    return "\n".join(parts)


def _document(title: str, body: Sequence[str]) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(title)}</title>",
            f"<style>{_CSS}</style>",
            "</head><body>",
            *body,
            "</body></html>",
            "",
        ]
    )


def render_html(report: RunReport) -> str:
    """A run's report as one HTML document."""
    from asgifuzz.report.terminal import summary_line

    body = [f"<h1>asgifuzz: {_e(report.target)}</h1>", f'<p class="summary">{_e(summary_line(report))}</p>']
    body += [f'<p class="note">note: {_e(note)}</p>' for note in report.notes]
    if not report.findings:
        body.append("<p>No findings.</p>")
    else:
        counts = severity_counts(report)
        body.append(f"<p>{len(report.findings)} finding(s): {_e(counts)}.</p><ol>")
        body += [
            f'<li><a href="#finding-{i}">{_e(f.code)}</a> ({_e(f.severity)}) on <code>'
            f"{_e(f.case.target if f.case is not None else '-')}</code></li>"
            for i, f in enumerate(report.findings, 1)
        ]
        body.append("</ol>")
        body += [finding_section(f, i, replay_hint=report.hint(f)) for i, f in enumerate(report.findings, 1)]
    return _document(f"asgifuzz report: {report.target}", body)


def case_document(
    title: str, *, finding: Finding | None, trace: Sequence[TraceEvent], case: Case, heading: Sequence[str] = ()
) -> str:
    """One corpus case (``asgifuzz show --html``): its finding's section, or the diagram of a passing replay."""
    body = [f"<h1>{_e(title)}</h1>", *(f'<p class="summary">{_e(line)}</p>' for line in heading)]
    if finding is not None:
        body.append(finding_section(finding))
    else:
        body += [
            f'<dl class="facts"><dt>request</dt><dd><pre class="request">{_e(_request(case))}</pre></dd></dl>',
            ('<div class="diagrams"><figure><figcaption>the replayed case (no invariant broke)</figcaption>'
            f"{sequence_svg(trace, endpoint=_endpoint_name(case))}</figure></div>"),
        ]
    return _document(title, body)


class HtmlHandler:
    """Writes ``render_html`` to ``path`` (``--html FILE``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = path

    def handle(self, report: RunReport) -> None:
        write_file(self.path, render_html(report))

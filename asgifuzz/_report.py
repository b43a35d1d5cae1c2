"""Plain-text and JSON rendering of findings, shared by the CLI and the plugin."""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from typing import Any

from asgifuzz._case import Case, action_to_json, bytes_to_json, describe_action, scope_to_json
from asgifuzz._finding import Finding, TraceEvent

__all__ = ("case_to_json", "finding_to_json", "render_finding", "render_trace")

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


def case_to_json(case: Case) -> dict[str, Any]:
    return {
        "target": case.target,
        "scope": scope_to_json(case.scope),
        "body": bytes_to_json(case.body),
        "actions": [action_to_json(a) for a in case.actions],
        "backend": case.backend,
        "profile": case.profile,
        "schedule_seed": case.schedule_seed,
        "differential": case.differential,
    }


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

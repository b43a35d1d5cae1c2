"""Findings, cases and statistics made fit to cross a process boundary (pickled).

App exceptions become ``RemoteException`` text (tracebacks do not pickle and
the app's classes may not import in the parent); messages in traces and
scopes become plain data (unknown objects become their ``repr``).
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from asgifuzz._case import Case
from asgifuzz._finding import Finding, RemoteException, TraceEvent
from asgifuzz.supervisor.run import Snapshot

__all__ = ("plain", "portable_case", "portable_events", "portable_finding", "snapshot_of")


def plain(value: Any, depth: int = 0) -> Any:
    """``value`` as plain picklable data (unknown objects become their repr)."""
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return value
    if depth > 8:
        return _safe_repr(value)
    if isinstance(value, dict):
        return {(k if isinstance(k, str) else _safe_repr(k)): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [plain(v, depth + 1) for v in value]
        return items if isinstance(value, list) else tuple(items)
    return _safe_repr(value)


def _safe_repr(value: object) -> str:
    try:
        return repr(value)[:500]
    except Exception:
        return f"<unrepresentable {type(value).__name__}>"


def portable_events(events: Sequence[TraceEvent] | None) -> list[TraceEvent] | None:
    if events is None:
        return None
    out = []
    for e in list(events):
        message = plain(e.message) if e.message is not None else None
        out.append(TraceEvent(e.seq, e.time, e.actor, e.kind, message if isinstance(message, dict) else None, e.detail))
    return out


def portable_case(case: Case | None) -> Case | None:
    if case is None:
        return None
    return replace(case, scope=plain(dict(case.scope)))


def portable_finding(finding: Finding) -> Finding:
    """A copy of ``finding`` that pickles: exception as text, messages as plain data."""
    exc = finding.exception
    if exc is not None and not isinstance(exc, RemoteException):
        exc = RemoteException(type(exc).__qualname__, finding.exception_text())
    copy = Finding(
        finding.invariant,
        str(finding.message),
        where=finding.where,
        exception=exc,
        trace=portable_events(finding.trace) or [],
        case=portable_case(finding.case),
        hits=finding.hits,
        flaky=finding.flaky,
        reference_trace=portable_events(finding.reference_trace),
        behaviours=list(finding.behaviours),
        output=finding.output,
    )
    try:
        pickle.dumps(copy)
    except Exception:
        copy.case = None
        copy.trace = []
        copy.reference_trace = None
    return copy


def snapshot_of(stats: Any) -> Snapshot | None:
    """A copy of the search's ``Stats`` (None if there are none yet or they changed while copied)."""
    if stats is None:
        return None
    try:
        return Snapshot(
            examples=stats.examples,
            steps=stats.steps,
            disconnect_positions=set(stats.disconnect_positions),
            targets_seen=set(stats.targets_seen),
            depths_seen=set(stats.depths_seen),
            backends_seen=set(stats.backends_seen),
            statuses={t: dict(counts) for t, counts in stats.statuses.items()},
            shapes=dict(stats.shapes),
            behaviours=dict(stats.behaviours),
        )
    except RuntimeError:  # a set changed size while copied: next beat
        return None

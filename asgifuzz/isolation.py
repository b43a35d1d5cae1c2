"""Runs the isolation oracle (``checks.isolation``) for a session case.

Each connection of the session runs again alone, on the same app and loop;
when what its client received differs, once more alone to make sure the
connection answers the same way by itself.  A connection whose client
disconnects is not compared (what it got before leaving is a matter of timing).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from asgifuzz._case import Case, Disconnect, Pause
from asgifuzz.checks.isolation import ConnectionView, isolation_finding

if TYPE_CHECKING:
    from asgifuzz._config import Settings
    from asgifuzz._finding import Finding
    from asgifuzz._types import ASGIApp
    from asgifuzz.server.driver import Outcome

__all__ = ("isolation_findings",)


def _view(outcome: Outcome) -> ConnectionView:
    r = outcome.response
    return ConnectionView(r.status, tuple(r.headers), r.body, r.complete)


def isolation_findings(app: ASGIApp, outcome: Outcome, settings: Settings) -> list[Finding]:
    """The first connection of ``outcome``'s session that other connections changed, as a finding."""
    from asgifuzz.server.driver import run_case
    from asgifuzz.server.session import connection_case, merged_trace

    outcomes = [outcome, *outcome.session]
    if len(outcomes) < 2:
        return []
    for i, conn in enumerate(outcomes):
        if i == 0 and outcome.case.session[0].during is None:
            continue  # it ended before the second opened: its session run was a run alone
        if any(isinstance(a, Disconnect) for a in conn.case.actions):
            # What a client got before it left depends on where the loop stood when it left, which the
            # other connections move (a stream's next part just before or just after): not compared.
            continue
        single = _with_pauses(connection_case(outcome.case, i), conn.pauses)
        alone = run_case(app, single, settings)
        session_view, alone_view = _view(conn), _view(alone)
        if session_view == alone_view:
            continue
        again = _view(run_case(app, single, settings))
        finding = isolation_finding(i, len(outcomes), session_view, alone_view, again)
        if finding is not None:
            # The session itself must answer this connection the same way again (not a race of timing).
            replayed = run_case(app, outcome.case, settings)
            rerun = [replayed, *replayed.session]
            if len(rerun) != len(outcomes) or _view(rerun[i]) != session_view:
                continue
            finding.case = outcome.case
            finding.trace = merged_trace(outcome)
            finding.reference_trace = alone.trace
            return _as_a_pair(app, outcome.case, i, settings) or [finding]
    return []


def _as_a_pair(app: ASGIApp, case: Case, index: int, settings: Settings) -> list[Finding]:
    """The finding of connection ``index`` with only the connection after (or before) it, if it still shows.

    The shrinker deletes a later connection only when what follows still
    fails once its draws move; a session whose first connection merely came
    before the two that matter keeps three.  Tried only on a finding.
    """
    from asgifuzz.server.driver import run_case
    from asgifuzz.server.session import connection_case

    if len(case.session) < 2:
        return []
    # Connection j and the next one, which opened during j or right after it.
    for j in (index, index - 1):
        if 0 <= j < len(case.session):
            pair = replace(connection_case(case, j), session=(case.session[j],))
            found = isolation_findings(app, run_case(app, pair, settings), settings)
            if found:
                return found
    return []


def _with_pauses(case: Case, pauses: list[tuple[int, float]]) -> Case:
    """The connection alone, waiting where it waited in the session while another connection ran."""
    actions = list(case.actions)
    # Always, even after no time: in the session the other connection's settles let this
    # connection's app run to where it blocks (after a partial ``Run(steps)``, say).
    for index, seconds in sorted(pauses, reverse=True):
        actions.insert(index, Pause(seconds))
    return replace(case, actions=tuple(actions))

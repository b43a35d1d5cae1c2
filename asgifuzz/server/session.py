"""Sessions: several connections of one example on the one app instance.

A session case is connection 0 (the case's own scope, body and actions) and
its later connections (``Case.session``, each a ``Later``).  Each connection
is a ``Driver`` of its own (its connection, app call, trace and checks); they
are chained: connection j+1 opens after connection j has ended (keep-alive)
or in the middle of it (``during``: after j's k-th action), runs to its end,
and then j goes on.  Only one driver acts at a time, so the draws and the
schedule stay deterministic, while the apps of the connections in flight
share the loop, the lifespan state and every object the app keeps.

Tasks are attributed to the connection whose app call spawned them, by
ancestry (``SessionTracker``), so a task of one connection is never another
connection's leak.  The findings of every connection are reported with the
whole session case, their messages naming the connection, and one merged
trace with each event's connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from asgifuzz._case import Case, Later
from asgifuzz._finding import TraceEvent

if TYPE_CHECKING:
    from asgifuzz.server.app import AppTask
    from asgifuzz.server.driver import ActionSource, Driver, Outcome

__all__ = ("SessionSource", "SessionTracker", "chain_session", "connection_case", "merged_trace", "session_outcome")


@dataclass(slots=True)
class SessionSource:
    """The action sources of a session: connection 0's, then one per later connection."""

    primary: ActionSource
    later: Sequence[ActionSource]


def connection_case(case: Case, index: int) -> Case:
    """Connection ``index`` of a session case as a single-connection case (0: the case's own)."""
    from dataclasses import replace

    if index == 0:
        return replace(case, session=())
    later: Later = case.session[index - 1]
    return replace(case, scope=later.scope, body=later.body, actions=later.actions, session=())


class SessionTracker:
    """Hands each spawned task to the app call it descends from (asyncio or trio)."""

    def __init__(self, apps: list[AppTask]) -> None:
        self.apps = apps
        self._owner: dict[Any, AppTask] = {}

    def _parent(self, task: Any) -> Any:
        if isinstance(task, asyncio.Task):
            try:
                return asyncio.current_task()
            except RuntimeError:
                return None
        nursery = getattr(task, "parent_nursery", None)
        return getattr(nursery, "parent_task", None)

    def task_spawned(self, task: Any) -> None:
        parent = self._parent(task)
        owner = self._owner.get(parent) if parent is not None else None
        if owner is None:
            owner = next((a for a in self.apps if a.root is not None and a.root is parent), None)
        if owner is not None and owner.tracking:
            self._owner[task] = owner
            owner.task_spawned(task)

    def task_exited(self, task: Any) -> None:
        owner = self._owner.pop(task, None)
        if owner is not None:
            owner.task_exited(task)


def chain_session(
    driver: Driver, case: Case, source: SessionSource | None, wrap: Callable[[Any], Any]
) -> SessionTracker:
    """Build the drivers of ``case``'s later connections behind ``driver``; the tracker of them all."""
    from asgifuzz.server.driver import ScriptSource

    apps = [driver.app_task]
    previous = driver
    for i, later in enumerate(case.session):
        sub = connection_case(case, i + 1)
        drawn = source.later[i] if source is not None and i < len(source.later) else None
        nxt = type(driver)(driver.app_task.app, sub, driver.settings, wrap(drawn or ScriptSource(later.actions)))
        nxt.during = later.during
        nxt.recorder._seq = driver.recorder._seq  # one numbering for the whole session
        nxt.runner = None  # the lifespan state is handed over by the previous connection
        previous.next = nxt
        apps.append(nxt.app_task)
        previous = nxt
    for app in apps:
        app.rooted = True
    return SessionTracker(apps)


def _merged_trace(outcomes: list[Outcome]) -> list[TraceEvent]:
    """Every connection's events in the order they happened, each detail naming its connection.

    The connections' recorders share one counter (``chain_session``), so the
    sequence numbers order the events of the whole session.
    """
    tagged = sorted(
        ((event.seq, i, event) for i, outcome in enumerate(outcomes) for event in outcome.trace), key=lambda t: t[0]
    )
    return [
        TraceEvent(
            event.seq,
            event.time,
            event.actor,
            event.kind,
            event.message,
            f"[connection {i + 1}] {event.detail}".rstrip(),
        )
        for _, i, event in tagged
    ]


def merged_trace(outcome: Outcome) -> list[TraceEvent]:
    """The trace of a whole session (``outcome`` is connection 0's, with ``session`` filled)."""
    return _merged_trace([outcome, *outcome.session])


def session_outcome(driver: Driver) -> Outcome:
    """Connection 0's outcome with the later ones in ``session``; findings of all, on the whole case."""
    primary = driver.outcome()
    later = []
    nxt = driver.next
    while nxt is not None and nxt.opened is not None:
        later.append(nxt.outcome())
        nxt = nxt.next
    primary.session = later
    if not later:
        return primary
    merged = _merged_trace([primary, *later])
    for i, outcome in enumerate(later):
        for f in outcome.findings:
            f.message = f"connection {i + 2} of {len(later) + 1}: {f.message}"
        primary.findings += outcome.findings
        primary.leaks += outcome.leaks
    for f in primary.findings:
        f.case = primary.case
        f.trace = merged
    return primary

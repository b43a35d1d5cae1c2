"""The search: Hypothesis draws each case while the fake server runs it.

Why not ``RuleBasedStateMachine``
---------------------------------
Hypothesis rules are synchronous (async rules are not supported,
HypothesisWorks/hypothesis#4107), so a rule-based machine would have to hop
into the event loop through a thread portal on every step.  Instead, each
example is one ``@given(st.data())`` call that runs one event loop; the
driver task, inside that loop, draws each next action with ``data.draw``
(interactive drawing, a synchronous call) from a strategy that depends on
the connection's current state, applies it and lets the app run.  That is
the same machine -- state-dependent rules, invariants checked after every
step -- but with no thread hops, the same code on asyncio and trio, and one
loop per example.  Shrinking works on the draws, so scripts shrink to a
minimal sequence of actions, the scope and body shrink with them, and the
trio schedule seed shrinks too.

Budget, targets and distinct findings
-------------------------------------
The search deals the target (and an HTTP target's method) itself,
least-covered first (``_dealer``), and runs one Hypothesis run ("slice") of
examples on it: every route and method gets its share, and shrinking and
the example database stay on it.  Hypothesis stops generating soon after
its first failure; slices with fresh seeds spend the whole budget, and
findings already known (same invariant, target, exception type and
location) pass in later slices, so each slice looks for new ones.
Each distinct finding is raised as its own exception class (a subclass of
``Violation`` made per key), so Hypothesis shrinks each one on its own.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from asgifuzz._case import Case, Later
from asgifuzz._config import Backend, Settings
from asgifuzz._dealer import LIFESPAN_SHARE, MAX_SLICE, Dealer
from asgifuzz._errors import Violation
from asgifuzz._finding import Finding, FindingKey
from asgifuzz._targets import Target
from asgifuzz.chunking import NONDETERMINISTIC
from asgifuzz.server.profiles import behaviour_label

__all__ = ("LIFESPAN_SHARE", "ProgressCallback", "Search", "SearchResult", "Stats", "search")

#: Examples per Hypothesis run at most (``_dealer.MAX_SLICE``, which says why).
MAX_ROUND = MAX_SLICE


@dataclass(slots=True)
class Stats:
    examples: int = 0
    #: Connections served (an example is a session of one or more).
    connections: int = 0
    steps: int = 0
    disconnect_positions: set[str] = field(default_factory=set)
    targets_seen: set[str] = field(default_factory=set)
    depths_seen: set[int] = field(default_factory=set)
    backends_seen: set[str] = field(default_factory=set)
    #: target id -> response status ("none" without a response) -> examples.
    statuses: dict[str, dict[str, int]] = field(default_factory=dict)
    #: HTTP script shape (``strategies._actions.SHAPES``) -> examples.
    shapes: dict[str, int] = field(default_factory=dict)
    #: Server behaviour (``profile+knob=value``) -> examples.
    behaviours: dict[str, int] = field(default_factory=dict)

    def coverage_notes(self) -> list[str]:
        """A warning for each route that never answered anything but 404/405."""
        out = []
        for target, counted in sorted(self.statuses.items()):
            seen = {k: n for k, n in counted.items() if k != NONDETERMINISTIC}
            if NONDETERMINISTIC in counted:
                out.append(
                    f"{target} answered the same request in two ways by itself: the chunking check "
                    f"(response-depends-on-chunking) skipped {counted[NONDETERMINISTIC]} example(s) of it"
                )
            if target.startswith("route ") and seen and set(seen) <= {"404", "405"}:
                out.append(
                    f"{target} answered only {'/'.join(sorted(seen))} in {sum(seen.values())} example(s): "
                    "if it should answer something else, its code was never reached (check the path template and methods, or pass --path)"
                )
        return out


@dataclass(slots=True)
class SearchResult:
    findings: list[Finding]
    examples: int
    elapsed: float
    seed: int
    stats: Stats
    interrupted: bool = False
    #: Lines for the user about the run itself (routes not read, websockets not fuzzed).
    notes: list[str] = field(default_factory=list)


ProgressCallback = Callable[[Stats, list[Finding], float], None]


def _openapi_of(target: Target, cache: dict[int, dict[str, Any] | None]) -> dict[str, Any] | None:
    """The OpenAPI document a route target's app describes itself with (FastAPI, Litestar), if any."""
    if target.instrumented or target.protocol != "http" or not target.id.startswith("route "):
        return None
    if id(target.app) not in cache:
        from asgifuzz.routes.openapi import served_openapi

        try:
            cache[id(target.app)] = served_openapi(target.app)
        except Exception:  # an app that cannot build its document: fuzzed without it
            cache[id(target.app)] = None
    return cache[id(target.app)]


def _scope_strategy(
    settings: Settings, docs: dict[int, dict[str, Any] | None], t: Target, methods: Sequence[str]
) -> Any:
    """The scope-and-body strategy of ``t`` (an HTTP target's with ``methods`` only)."""
    from asgifuzz.strategies import http_scopes, lifespan_scopes, websocket_scopes

    if t.protocol == "http":
        return http_scopes(
            methods,
            path=t.path,
            max_body=settings.max_body,
            extra_headers=t.extra_headers,
            openapi=_openapi_of(t, docs),
            cookie_names=t.cookies,
        )
    if t.protocol == "lifespan":
        return lifespan_scopes()
    return websocket_scopes(path=t.path, extra_headers=t.extra_headers)


_KEYED: dict[FindingKey, type[Violation]] = {}


def _keyed_exception(finding: Finding) -> Violation:
    """An exception of a class unique to the finding's key: Hypothesis shrinks distinct bugs apart."""
    cls = _KEYED.get(finding.key)
    if cls is None:
        cls = type(f"Violation[{finding.code}]", (Violation,), {"__module__": Violation.__module__})
        _KEYED[finding.key] = cls
    return cls(finding.message, finding)


def _collect(exc: BaseException, flaky: bool = False) -> list[Finding]:
    from hypothesis.errors import Flaky

    out: list[Finding] = []
    if isinstance(exc, Violation) and exc.finding is not None:
        exc.finding.flaky = flaky
        out.append(exc.finding)
    elif isinstance(exc, BaseExceptionGroup):
        for sub in exc.exceptions:
            out += _collect(sub, flaky or isinstance(exc, Flaky))
    else:
        raise exc
    return out


class _OutOfTime(KeyboardInterrupt):
    """Ends a round through Hypothesis once the time budget is spent.

    Hypothesis lets a KeyboardInterrupt through at once, without recording
    the example: it stops generating or shrinking and the round returns.
    (Rejecting the late examples instead left Hypothesis generating and
    rejecting for several more seconds, and made it report a spurious
    FlakyStrategyDefinition for an example that stopped before drawing what
    an earlier one with the same prefix drew.)  ``Search.run`` catches it;
    it never reaches the caller.
    """


def _out_of_time(exc: BaseException) -> bool:
    if isinstance(exc, _OutOfTime):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return any(_out_of_time(sub) for sub in exc.exceptions)
    return False


class Search:
    """Fuzz ``targets`` until the budget is spent, collecting every distinct finding."""

    def __init__(
        self,
        targets: Sequence[Target],
        settings: Settings,
        on_progress: ProgressCallback | None = None,
        seeds: Sequence[Case] = (),
    ) -> None:
        from hypothesis import strategies as st

        from asgifuzz.strategies import middleware_stacks, server_behaviours

        self.targets = list(targets)
        self.settings = settings
        self.on_progress = on_progress
        self.seeds = tuple(seeds)
        self.stats = Stats()
        #: Lines for the user about the search itself.
        self.notes: list[str] = []
        self.found: dict[FindingKey, Finding] = {}
        #: The latest failing example of each new key in the current round.
        self.latest: dict[FindingKey, Finding] = {}
        self.start = time.monotonic()
        self.seed = settings.seed if settings.seed is not None else random.randrange(2**32)
        self.deadline = None if settings.max_time is None else self.start + settings.max_time
        self.by_id = {t.id: t for t in self.targets}
        # Strategies are built once, not per draw.
        self._docs: dict[int, dict[str, Any] | None] = {}  # app id -> its OpenAPI document
        self._scopes = {t.id: _scope_strategy(self.settings, self._docs, t, t.methods) for t in self.targets}
        #: What the dealer deals: each websocket and lifespan target, each method of each HTTP target.
        self.units: list[tuple[Target, str | None]] = [
            (t, m) for t in self.targets for m in (t.methods if t.protocol == "http" else (None,))
        ]
        self._unit_scopes = {
            _unit_key(t, m): self._scopes[t.id] if m is None else _scope_strategy(self.settings, self._docs, t, (m,))
            for t, m in self.units
        }
        self.dealer = Dealer(
            [(_unit_key(t, m), t.protocol == "lifespan") for t, m in self.units], settings.max_examples
        )
        self._stacks = {
            t.id: middleware_stacks(list(range(len(t.compose))), min_depth=1, max_depth=t.max_depth)
            for t in self.targets
            if t.compose
        }
        self._backend = st.sampled_from(list(settings.backends))
        self._schedule_seed = st.integers(0, 2**16 - 1)
        during = st.none() | st.integers(0, 4)
        # The last value opens a session, so shrinking (towards 0) turns it back into one connection.
        self._session_pick = st.integers(0, SESSION_SHARE - 1)
        self._later = {
            t.id: st.lists(st.tuples(self._scopes[t.id], during), min_size=1, max_size=settings.max_connections - 1)
            for t in self.targets
            if t.protocol == "http" and settings.max_connections > 1
        }
        self._server = server_behaviours(settings.profile)

    # ------------------------------------------------------------- results

    def _report(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.stats, list(self.found.values()), time.monotonic() - self.start)

    def _new(self, findings: list[Finding]) -> Finding | None:
        """The run's first finding whose key is new (in the target's order); counts a hit otherwise.

        Not only the primary: a transparency difference that comes with a
        finding already known is still reported (issue 12).
        """
        if not findings:
            return None
        for finding in findings:
            if finding.key not in self.found:
                return finding
        self.found[findings[0].key].hits += 1
        return None

    def _result(self, interrupted: bool = False) -> SearchResult:
        elapsed = time.monotonic() - self.start
        found = list(self.found.values())
        return SearchResult(
            found,
            self.stats.examples,
            elapsed,
            self.seed,
            self.stats,
            interrupted,
            self.stats.coverage_notes() + self.notes,
        )

    # -------------------------------------------------------------- running

    def run(self) -> SearchResult:
        from asgifuzz.server.loop import close_runners

        # One loop and one lifespan per backend serve the whole search (as a
        # server's process serves every connection); both end with it.
        try:
            self._replay_seeds()
            if self.settings.exitfirst and self.found:
                return self._result()
            try:
                self._rounds()
            except KeyboardInterrupt:
                return self._result(interrupted=True)
            if self.settings.profile is None:
                from asgifuzz._behaviours import name_behaviours

                name_behaviours(list(self.found.values()), self.by_id, self.settings)
            return self._result()
        finally:
            close_runners()

    def _replay_seeds(self) -> None:
        """Corpus seeds first: replayed as they are, no shrinking needed."""
        for case in self.seeds:
            target = self.by_id.get(case.target)
            if target is None:
                continue
            _, findings = target.run(case, self.settings)
            self.stats.examples += 1
            self.dealer.count(_unit_key(target, case.scope.get("method") if target.protocol == "http" else None))
            new = self._new(findings)
            if new is not None:
                self.found[new.key] = new

    def _rounds(self) -> None:
        slice_no = 0
        # Every unit gets a slice even when shrinking findings spent the budget first (one example each).
        while self.stats.examples < self.settings.max_examples or not self.dealer.all_dealt():
            if self.deadline is not None and time.monotonic() > self.deadline:
                return
            dealt = self.dealer.deal()
            if dealt is None:
                return  # the space is exhausted
            i, size = dealt
            before = self.stats.examples
            if not self._round(slice_no, max(1, min(self.settings.max_examples - before, size)), self.units[i]):
                return  # out of time
            if self.settings.exitfirst and self.found:
                return
            if self.stats.examples == before:
                self.dealer.exhaust(i)
            slice_no += 1

    def _round(self, round_no: int, budget: int, unit: tuple[Target, str | None]) -> bool:
        """One Hypothesis run of ``budget`` examples on ``unit``; False when the time ran out."""
        from hypothesis import HealthCheck, Phase, Verbosity, given, seed as hyp_seed, settings, strategies as st
        from hypothesis.errors import FlakyStrategyDefinition, Unsatisfiable

        database = self.settings.example_database()
        phases = [Phase.reuse, Phase.generate, Phase.shrink] if database is not None else [Phase.generate, Phase.shrink]

        @settings(
            max_examples=budget,
            deadline=None,
            database=database,
            derandomize=False,
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=not self.settings.exitfirst,
            phases=phases,
            verbosity=Verbosity.quiet,
            print_blob=False,
        )
        @hyp_seed(self.seed + round_no)
        @given(st.data())
        def test(data: Any) -> None:
            self._example(data, *unit)

        # One database key per unit (target and method), whatever the test function's name.
        test.hypothesis.inner_test._hypothesis_internal_add_digest = _unit_key(*unit).encode()  # type: ignore[attr-defined]
        self.latest = {}
        try:
            test()
        except Unsatisfiable:
            pass
        except BaseException as exc:
            if _out_of_time(exc):
                # If the time runs out mid-round, each new finding is reported
                # as it is (shrunk as far as Hypothesis got: the shrinker only
                # runs candidates smaller than its best).
                for key, finding in self.latest.items():
                    self.found.setdefault(key, finding)
                self._report()
                return False
            if isinstance(exc, KeyboardInterrupt):
                raise
            from asgifuzz._database import database_failure

            failure = database_failure(self.settings.database, exc)
            if failure is not None:
                raise failure from exc
            if isinstance(exc, FlakyStrategyDefinition):
                # Hypothesis saw one choice sequence draw differently twice: an
                # interrupted example (the stop signal) or a draw that depends
                # on timing.  The round's findings so far stand; the run goes on.
                for key, finding in self.latest.items():
                    self.found.setdefault(key, finding)
                self.notes.append(f"a round ended early: Hypothesis reported {type(exc).__name__}")
                self._report()
                return True
            for finding in _collect(exc):
                self.found.setdefault(finding.key, finding)
        self._report()
        return True

    def _draw_session(self, data: Any, target: Target) -> tuple[Later, ...]:
        """The later connections of the example's session (HTTP targets), shrinking towards none.

        One HTTP example in ``SESSION_SHARE`` is a session of 2 to
        ``max_connections`` connections; the others stay one connection, so
        the budget of single-connection bugs is hardly touched.  Each draws its scope and body like the first connection, and when it
        opens: after the previous connection ended (None), or while it is in
        flight, after its k-th action.  Their actions are drawn as they run.
        """
        if target.protocol != "http" or self.settings.max_connections < 2:
            return ()
        if data.draw(self._session_pick) != SESSION_SHARE - 1:
            return ()
        # One list draw: Hypothesis shrinks a list by deleting elements, any of them.
        drawn = data.draw(self._later[target.id])
        later = [Later(scope=scope, body=body, actions=(), during=during) for (scope, body), during in drawn]
        return tuple(later)

    def _example(self, data: Any, target: Target, method: str | None) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise _OutOfTime
        stats = self.stats
        stack: tuple[int, ...] = ()
        if target.compose:
            stack = tuple(data.draw(self._stacks[target.id]))
            stats.depths_seen.add(len(stack))
        scope, body = data.draw(self._unit_scopes[_unit_key(target, method)])
        backend: Backend = data.draw(self._backend)
        schedule_seed = data.draw(self._schedule_seed) if backend == "trio" else 0
        profile, server = data.draw(self._server)
        label = behaviour_label(profile, server)
        stats.behaviours[label] = stats.behaviours.get(label, 0) + 1
        differential = target.bare is not None
        session = self._draw_session(data, target)
        case = Case(
            target=target.id,
            scope=scope,
            body=body,
            actions=(),
            backend=backend,
            profile=profile,
            schedule_seed=schedule_seed,
            differential=differential,
            stack=stack,
            server=server,
            session=session,
        )
        from asgifuzz.strategies._actions import HttpDrawSource

        source: Any = HttpDrawSource(data, coarse=differential, max_actions=self.settings.max_actions, stats=stats)
        if target.protocol == "websocket":
            from asgifuzz.strategies._websocket import WebSocketDrawSource

            source = WebSocketDrawSource(data, coarse=differential, max_actions=self.settings.max_actions, stats=stats)
        elif target.protocol == "lifespan":
            from asgifuzz.strategies._lifespan import LifespanDrawSource

            source = LifespanDrawSource(data, coarse=differential, max_actions=self.settings.max_actions, stats=stats)
        if session:
            from asgifuzz.server.session import SessionSource

            later = [
                HttpDrawSource(data, coarse=differential, max_actions=self.settings.max_actions, stats=stats)
                for _ in session
            ]
            source = SessionSource(source, later)
        outcome, findings = target.run(case, self.settings, source)
        stats.examples += 1
        self.dealer.count(_unit_key(target, method))
        stats.connections += 1 + len(outcome.session)
        stats.steps += len(outcome.case.actions)
        stats.targets_seen.add(target.id)
        stats.backends_seen.add(backend)
        status = str(outcome.response.status) if outcome.response.status is not None else "none"
        counts = stats.statuses.setdefault(target.id, {})
        counts[status] = counts.get(status, 0) + 1
        if target.nondeterministic:  # the chunking oracle skips it (``asgifuzz.chunking``)
            counts[NONDETERMINISTIC] = counts.get(NONDETERMINISTIC, 0) + 1
        if target.compose:
            for f in findings:
                f.message += f" (stack: {target.label(stack)})"
        if stats.examples % 25 == 0:
            self._report()
        new = self._new(findings)
        if new is not None:
            self.latest[new.key] = new
            raise _keyed_exception(new)


#: One HTTP example in this many is a session of several connections (when ``max_connections`` > 1).
SESSION_SHARE = 4


def _unit_key(target: Target, method: str | None) -> str:
    """What the dealer deals: a target, or one method of an HTTP target."""
    return target.id if method is None else f"{target.id} {method}"


def search(
    targets: Sequence[Target],
    settings: Settings,
    on_progress: ProgressCallback | None = None,
    seeds: Sequence[Case] = (),
) -> SearchResult:
    """Fuzz ``targets`` until the budget is spent; return every distinct finding."""
    return Search(targets, settings, on_progress, seeds).run()

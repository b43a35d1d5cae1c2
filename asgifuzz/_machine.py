"""Hypothesis drives the search: one interactive state machine per example.

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

Budget and distinct findings
----------------------------
Hypothesis stops generating soon after its first failure.  To spend the
whole budget and report every distinct finding, the search runs in rounds
with fresh seeds; findings already known (same invariant, target, exception
type and location) pass in later rounds, so each round looks for new ones.
Each distinct finding is raised as its own exception class (a subclass of
its invariant made per key), so Hypothesis shrinks each one on its own.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from asgifuzz._case import Action, Backend, Case, Disconnect
from asgifuzz._differential import compare_outcomes
from asgifuzz._driver import Connection, DriveSettings, Outcome, run_case
from asgifuzz._errors import Violation
from asgifuzz._finding import Finding
from asgifuzz._targets import Target

__all__ = ("SearchConfig", "SearchResult", "search")


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchConfig:
    backends: tuple[Backend, ...] = ("asyncio",)
    profile: str = "uvicorn"
    max_examples: int = 1000
    max_time: float | None = None
    seed: int | None = None
    exitfirst: bool = False
    #: Invariant codes to report; None reports all.
    checks: frozenset[str] | None = None
    drive: DriveSettings = field(default_factory=DriveSettings)
    #: A Hypothesis ExampleDatabase, or None for no database.
    database: Any = None
    max_actions: int = 12
    max_body: int = 2048
    #: Cases to run before generating (corpus seeds); their findings count.
    seeds: tuple[Case, ...] = ()


@dataclass(slots=True)
class Stats:
    examples: int = 0
    steps: int = 0
    disconnect_positions: set[str] = field(default_factory=set)
    targets_seen: set[str] = field(default_factory=set)
    depths_seen: set[int] = field(default_factory=set)
    backends_seen: set[str] = field(default_factory=set)


@dataclass(slots=True)
class SearchResult:
    findings: list[Finding]
    examples: int
    elapsed: float
    seed: int
    stats: Stats
    interrupted: bool = False


ProgressCallback = Callable[[Stats, list[Finding], float], None]


class DrawSource:
    """Draws each next action from Hypothesis, given the connection state."""

    def __init__(self, data: Any, *, coarse: bool, max_actions: int, stats: Stats) -> None:
        self.data = data
        self.coarse = coarse
        self.max_actions = max_actions
        self.count = 0
        self.stats = stats

    def next_action(self, conn: Connection) -> Action | None:
        from asgifuzz.strategies._actions import client_actions

        if self.count >= self.max_actions:
            return None
        self.count += 1
        remaining = len(conn.body) - conn.delivered
        action: Action | None = self.data.draw(
            client_actions(remaining, connected=not conn.disconnected, coarse=self.coarse)
        )
        if isinstance(action, Disconnect):
            self.stats.disconnect_positions.add(_position(conn))
        return action


def _position(conn: Connection) -> str:
    if conn.response.complete:
        return "after-response"
    if conn.response.start_seq is not None:
        return "mid-response"
    if conn.delivered == 0 and conn.body:
        return "before-body"
    if conn.delivered < len(conn.body):
        return "mid-body"
    return "after-body"


def _enabled(findings: list[Finding], checks: frozenset[str] | None) -> list[Finding]:
    if checks is None:
        return findings
    return [f for f in findings if f.code in checks]


def run_target_case(
    target: Target,
    case: Case,
    *,
    drive: DriveSettings,
    checks: frozenset[str] | None = None,
) -> tuple[Outcome, list[Finding]]:
    """Replay ``case`` on ``target`` (with the transparency check when it applies)."""
    outcome = run_case(
        target.build(case.stack) if target.compose else target.app,
        target=target.id,
        scope=case.scope,
        body=case.body,
        source=case.actions,
        backend=case.backend,
        profile=case.profile,
        schedule_seed=case.schedule_seed,
        settings=drive,
        differential=case.differential,
        stack=case.stack,
    )
    return outcome, _with_transparency(target, outcome, drive, checks)


def _with_transparency(
    target: Target, outcome: Outcome, drive: DriveSettings, checks: frozenset[str] | None
) -> list[Finding]:
    findings = _enabled(outcome.findings, checks)
    if findings or target.bare is None or not outcome.case.differential:
        return findings
    case = outcome.case
    bare = run_case(
        target.bare,
        target=target.id,
        scope=case.scope,
        body=case.body,
        source=case.actions,
        backend=case.backend,
        profile=case.profile,
        schedule_seed=case.schedule_seed,
        settings=drive,
        differential=True,
    )
    return _enabled(compare_outcomes(outcome, bare, instrumented=target.instrumented, sse=target.sse), checks)


_KEYED: dict[tuple[str, str, str, str], type[Violation]] = {}


def _keyed_exception(finding: Finding) -> Violation:
    cls = _KEYED.get(finding.key)
    if cls is None:
        base = finding.invariant
        cls = type(base.__name__, (base,), {"__module__": base.__module__}, register=False)
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
    an earlier one with the same prefix drew.)  ``search`` catches it; it
    never reaches the caller.
    """


def _out_of_time(exc: BaseException) -> bool:
    if isinstance(exc, _OutOfTime):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return any(_out_of_time(sub) for sub in exc.exceptions)
    return False


#: Examples per Hypothesis run ("round").  Rounds double from 100 up to this.
#: Hypothesis keeps per-run state (its tree of explored choices) until the run
#: ends: capping rounds at 500 keeps RSS growth over a 5-minute run near +15%
#: (it was +36% at 2000) at no cost in examples/s.
MAX_ROUND = 500

def search(
    targets: Sequence[Target],
    config: SearchConfig,
    on_progress: ProgressCallback | None = None,
) -> SearchResult:
    """Fuzz ``targets`` until the budget is spent; return every distinct finding."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, seed as hyp_seed, settings, strategies as st
    from hypothesis.errors import Unsatisfiable

    from asgifuzz.strategies import http_scopes, middleware_stacks

    stats = Stats()
    found: dict[tuple[str, str, str, str], Finding] = {}
    start = time.monotonic()
    base_seed = config.seed if config.seed is not None else random.randrange(2**32)
    deadline = None if config.max_time is None else start + config.max_time
    scope_strategies = {
        t.id: http_scopes(t.methods, path=t.path, max_body=config.max_body, extra_headers=t.extra_headers)
        for t in targets
    }
    target_strategy = st.sampled_from(list(targets))
    stack_strategies = {
        t.id: middleware_stacks(list(range(len(t.compose))), min_depth=1, max_depth=t.max_depth)
        for t in targets
        if t.compose
    }
    backend_strategy = st.sampled_from(list(config.backends))
    by_id = {t.id: t for t in targets}

    def report() -> None:
        if on_progress is not None:
            on_progress(stats, list(found.values()), time.monotonic() - start)

    def consider(findings: list[Finding]) -> Finding | None:
        if not findings:
            return None
        primary = findings[0]
        known = found.get(primary.key)
        if known is not None:
            known.hits += 1
            return None
        return primary

    # Corpus seeds first: replayed as they are, no shrinking needed.
    for case in config.seeds:
        target = by_id.get(case.target)
        if target is None:
            continue
        _, findings = run_target_case(target, case, drive=config.drive, checks=config.checks)
        stats.examples += 1
        new = consider(findings)
        if new is not None:
            found[new.key] = new
    if config.exitfirst and found:
        return SearchResult(list(found.values()), stats.examples, time.monotonic() - start, base_seed, stats)

    def example(data: Any) -> None:
        if deadline is not None and time.monotonic() > deadline:
            raise _OutOfTime
        target: Target = data.draw(target_strategy)
        stack: tuple[int, ...] = ()
        app = target.app
        if target.compose:
            stack = tuple(data.draw(stack_strategies[target.id]))
            app = target.build(stack)
            stats.depths_seen.add(len(stack))
        scope, body = data.draw(scope_strategies[target.id])
        backend: Backend = data.draw(backend_strategy)
        schedule_seed = data.draw(st.integers(0, 2**16 - 1)) if backend == "trio" else 0
        differential = target.bare is not None
        source = DrawSource(data, coarse=differential, max_actions=config.max_actions, stats=stats)
        outcome = run_case(
            app,
            target=target.id,
            scope=scope,
            body=body,
            source=source,
            backend=backend,
            profile=config.profile,
            schedule_seed=schedule_seed,
            settings=config.drive,
            differential=differential,
            stack=stack,
        )
        stats.examples += 1
        stats.steps += len(outcome.case.actions)
        stats.targets_seen.add(target.id)
        stats.backends_seen.add(backend)
        findings = _with_transparency(target, outcome, config.drive, config.checks)
        if target.compose:
            for f in findings:
                f.message += f" (stack: {target.label(stack)})"
        if stats.examples % 25 == 0:
            report()
        new = consider(findings)
        if new is not None:
            # The latest failing example of each key: if the time runs out
            # mid-round, it is reported as it is (shrunk as far as Hypothesis
            # got, since the shrinker only runs candidates smaller than its best).
            latest[new.key] = new
            raise _keyed_exception(new)

    round_no = 0
    interrupted = False
    round_size = 100
    try:
        while stats.examples < config.max_examples:
            if deadline is not None and time.monotonic() > deadline:
                break
            budget = min(config.max_examples - stats.examples, round_size)
            phases = (
                [Phase.reuse, Phase.generate, Phase.shrink]
                if config.database is not None
                else [Phase.generate, Phase.shrink]
            )

            @settings(
                max_examples=budget,
                deadline=None,
                database=config.database,
                derandomize=False,
                suppress_health_check=list(HealthCheck),
                report_multiple_bugs=not config.exitfirst,
                phases=phases,
                verbosity=Verbosity.quiet,
                print_blob=False,
            )
            @hyp_seed(base_seed + round_no)
            @given(st.data())
            def test(data: Any) -> None:
                example(data)

            test.hypothesis.inner_test._hypothesis_internal_add_digest = (  # type: ignore[attr-defined]
                "|".join(sorted(by_id)).encode()
            )
            before = stats.examples
            latest: dict[tuple[str, str, str, str], Finding] = {}
            try:
                test()
            except Unsatisfiable:
                pass
            except BaseException as exc:
                if _out_of_time(exc):
                    for key, finding in latest.items():
                        found.setdefault(key, finding)
                    report()
                    break
                if isinstance(exc, KeyboardInterrupt):
                    raise
                for finding in _collect(exc):
                    if finding.key not in found:
                        found[finding.key] = finding
            report()
            if config.exitfirst and found:
                break
            if stats.examples == before:
                break  # the space is exhausted
            round_no += 1
            round_size = min(round_size * 2, MAX_ROUND)
    except KeyboardInterrupt:
        interrupted = True
    return SearchResult(list(found.values()), stats.examples, time.monotonic() - start, base_seed, stats, interrupted)

"""Throughput: asgifuzz examples/s against a bare in-process drive loop.

For each app and backend, three measurements run interleaved, in rounds
(bare, fuzz, replay, bare, fuzz, replay, ...), so that machine noise hits
them alike:

* **bare** -- the physical limit of in-process driving: ONE event loop
  (one ``asyncio`` loop, or one ``trio.run``) awaits
  ``app(scope, receive, send)`` for the same scripted request (``POST /``,
  5-byte body, delivered in one ``http.request``), one request after the
  other.  ``receive`` returns the body, then blocks until the response is
  complete and returns ``http.disconnect``; ``send`` only looks for the end
  of the response.  Nothing is recorded or checked.
* **bare, fresh loop** -- the same, but each request gets a new event loop
  (``new_event_loop`` + ``run_until_complete`` + ``close``, or one
  ``trio.run`` per request), which is what asgifuzz does per example.
* **fuzz** -- ``asgifuzz._search.search`` on one hand-built ``Target``
  (the app's ``/`` route, GET and POST, no transparency oracle so each
  example is exactly one connection), seeded, with a ``max_time`` budget.
  Examples are generated, not scripted: random method, headers, body (up to
  2 KiB), chunking, disconnects and virtual time, about four actions each.
* **replay** -- the asgifuzz driver alone (``run_case``) replaying the bare
  loop's scripted request with an empty action script: full recording,
  oracles, virtual clock and end-of-run checks, no Hypothesis.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks.apps import APPS, LABELS, SCRIPT_BODY, script_scope

__all__ = ("ThroughputRow", "bare_rate", "fuzz_rate", "measure_throughput", "replay_rate")

BACKENDS = ("asyncio", "trio")


@dataclass(slots=True)
class Rate:
    count: int = 0
    steps: int = 0
    seconds: float = 0.0

    def add(self, count: int, seconds: float, steps: int = 0) -> None:
        self.count += count
        self.steps += steps
        self.seconds += seconds

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds else 0.0


@dataclass(slots=True)
class ThroughputRow:
    app: str
    label: str
    backend: str
    bare_per_s: float
    bare_fresh_loop_per_s: float
    fuzz_examples_per_s: float
    fuzz_steps_per_s: float
    replay_per_s: float
    ratio: float
    ratio_fresh_loop: float
    replay_ratio: float
    details: dict[str, Any] = field(default_factory=dict)
    #: Connections served by the search per second (sessions: several per example), and / bare requests/s.
    fuzz_connections_per_s: float = 0.0
    connection_ratio: float = 0.0
    #: Every app call the search made per second: its examples' connections plus the oracles' own runs
    #: (the chunking reference, each session connection alone, the counterfactual replays).
    fuzz_app_calls_per_s: float = 0.0
    app_call_ratio: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class _Scripted:
    """One scripted request: the body in one message, then wait for the end."""

    def __init__(self, done: Any) -> None:
        self.handed = False
        self.done = done
        self.status: int | None = None

    async def receive(self) -> dict[str, Any]:
        if not self.handed:
            self.handed = True
            return {"type": "http.request", "body": SCRIPT_BODY, "more_body": False}
        await self.done.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self.done.set()


def _check(script: _Scripted) -> None:
    if script.status != 200 or not script.done.is_set():
        raise RuntimeError(f"the bare loop's request did not complete with 200 (status {script.status})")


async def _one_asyncio(app: Any) -> None:
    script = _Scripted(asyncio.Event())
    await app(script_scope(), script.receive, script.send)
    _check(script)


async def _one_trio(app: Any) -> None:
    import trio

    script = _Scripted(trio.Event())
    await app(script_scope(), script.receive, script.send)
    _check(script)


def bare_rate(app: Any, backend: str, seconds: float, *, fresh_loop: bool = False) -> tuple[int, float]:
    """Requests completed and wall seconds spent, for about ``seconds``."""
    one: Callable[[Any], Any] = _one_trio if backend == "trio" else _one_asyncio
    count = 0
    batch = 20
    start = time.perf_counter()
    if fresh_loop:
        while time.perf_counter() - start < seconds:
            for _ in range(batch):
                if backend == "trio":
                    import trio

                    trio.run(one, app)
                else:
                    loop = asyncio.new_event_loop()
                    try:
                        loop.run_until_complete(one(app))
                    finally:
                        loop.close()
            count += batch
        return count, time.perf_counter() - start

    async def run_for() -> int:
        n = 0
        while time.perf_counter() - start < seconds:
            for _ in range(batch):
                await one(app)
            n += batch
        return n

    if backend == "trio":
        import trio

        count = trio.run(run_for)
    else:
        loop = asyncio.new_event_loop()
        try:
            count = loop.run_until_complete(run_for())
        finally:
            loop.close()
    return count, time.perf_counter() - start


def fuzz_target(app: Any) -> Any:
    from asgifuzz._targets import Target

    return Target(id="route GET,POST /", app=app, methods=("GET", "POST"), path="/")


def fuzz_rate(app: Any, backend: str, seconds: float, seed: int) -> tuple[int, int, float, int]:
    """(examples, steps, wall seconds, findings) of a seeded search of ``seconds``."""
    examples, steps, elapsed, findings, _, _ = fuzz_rate_with_connections(app, backend, seconds, seed)
    return examples, steps, elapsed, findings


class _Counted:
    """The app, counting its HTTP calls (one more await per call: noise next to a request)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.calls += 1
        await self.app(scope, receive, send)


def fuzz_rate_with_connections(
    app: Any, backend: str, seconds: float, seed: int
) -> tuple[int, int, float, int, int, int]:
    """(examples, steps, wall seconds, findings, connections, app calls) of a seeded search of ``seconds``.

    An example is one connection, or (one in ``_search.SESSION_SHARE``) a
    session of 2 to ``Settings.max_connections`` connections, as in a default
    run (issue 14): connections/s is the figure comparable with bare requests/s.
    App calls also count the oracles' own runs of the app.
    """
    from asgifuzz._config import Settings
    from asgifuzz._search import search

    counted = _Counted(app)
    settings = Settings.create(backend=backend, max_examples=10**9, max_time=seconds, seed=seed)
    start = time.perf_counter()
    result = search([fuzz_target(counted)], settings)
    elapsed = time.perf_counter() - start
    stats = result.stats
    return stats.examples, stats.steps, elapsed, len(result.findings), stats.connections, counted.calls


def replay_rate(app: Any, backend: str, seconds: float) -> tuple[int, float]:
    """The driver alone: the scripted request replayed by ``run_case``."""
    from asgifuzz._case import Case
    from asgifuzz.server.driver import run_case

    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(10):
            case = Case(target="app", scope=script_scope(), body=SCRIPT_BODY, actions=(), backend=backend)  # type: ignore[arg-type]
            outcome = run_case(app, case)
            if outcome.response.status != 200 or outcome.findings:
                raise RuntimeError(f"replaying the scripted request failed: {outcome.findings or outcome.app_end}")
        count += 10
    return count, time.perf_counter() - start


def measure_throughput(
    seconds: float,
    rounds: int,
    *,
    apps: tuple[str, ...] = tuple(APPS),
    backends: tuple[str, ...] = BACKENDS,
    log: Callable[[str], None] = print,
) -> list[ThroughputRow]:
    """Each measurement gets ``seconds`` in total, split over ``rounds``."""
    rows = []
    share = seconds / rounds
    for backend in backends:  # imports, Hypothesis's first run, strategy caches
        fuzz_rate(APPS["raw_echo"], backend, 0.3, seed=12345)
    for name in apps:
        app = APPS[name]
        for backend in backends:
            bare, fresh, fuzz, replay, conns, calls = Rate(), Rate(), Rate(), Rate(), Rate(), Rate()
            findings = 0
            bare_rate(app, backend, min(share, 0.1))  # warm up imports and caches
            replay_rate(app, backend, min(share, 0.1))
            for r in range(rounds):
                n, dt = bare_rate(app, backend, share)
                bare.add(n, dt)
                n, dt = bare_rate(app, backend, share, fresh_loop=True)
                fresh.add(n, dt)
                ex, steps, dt, nf, nc, na = fuzz_rate_with_connections(app, backend, share, seed=r)
                fuzz.add(ex, dt, steps)
                conns.add(nc, dt)
                calls.add(na, dt)
                findings += nf
                n, dt = replay_rate(app, backend, share)
                replay.add(n, dt)
            row = ThroughputRow(
                app=name,
                label=LABELS[name],
                backend=backend,
                bare_per_s=bare.per_second,
                bare_fresh_loop_per_s=fresh.per_second,
                fuzz_examples_per_s=fuzz.per_second,
                fuzz_steps_per_s=fuzz.steps_per_second,
                replay_per_s=replay.per_second,
                ratio=fuzz.per_second / bare.per_second if bare.per_second else 0.0,
                ratio_fresh_loop=fuzz.per_second / fresh.per_second if fresh.per_second else 0.0,
                replay_ratio=replay.per_second / bare.per_second if bare.per_second else 0.0,
                fuzz_connections_per_s=conns.per_second,
                connection_ratio=conns.per_second / bare.per_second if bare.per_second else 0.0,
                fuzz_app_calls_per_s=calls.per_second,
                app_call_ratio=calls.per_second / bare.per_second if bare.per_second else 0.0,
                details={
                    "bare_requests": bare.count,
                    "fuzz_examples": fuzz.count,
                    "fuzz_steps": fuzz.steps,
                    "fuzz_seconds": round(fuzz.seconds, 3),
                    "fuzz_findings": findings,
                    "replays": replay.count,
                    "rounds": rounds,
                },
            )
            log(
                f"  throughput {name:16s} {backend:7s} bare {row.bare_per_s:8.0f}/s  "
                f"fuzz {row.fuzz_examples_per_s:6.0f} ex/s {row.fuzz_connections_per_s:6.0f} conn/s  "
                f"ratio {row.ratio:.3f} (connections {row.connection_ratio:.3f}, app calls {row.app_call_ratio:.3f})"
            )
            rows.append(row)
    return rows

"""The Python entry point: ``asgifuzz.fuzz``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from asgifuzz._case import Backend, Case
from asgifuzz._driver import DriveSettings
from asgifuzz._errors import INVARIANTS, UsageError
from asgifuzz._machine import ProgressCallback, SearchConfig, SearchResult, search
from asgifuzz._profiles import get_profile
from asgifuzz._targets import discover_targets

__all__ = ("fuzz",)


def _check_codes(checks: Sequence[str] | None) -> frozenset[str] | None:
    if checks is None:
        return None
    import difflib

    for code in checks:
        if code not in INVARIANTS:
            close = difflib.get_close_matches(code, list(INVARIANTS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else "; run 'asgifuzz checks' for the list"
            raise UsageError(f"unknown invariant {code!r}{hint}")
    return frozenset(checks)


def fuzz(
    app: Any = None,
    *,
    middleware: Sequence[Any] | None = None,
    endpoints: Sequence[str] | None = None,
    compose: bool = False,
    max_depth: int = 6,
    max_examples: int = 1000,
    max_time: float | None = None,
    seed: int | None = None,
    backend: Backend | Sequence[Backend] = "asyncio",
    profile: str = "uvicorn",
    checks: Sequence[str] | None = None,
    exitfirst: bool = False,
    virtual_time: bool = True,
    database: Any = None,
    on_progress: ProgressCallback | None = None,
    seeds: Sequence[Case] = (),
) -> SearchResult:
    """Fuzz an ASGI app (or a middleware stack) and return every distinct finding.

    Args:
        app: an ASGI app. Starlette and FastAPI apps are fuzzed route by
            route, and their user middleware in front of each adversarial
            endpoint (``asgifuzz.endpoints``).
        middleware: instead of an app, a list of Starlette ``Middleware``
            objects or ``factory(app) -> app`` callables, outermost first.
        endpoints: restrict the adversarial endpoints by name.
        compose: with ``middleware``, draw a stack per example from it
            (any order, depth 1 to ``max_depth``, repeats allowed), so
            findings shrink to the smallest stack that shows them.
        max_examples: number of generated interactions (the budget).
        max_time: stop after this many seconds even if examples remain.
        seed: makes the run reproducible; a random one is chosen and
            reported in the result otherwise.
        backend: "asyncio", "trio", or both as a list.
        profile: the server to imitate: uvicorn (default), hypercorn,
            daphne or strict.
        checks: invariant codes to report (all by default).
        exitfirst: stop at the first finding.
        virtual_time: run sleeps on a virtual clock (default) or in real time.
        database: a Hypothesis example database to replay and save to.
        seeds: cases (from the corpus) replayed before generating; their
            findings are reported like generated ones.

    Returns:
        A ``SearchResult`` with ``findings`` (each shrunk, with its replayable
        ``case``), ``examples`` and ``seed``.

    Raises:
        UsageError: for a bad argument or an object that is not an ASGI app.
    """
    if max_examples < 1:
        raise UsageError(f"max_examples={max_examples!r} must be at least 1")
    if max_time is not None and max_time <= 0:
        raise UsageError(f"max_time={max_time!r} must be a positive number of seconds")
    backends: tuple[Backend, ...] = (backend,) if isinstance(backend, str) else tuple(backend)
    for b in backends:
        if b not in ("asyncio", "trio"):
            raise UsageError(f"backend {b!r} is unknown; choose asyncio or trio")
    if "trio" in backends:
        try:
            import trio  # noqa: F401
        except ImportError:
            raise UsageError("backend 'trio' needs trio installed: pip install 'asgifuzz[trio]'") from None
    get_profile(profile)
    targets = discover_targets(app, middleware=middleware, endpoints=endpoints, compose=compose, max_depth=max_depth)
    config = SearchConfig(
        backends=backends,
        profile=profile,
        max_examples=max_examples,
        max_time=max_time,
        seed=seed,
        exitfirst=exitfirst,
        checks=_check_codes(checks),
        drive=DriveSettings(virtual_time=virtual_time),
        database=database,
        seeds=tuple(seeds),
    )
    return search(targets, config, on_progress)

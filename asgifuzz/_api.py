"""The Python entry point: ``asgifuzz.fuzz``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from asgifuzz._case import Case
from asgifuzz._config import Settings, resolve_budget
from asgifuzz._search import ProgressCallback, SearchResult, search
from asgifuzz._storage import hypothesis_home
from asgifuzz._targets import discover_targets, select_targets

__all__ = ("fuzz",)


def fuzz(
    app: Any = None,
    *,
    middleware: Sequence[Any] | None = None,
    endpoints: Sequence[str] | None = None,
    compose: bool = False,
    max_depth: int = 6,
    paths: Sequence[str] | None = None,
    settings: Settings | None = None,
    on_progress: ProgressCallback | None = None,
    seeds: Sequence[Case] = (),
    target_ids: Sequence[str] | None = None,
    **options: Any,
) -> SearchResult:
    """Fuzz an ASGI app (or a middleware stack) and return every distinct finding.

    Args:
        app: an ASGI app. Starlette and FastAPI apps are fuzzed route by
            route, and their user middleware in front of each adversarial
            endpoint (``asgifuzz.endpoints``).
        middleware: instead of an app, a list of Starlette ``Middleware``
            objects or ``factory(app) -> app`` callables, outermost first.
        endpoints: restrict the adversarial endpoints by name.
        paths: name the app's routes by hand (``"GET,POST /items/{id:int}"``)
            instead of reading them from the app's routing.
        compose: with ``middleware``, draw a stack per example from it
            (any order, depth 1 to ``max_depth``, repeats allowed), so
            findings shrink to the smallest stack that shows them.
        settings: every knob of the run (``asgifuzz.Settings``); the keyword
            ``options`` below override its fields.
        seeds: cases (from the corpus) replayed before generating; their
            findings are reported like generated ones.
        target_ids: fuzz only the targets with these ids (``Finding.case.target``,
            e.g. ``"route GET /items"``): the pytest plugin's one item per target.
        **options: any ``Settings`` field, plus the user-facing spellings:
            ``max_examples`` (the budget), ``max_time`` (seconds; given
            without ``max_examples``, it alone bounds the run, as the CLI's
            ``--max-time``),
            ``seed`` (reproducible runs; random otherwise, reported back),
            ``backend`` ("asyncio", "trio", "both" or a list),
            ``profile`` (uvicorn, hypercorn, daphne or strict; default: drawn per example),
            ``checks`` (codes to report; "-code" excludes one),
            ``exitfirst``, ``virtual_time``, ``database`` (a Hypothesis
            example database or a directory).

    Returns:
        A ``SearchResult`` with ``findings`` (each shrunk, with its replayable
        ``case``), ``examples`` and ``seed``.

    Raises:
        UsageError: for a bad argument or an object that is not an ASGI app.
    """
    if settings is None:
        budget = resolve_budget(options.get("max_examples"), options.get("max_time"), Settings().max_examples)
        options["max_examples"] = budget
        settings = Settings.create(**options)
    elif options:
        settings = Settings.create(**{**_fields(settings), **options})
    else:
        settings.validate()
    notes: list[str] = []
    targets = discover_targets(
        app,
        middleware=middleware,
        endpoints=endpoints,
        compose=compose,
        max_depth=max_depth,
        paths=paths or settings.paths,
        notes=notes,
        lifespan=settings.lifespan != "off",
    )
    targets = select_targets(targets, settings.routes)
    with hypothesis_home(settings.database):  # no stray .hypothesis/ in the working directory
        result = search(_only(targets, target_ids), settings, on_progress, seeds)
    result.notes[:0] = notes
    return result


def _fields(settings: Settings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in Settings.__dataclass_fields__}


def _only(targets: list[Any], ids: Sequence[str] | None) -> list[Any]:
    """``targets`` restricted to ``ids`` (all of them when None); an unknown id is a ``UsageError``."""
    from asgifuzz._errors import UsageError

    if ids is None:
        return targets
    known = {t.id for t in targets}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise UsageError(f"the app has no target {unknown[0]!r} (it has {', '.join(sorted(known))})")
    return [t for t in targets if t.id in ids]

"""Recall: does a default run find a bug that only one traffic shape shows, and how fast.

Each entry is an app with one known bug and the invariant that reports it.
``measure_recall`` runs ``asgifuzz.fuzz`` on it the way a user would (the
whole app, every check, the default server-behaviour exploration, a time
budget, ``exitfirst``), one seed after the other, and records whether the
bug was found and when.

``slow upload`` (``tests/shape_apps.py``): a pure ASGI middleware that reads the first request event
and hands the app only that, as the whole body (``more_body`` False).  A
client that sends its body in one go never shows it; only a slow upload
(part of the body, the app runs until it blocks, the rest) does.  A run
finding it on at least 4 of 5 seeds in 60 s is the acceptance bar of issue
12 (class 7).

``measure_release_recall`` times issue 12's real releases (one bug per class
and report, ``timetobug.BUGS`` named in ``RELEASES``): each in its pinned
virtualenv, ``checks=[code]``, ``exitfirst``, seeds 0-4 on asyncio; *first*
is when the first example showing the bug finished, *reported* when
``fuzz`` returned (after shrinking).  Measured on 2026-11-30 (2 shared
cores, load about 4; ``python -m benchmarks`` writes the current numbers):

=================================  ====================  =====  =======  ==========  ========
bug (class)                        release               found  first s  reported s  examples
=================================  ====================  =====  =======  ==========  ========
background exception swallowed (1) starlette 0.45.3      5/5    0.01     0.05        3
stream error hidden (2)            starlette 0.18.0      5/5    0.01     0.08        3
truncated stream completed (2)     starlette 0.18.0      5/5    0.01     0.07        3
background task cancelled (3)      starlette 0.20.4      5/5    0.02     0.08        3
middleware task dropped (3)        starlette 0.38.4      5/5    0.01     0.05        3
first chunk only (4)               asgiref 3.2.1         5/5    0.18     4.07        80
pathsend dropped by gzip (5)       starlette 0.38.0      5/5    5.61     6.94        389
a2wsgi sender died (5)             a2wsgi 1.10.3         5/5    0.87     2.01        160
unparsable upload escapes (6)      starlette 1.6.0       5/5    0.29     1.04        91
=================================  ====================  =====  =======  ==========  ========

(Medians of the 5 seeds; examples is the median run length including
shrinking.  Classes 1-3 show on every request to their route; class 5
needs a GET that accepts gzip on a server offering pathsend, about one
request in 40; the a2wsgi hang a disconnect under a server whose send
raises; class 6 a multipart upload the parser rejects.)
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks import ROOT

__all__ = ("RECALL", "RELEASES", "RecallEntry", "RecallResult", "measure_recall", "measure_release_recall")


@dataclass(frozen=True, slots=True)
class RecallEntry:
    name: str
    #: module:factory of the app, importable from tests/.
    app: str
    code: str
    description: str
    #: Other invariants that report the same bug (another oracle may see it first).
    also: tuple[str, ...] = ()


RECALL: tuple[RecallEntry, ...] = (
    RecallEntry(
        name="slow upload",
        app="shape_apps:first_chunk_only_app",
        code="request-body-altered",
        description="a pure ASGI middleware that replays only the first request chunk to the app",
        also=("response-depends-on-chunking",),
    ),
)


#: Issue 12's real releases, by their name in ``timetobug.BUGS`` (class in brackets).
RELEASES: tuple[str, ...] = (
    "background exception swallowed",  # (1) Kludex/starlette#2812
    "stream error hidden",  # (2) Kludex/starlette#1459
    "truncated stream completed",  # (2) #1459, and again from 0.46.0
    "background task cancelled",  # (3) Kludex/starlette#1438
    "middleware task dropped",  # (3) Kludex/starlette#2688
    "first chunk only",  # (4) django/asgiref#115
    "pathsend dropped by gzip",  # (5) Starlette 0.36.0-0.38.0, reverted in 0.38.1
    "a2wsgi sender died",  # (5) abersheeran/a2wsgi#48, #49
    "unparsable upload escapes",  # (6) Kludex/starlette#3492
)


def measure_release_recall(seeds: int = 5, *, log: Callable[[str], None] = print) -> list[Any]:
    """Time to find each of ``RELEASES`` on its vulnerable release: ``seeds`` seeds on asyncio (medians)."""
    from benchmarks import timetobug

    bugs = tuple(b for b in timetobug.BUGS if b.name in RELEASES)
    return timetobug.measure_time_to_bug(seeds, backends=("asyncio",), bugs=bugs, log=log)


def _load(spec: str) -> Any:
    import importlib
    import sys

    if str(ROOT / "tests") not in sys.path:
        sys.path.insert(0, str(ROOT / "tests"))
    module, factory = spec.split(":")
    return getattr(importlib.import_module(module), factory)()


@dataclass(slots=True)
class RecallResult:
    name: str
    code: str
    budget: float
    seeds: int
    found: int = 0
    median_first: float | None = None
    max_first: float | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def measure_recall(
    budget: float,
    seeds: int,
    *,
    entries: tuple[RecallEntry, ...] = RECALL,
    log: Callable[[str], None] = print,
) -> list[RecallResult]:
    """Per entry: ``seeds`` runs of ``budget`` seconds each; found count and time to the first finding."""
    import asgifuzz

    out = []
    for entry in entries:
        result = RecallResult(entry.name, entry.code, budget, seeds)
        app = _load(entry.app)
        for seed in range(seeds):
            start = time.monotonic()
            run = asgifuzz.fuzz(app, max_time=budget, max_examples=10**9, seed=seed, exitfirst=True)
            elapsed = time.monotonic() - start
            hit = [f for f in run.findings if f.code in (entry.code, *entry.also)]
            result.runs.append(
                {
                    "seed": seed,
                    "found": bool(hit),
                    "code": hit[0].code if hit else None,
                    "seconds": round(elapsed, 2),
                    "examples": run.examples,
                    "behaviours": hit[0].behaviours if hit else [],
                    "other": sorted({f.code for f in run.findings} - {entry.code, *entry.also}),
                }
            )
        times = [r["seconds"] for r in result.runs if r["found"]]
        result.found = len(times)
        if times:
            result.median_first = statistics.median(times)
            result.max_first = max(times)
        log(
            f"  recall {entry.name}: found {result.found}/{seeds} in {budget:g}s runs, "
            f"median time to find {result.median_first}s"
        )
        out.append(result)
    return out

"""Where the time goes: a cProfile of the fuzz run, split by who owns the code.

Every function's own time (``tottime``) goes to a group by its file:

* **Hypothesis** -- ``hypothesis/``;
* **asgifuzz** -- the installed ``asgifuzz`` package (driver, clock, oracles,
  search, strategies);
* **app** -- ``starlette/`` and ``benchmarks/apps.py``;
* **event loop** -- ``asyncio/``, ``trio/``, ``anyio/``, ``sniffio/``,
  ``outcome/``, ``selectors.py``.

Built-ins and other standard-library functions (``isinstance``,
``contextlib``, ``random.getstate``...) have no owner of their own: their
time goes to the group of their callers, caller by caller (pstats records
the time per caller), following callers that are themselves unowned.
"""

from __future__ import annotations

import cProfile
import pstats
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.apps import APPS, LABELS

__all__ = ("GROUPS", "ProfileResult", "group_of", "measure_profile", "split")

GROUPS = ("Hypothesis", "asgifuzz", "app", "event loop", "other")

_LOOP_PARTS = ("/asyncio/", "/trio/", "/anyio/", "/sniffio/", "/outcome/", "/selectors.py")
_LOOP_BUILTINS = ("select.epoll", "_asyncio.", "_contextvars.Context", "select.select", "select.poll")

FuncKey = tuple[str, int, str]


@dataclass(slots=True)
class ProfileResult:
    app: str
    label: str
    backend: str
    seconds: float
    examples: int
    examples_per_s_profiled: float
    split: dict[str, float]
    us_per_example: dict[str, float]
    top: list[tuple[str, float]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _asgifuzz_dirs() -> tuple[str, ...]:
    import asgifuzz

    here = str(Path(asgifuzz.__file__).resolve().parent)
    dirs = {here + "/", str(Path(asgifuzz.__file__).parent) + "/"}
    try:
        import asgifuzz.strategies as strategies

        dirs.add(str(Path(strategies.__file__).resolve().parent) + "/")
    except ImportError:
        pass
    return tuple(dirs)


def group_of(key: FuncKey, asgifuzz_dirs: tuple[str, ...]) -> str | None:
    """The owner of a function, or None for built-ins and plain stdlib."""
    filename, _, name = key
    if filename == "~":
        return "event loop" if any(b in name for b in _LOOP_BUILTINS) else None
    if "/hypothesis/" in filename:
        return "Hypothesis"
    if filename.startswith(asgifuzz_dirs) or "/asgifuzz/" in filename:
        return "asgifuzz"
    if "/starlette/" in filename or filename.endswith("benchmarks/apps.py"):
        return "app"
    if any(p in filename for p in _LOOP_PARTS):
        return "event loop"
    return None


def split(stats: pstats.Stats) -> dict[str, float]:
    """Seconds of own time per group (see the module docstring)."""
    raw: dict[FuncKey, Any] = stats.stats  # type: ignore[attr-defined]
    dirs = _asgifuzz_dirs()
    memo: dict[FuncKey, str] = {}

    def owner(key: FuncKey, depth: int = 0) -> str:
        if key in memo:
            return memo[key]
        group = group_of(key, dirs)
        if group is None:
            memo[key] = "other"  # provisional, breaks cycles
            callers = raw.get(key, (0, 0, 0.0, 0.0, {}))[4]
            if callers and depth < 50:
                heaviest = max(callers.items(), key=lambda item: item[1][3])[0]
                group = owner(heaviest, depth + 1)
            else:
                group = "other"
        memo[key] = group
        return group

    totals: Counter[str] = Counter()
    for key, (_cc, _nc, tt, _ct, callers) in raw.items():
        if group_of(key, dirs) is not None or not callers:
            totals[owner(key)] += tt
            continue
        for caller, caller_stats in callers.items():
            totals[owner(caller)] += caller_stats[2]
    return {g: totals.get(g, 0.0) for g in GROUPS}


def _top(stats: pstats.Stats, n: int) -> list[tuple[str, float]]:
    raw: dict[FuncKey, Any] = stats.stats  # type: ignore[attr-defined]
    rows = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:n]
    out = []
    for (filename, line, name), value in rows:
        short = "/".join(filename.split("/")[-2:])
        out.append((f"{short}:{line}({name})", round(value[2], 4)))
    return out


def measure_profile(
    seconds: float,
    *,
    app: str = "bhm4",
    backends: tuple[str, ...] = ("asyncio", "trio"),
    log: Callable[[str], None] = print,
) -> list[ProfileResult]:
    from benchmarks.throughput import fuzz_rate

    results = []
    for backend in backends:
        fuzz_rate(APPS[app], backend, min(seconds, 0.5), seed=99)  # warm up
        profiler = cProfile.Profile()
        profiler.enable()
        examples, _steps, elapsed, _ = fuzz_rate(APPS[app], backend, seconds, seed=0)
        profiler.disable()
        stats = pstats.Stats(profiler)
        groups = split(stats)
        total = sum(groups.values()) or 1.0
        result = ProfileResult(
            app=app,
            label=LABELS[app],
            backend=backend,
            seconds=elapsed,
            examples=examples,
            examples_per_s_profiled=examples / elapsed if elapsed else 0.0,
            split={g: v / total for g, v in groups.items()},
            us_per_example={g: v / max(examples, 1) * 1e6 for g, v in groups.items()},
            top=_top(stats, 15),
        )
        log(f"  profile {app} {backend}: " + ", ".join(f"{g} {share:.0%}" for g, share in result.split.items()))
        results.append(result)
    return results

"""``python -m benchmarks [--quick]``: run every benchmark, write and print the report."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import ROOT
from benchmarks.report import render_markdown

__all__ = ("Budget", "main", "run")


@dataclass(frozen=True, slots=True)
class Budget:
    #: Seconds per throughput measurement (bare, fresh loop, fuzz, replay), per app and backend.
    throughput: float
    rounds: int
    seeds: int
    ttb_backends: tuple[str, ...]
    scale: float
    memory: float
    profile: float
    profile_backends: tuple[str, ...] = ("asyncio", "trio")
    #: How many of ``timetobug.BUGS`` to time (None: all).
    ttb_bugs: int | None = None
    #: Recall (``recall.RECALL``): seconds per run and seeds per entry.
    recall: float = 60.0
    recall_seeds: int = 5
    #: Issue 12's real releases (``recall.RELEASES``, pinned virtualenvs): seeds each; 0 skips them.
    recall_release_seeds: int = 5


FULL = Budget(
    throughput=2.0, rounds=3, seeds=10, ttb_backends=("asyncio", "trio"), scale=20.0, memory=300.0, profile=5.0
)
QUICK = Budget(
    throughput=0.3,
    rounds=1,
    seeds=3,
    ttb_backends=("asyncio",),
    scale=3.0,
    memory=8.0,
    profile=1.0,
    profile_backends=("asyncio",),
    ttb_bugs=1,
    recall=5.0,
    recall_seeds=1,
    recall_release_seeds=0,
)


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run(budget: Budget, *, mode: str, sections: tuple[str, ...]) -> dict[str, Any]:
    from benchmarks import profile, recall, scale, throughput, timetobug

    start = time.monotonic()
    doc: dict[str, Any] = {
        "mode": mode,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load": [round(x, 2) for x in os.getloadavg()],
        },
        "versions": _versions(),
        "budget": {k: getattr(budget, k) for k in budget.__slots__},
    }
    if "throughput" in sections:
        _log("throughput (bare drive loop vs asgifuzz, interleaved)...")
        doc["throughput"] = [
            r.to_json() for r in throughput.measure_throughput(budget.throughput, budget.rounds, log=_log)
        ]
    if "timetobug" in sections:
        _log("time to bug (pinned old Starlette, in its virtualenv)...")
        doc["time_to_bug"] = [
            r.to_json()
            for r in timetobug.measure_time_to_bug(
                budget.seeds, backends=budget.ttb_backends, bugs=timetobug.BUGS[: budget.ttb_bugs], log=_log
            )
        ]
    if "scale" in sections:
        _log("scale (1 and 2 workers)...")
        doc["scale"] = scale.measure_scale(budget.scale, log=_log).to_json()
    if "memory" in sections:
        _log(f"memory ({budget.memory:g}s run)...")
        doc["memory"] = scale.measure_memory(budget.memory, log=_log).to_json()
    if "profile" in sections:
        _log("profile (4 BaseHTTPMiddleware layers)...")
        doc["profile"] = [
            r.to_json() for r in profile.measure_profile(budget.profile, backends=budget.profile_backends, log=_log)
        ]
    if "recall" in sections:
        _log(f"recall ({budget.recall_seeds} seed(s) x {budget.recall:g}s per bug)...")
        doc["recall"] = [r.to_json() for r in recall.measure_recall(budget.recall, budget.recall_seeds, log=_log)]
        if budget.recall_release_seeds:
            _log(f"recall on real releases ({budget.recall_release_seeds} seeds each, pinned virtualenvs)...")
            doc["recall_releases"] = [
                r.to_json() for r in recall.measure_release_recall(budget.recall_release_seeds, log=_log)
            ]
    doc["wall_seconds"] = round(time.monotonic() - start, 1)
    return doc


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("asgifuzz", "hypothesis", "starlette", "anyio", "trio"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "-"
    return out


SECTIONS = ("throughput", "timetobug", "scale", "memory", "profile", "recall")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description="How fast asgifuzz explores.")
    parser.add_argument("--quick", action="store_true", help="tiny budgets: under a minute, for smoke tests")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results", help="directory for results.md and results.json"
    )
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated sections to run (default: {','.join(SECTIONS)})"
    )
    args = parser.parse_args(argv)
    sections = tuple(s.strip() for s in args.only.split(",") if s.strip())
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {unknown}; choose from {', '.join(SECTIONS)}")
    mode = "quick" if args.quick else "full"
    doc = run(QUICK if args.quick else FULL, mode=mode, sections=sections)
    markdown = render_markdown(doc)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "results-quick" if args.quick else "results"
    (args.out / f"{stem}.json").write_text(json.dumps(doc, indent=2) + "\n")
    (args.out / f"{stem}.md").write_text(markdown)
    print(markdown)
    _log(f"wrote {args.out / (stem + '.md')} and {args.out / (stem + '.json')} ({doc['wall_seconds']}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

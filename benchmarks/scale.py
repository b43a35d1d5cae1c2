"""Scale: examples/s with 1 and 2 workers, and memory over a long run.

Workers are separate processes.  If ``asgifuzz run`` has a ``--workers``
option it is used (``asgifuzz run benchmarks.apps:bhm4 --workers N``);
otherwise N independent ``python -m benchmarks.scale`` processes fuzz the
same app with different seeds at the same time and their examples are summed
(the report says which).  Every worker fuzzes the full app the way a user
would (``asgifuzz.fuzz``: its route plus its 4 BaseHTTPMiddleware layers in
front of the adversarial endpoints, with the transparency oracle).

Memory is the peak RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) of one
worker process after a warm-up of 200 examples and at the end of a long
run, with the current RSS sampled along the way.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks import ROOT

__all__ = ("MemoryResult", "ScaleResult", "measure_memory", "measure_scale")

APP = "benchmarks.apps:bhm4"


@dataclass(slots=True)
class ScaleResult:
    seconds: float
    method: str
    one_worker_per_s: float
    two_workers_per_s: float
    speedup: float
    cpus: int
    load_before: tuple[float, float, float]
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class MemoryResult:
    seconds: float
    examples: int
    examples_per_s: float
    rss_start_mib: float
    rss_end_mib: float
    growth: float
    #: Growth of the current RSS from the sample at a fifth of the run to the
    #: last one: Hypothesis's rounds grow to full size (MAX_ROUND examples) in the first tens
    #: of seconds and hold their state for a round, so this is the leak rate.
    steady_growth: float | None
    samples: list[tuple[float, int, float]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _peak_rss_mib() -> float:
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kib / (1024 * 1024) if sys.platform == "darwin" else kib / 1024


def _current_rss_mib() -> float:
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except (OSError, ValueError):
        return _peak_rss_mib()


def _load_app(spec: str) -> Any:
    import importlib

    module, attr = spec.split(":")
    return getattr(importlib.import_module(module), attr)


def worker(app_spec: str, seconds: float, seed: int, *, warmup: int = 200, sample_every: float = 5.0) -> dict[str, Any]:
    """Fuzz for ``seconds`` in this process; return counts and memory."""
    import asgifuzz

    app = _load_app(app_spec)
    asgifuzz.fuzz(app, max_examples=warmup, seed=10_000 + seed)
    rss_start = _peak_rss_mib()
    samples: list[tuple[float, int, float]] = []
    last = [0.0]

    def progress(stats: Any, findings: Any, elapsed: float) -> None:
        if elapsed - last[0] >= sample_every:
            last[0] = elapsed
            samples.append((round(elapsed, 1), stats.examples, round(_current_rss_mib(), 1)))

    start = time.perf_counter()
    result = asgifuzz.fuzz(app, max_examples=10**9, max_time=seconds, seed=seed, on_progress=progress)
    elapsed = time.perf_counter() - start
    return {
        "examples": result.examples,
        "steps": result.stats.steps,
        "seconds": elapsed,
        "findings": [f.code for f in result.findings],
        "rss_start_mib": rss_start,
        "rss_end_mib": _peak_rss_mib(),
        "samples": samples,
    }


def _cli_has_workers() -> bool:
    proc = subprocess.run(
        [sys.executable, "-m", "asgifuzz", "run", "--help"], capture_output=True, text=True, cwd="/", check=False
    )
    return "--workers" in proc.stdout


def _spawn_worker(seconds: float, seed: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks.scale", "--app", APP, "--seconds", str(seconds), "--seed", str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=str(ROOT),
    )


def _collect(procs: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"benchmark worker failed ({proc.returncode}): {stderr[-2000:]}")
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def _independent(n: int, seconds: float, first_seed: int = 1) -> tuple[float, list[dict[str, Any]]]:
    runs = _collect([_spawn_worker(seconds, seed=first_seed + i) for i in range(n)])
    return sum(r["examples"] / r["seconds"] for r in runs), runs


def _cli_workers(n: int, seconds: float, first_seed: int = 1) -> tuple[float, list[dict[str, Any]]]:
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable, "-m", "asgifuzz", "run", APP, "--workers", str(n), "--max-time", str(seconds),
            "--max-examples", str(10**9), "--seed", str(first_seed), "--json",
        ],
        capture_output=True, text=True, cwd=str(ROOT), check=False,
    )  # fmt: skip
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"asgifuzz run --workers failed ({proc.returncode}): {proc.stderr[-2000:]}")
    doc = json.loads(proc.stdout)
    elapsed = float(doc.get("elapsed") or wall)
    return doc["examples"] / elapsed, [{"examples": doc["examples"], "seconds": elapsed, "wall": wall}]


def measure_scale(seconds: float, *, log: Callable[[str], None] = print) -> ScaleResult:
    load = os.getloadavg()
    use_cli = _cli_has_workers()
    run: Callable[..., tuple[float, list[dict[str, Any]]]] = _cli_workers if use_cli else _independent
    method = (
        "asgifuzz run --workers N"
        if use_cli
        else "N independent processes (asgifuzz.fuzz, different seeds) at once, examples/s summed: "
        "the CLI had no --workers option"
    )
    # The two seeds of the 2-worker run, each alone: seeds differ in how much
    # shrinking they do, so one worker's rate is their mean.
    one_runs = []
    rates = []
    for seed in (1, 2):
        rate, runs = run(1, seconds, first_seed=seed)
        rates.append(rate)
        one_runs += runs
    one = sum(rates) / len(rates)
    two, two_runs = run(2, seconds, first_seed=1)
    result = ScaleResult(
        seconds=seconds,
        method=method,
        one_worker_per_s=one,
        two_workers_per_s=two,
        speedup=two / one if one else 0.0,
        cpus=os.cpu_count() or 1,
        load_before=(round(load[0], 2), round(load[1], 2), round(load[2], 2)),
        details={"one": one_runs, "two": two_runs},
    )
    log(f"  scale: 1 worker {one:.0f} ex/s, 2 workers {two:.0f} ex/s, x{result.speedup:.2f} ({method.split(':')[0]})")
    return result


def measure_memory(seconds: float, *, log: Callable[[str], None] = print) -> MemoryResult:
    (run,) = _collect([_spawn_worker(seconds, seed=1)])
    start, end = run["rss_start_mib"], run["rss_end_mib"]
    result = MemoryResult(
        seconds=run["seconds"],
        examples=run["examples"],
        examples_per_s=run["examples"] / run["seconds"],
        rss_start_mib=start,
        rss_end_mib=end,
        growth=(end - start) / start if start else 0.0,
        samples=[tuple(s) for s in run["samples"]],
        steady_growth=_steady_growth(run["samples"], run["seconds"]),
    )
    log(f"  memory: peak RSS {start:.1f} MiB -> {end:.1f} MiB over {result.seconds:.0f}s (+{result.growth:.1%})")
    if result.steady_growth is not None:
        log(f"  memory: current RSS after the first fifth of the run: {result.steady_growth:+.1%}")
    return result


def _steady_growth(samples: list[list[float]], seconds: float) -> float | None:
    later = [s for s in samples if s[0] >= seconds / 5]
    if len(later) < 2 or not later[0][2]:
        return None
    return (later[-1][2] - later[0][2]) / later[0][2]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="one benchmark worker: fuzz for a while, print JSON")
    parser.add_argument("--app", default=APP)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    print(json.dumps(worker(args.app, args.seconds, args.seed, sample_every=max(1.0, args.seconds / 20))))


if __name__ == "__main__":
    main()

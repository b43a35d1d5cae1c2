"""Smoke test of ``python -m benchmarks --quick``: the output's structure, not its speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_benchmarks_write_a_table_and_json(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(tmp_path)],
        cwd=str(ROOT),
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads((tmp_path / "results-quick.json").read_text())
    markdown = (tmp_path / "results-quick.md").read_text()
    assert markdown in proc.stdout
    assert doc["mode"] == "quick"

    rows = doc["throughput"]
    assert {(r["app"], r["backend"]) for r in rows} == {
        (app, backend) for app in ("raw_echo", "starlette_route", "bhm4", "pure4") for backend in ("asyncio", "trio")
    }
    for row in rows:
        assert row["bare_per_s"] > 0 and row["fuzz_examples_per_s"] > 0 and row["replay_per_s"] > 0
        assert row["ratio"] == pytest.approx(row["fuzz_examples_per_s"] / row["bare_per_s"])
        assert row["details"]["fuzz_findings"] == 0

    (bug,) = doc["time_to_bug"]
    assert bug["code"] == "exception-on-disconnect" and bug["seeds"] == 3
    if not bug["error"]:  # the virtualenv could be built
        assert bug["found"] == 3 and bug["median_first"] is not None
        assert all("No response returned" in run["message"] for run in bug["runs"])

    scale = doc["scale"]
    assert scale["one_worker_per_s"] > 0 and scale["two_workers_per_s"] > 0
    memory = doc["memory"]
    assert memory["rss_start_mib"] > 0 and memory["rss_end_mib"] >= memory["rss_start_mib"]
    (prof,) = doc["profile"]
    assert set(prof["split"]) == {"Hypothesis", "asgifuzz", "app", "event loop", "other"}
    assert sum(prof["split"].values()) == pytest.approx(1.0)

    for heading in ("## Throughput", "## Time to bug", "## Scale and memory", "## Where the time goes", "## Targets"):
        assert heading in markdown


def test_profile_split_charges_builtins_to_their_callers() -> None:
    import cProfile
    import pstats

    sys.path.insert(0, str(ROOT))  # importing benchmarks takes the checkout off sys.path again
    from benchmarks.profile import GROUPS, split

    profiler = cProfile.Profile()
    profiler.enable()
    sorted(range(10_000), key=lambda x: -x)
    profiler.disable()
    groups = split(pstats.Stats(profiler))
    assert tuple(groups) == GROUPS
    assert sum(groups.values()) > 0


def test_every_real_release_of_issue_12_is_timed() -> None:
    sys.path.insert(0, str(ROOT))  # importing benchmarks takes the checkout off sys.path again
    from benchmarks.recall import RELEASES
    from benchmarks.timetobug import BUGS

    names = {b.name: b for b in BUGS}
    assert set(RELEASES) <= set(names), set(RELEASES) - set(names)
    # The classes 5 and 6 bugs (tests/test_recall_releases_56.py) run on the vulnerable releases pinned there.
    assert names["pathsend dropped by gzip"].venv == "starlette-0.38.0"
    assert names["unparsable upload escapes"].venv == "starlette-1.6.0"
    assert names["a2wsgi sender died"].venv == "a2wsgi-1.10.3"

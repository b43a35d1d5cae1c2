"""Traffic shapes (slow uploads, disconnects mid-stream, slow senders): drawn often, counted, reported."""

from __future__ import annotations

import io
import itertools
import json

import pytest
from hypothesis import find, strategies as st
from hypothesis.errors import NoSuchExample
from shape_apps import first_chunk_only_app

from asgifuzz import Settings, fuzz
from asgifuzz._case import Action, Chunk, Disconnect, Latency, Run
from asgifuzz.report import Coverage, RunReport
from asgifuzz.report.json import JsonHandler
from asgifuzz.strategies._actions import SHAPES, script_shapes, shape_plan


def test_shapes_fit_the_body_and_the_comparison() -> None:
    assert find(script_shapes(splittable=True, coarse=False), lambda s: True) == "free"
    for shape in SHAPES:
        assert find(script_shapes(splittable=True, coarse=False), shape.__eq__) == shape
    with pytest.raises(NoSuchExample):
        find(script_shapes(splittable=False, coarse=True), lambda s: s in ("slow-upload", "slow-send"))


def test_a_slow_upload_is_the_body_in_parts_with_the_app_running_between() -> None:
    find(st.data(), lambda data: len(shape_plan(data, "slow-upload", 10)) >= 6)  # 3+ parts happen
    seen: list[list[Action]] = []

    def keep(data: st.DataObject) -> bool:
        seen.append(shape_plan(data, "slow-upload", 10))
        return True

    find(st.data(), keep)
    for plan in seen:
        sizes = [a.size for a in plan if isinstance(a, Chunk)]
        assert sum(sizes) == 10 and len(sizes) >= 2 and all(sizes)
        assert all(isinstance(b, Run) for a, b in itertools.pairwise(plan) if isinstance(a, Chunk))


def test_other_shapes_start_as_documented() -> None:
    def plan_of(shape: str) -> list[Action]:
        out: list[list[Action]] = []

        def keep(data: st.DataObject) -> bool:
            out.append(shape_plan(data, shape, 5))
            return True

        find(st.data(), keep)
        return out[0]

    mid = plan_of("disconnect-mid-stream")
    assert mid[0] == Chunk(5) and mid[1] == Run() and mid[-1] == Disconnect()
    assert isinstance(plan_of("slow-send")[0], Latency)
    assert plan_of("free") == []


def test_the_json_report_shows_each_shape_and_server_behaviour_share() -> None:
    settings = Settings.create(max_examples=120, seed=4)
    result = fuzz(first_chunk_only_app(), settings=settings.replace(checks=frozenset({"app-raised"})))
    assert set(result.stats.shapes) >= {"free", "slow-upload", "disconnect-mid-stream"}
    rep = RunReport(findings=[], target="t", seed=4, examples=result.examples, elapsed=1.0,
                    settings=settings, coverage=Coverage.of(result.stats))  # fmt: skip
    out = io.StringIO()
    JsonHandler(out).handle(rep)
    coverage = json.loads(out.getvalue())["coverage"]
    shares = coverage["shapes"]
    assert abs(sum(v["share"] for v in shares.values()) - 1) < 0.01
    assert shares["slow-upload"]["examples"] == result.stats.shapes["slow-upload"] > 0
    assert "uvicorn" in coverage["server_behaviours"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_middleware_that_replays_only_the_first_chunk_is_found(seed: int) -> None:
    # The class-7 benchmark (benchmarks/recall.py) on a small budget: a default
    # run needed 109-413 examples on seeds 0-4.
    result = fuzz(first_chunk_only_app(), max_examples=800, seed=seed, exitfirst=True)
    # The transparency oracle (the endpoint read less) or the chunking one (the
    # route answered differently to the same body in one chunk): the same bug.
    assert [f.code for f in result.findings] in (["request-body-altered"], ["response-depends-on-chunking"])
    case = result.findings[0].case
    assert case is not None and sum(isinstance(a, Chunk) for a in case.actions) >= 1

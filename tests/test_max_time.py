"""``max_time`` ends a search cleanly, even mid-round."""

from __future__ import annotations

import time
from typing import Any

import pytest

import asgifuzz


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = b""
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return
        body += message.get("body", b"")
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


#: Seconds a run may take past ``max_time``: the example in progress finishes
#: (an echo example takes milliseconds) and Hypothesis unwinds.
GRACE = 1.0
#: Examples one second of fuzzing an echo app trivially reaches: about 250 on
#: 2 cores, 20 with a load average of 27 on them.  A run that stopped after its
#: first example, or never started, fails.
AT_LEAST = 5


@pytest.mark.parametrize("seed", range(3))
def test_max_time_ends_mid_round_without_a_flaky_error(seed: int) -> None:
    # Running out of time used to reject the late examples, which Hypothesis
    # reported as FlakyStrategyDefinition (and kept generating for seconds).
    asgifuzz.fuzz(echo, max_examples=1, seed=seed)  # imports Hypothesis and the driver: not part of the bound
    start = time.monotonic()
    result = asgifuzz.fuzz(echo, max_time=1.0, max_examples=10**6, seed=seed)
    wall = time.monotonic() - start
    assert result.findings == []
    assert 1.0 <= result.elapsed < 1.0 + GRACE
    assert wall < 1.0 + GRACE + 1.0  # plus finding the targets and building the strategies
    assert result.examples > AT_LEAST
    assert not result.interrupted  # out of time is a normal end, not an interruption


def test_max_time_alone_lifts_the_example_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """``fuzz(app, max_time=...)`` alone is bounded by time, as the CLI's ``--max-time`` (issue 10).

    It used to keep the default budget of 1000 examples, which an app answers
    in seconds: the run stopped long before its time was spent.
    """
    from asgifuzz import _api
    from asgifuzz._config import TIME_BOUNDED, Settings

    seen: list[Settings] = []

    def fake_search(targets: Any, settings: Settings, *args: Any) -> Any:
        seen.append(settings)
        raise StopIteration

    monkeypatch.setattr(_api, "search", fake_search)
    for options, budget in (
        ({"max_time": 90.0}, TIME_BOUNDED),
        ({"max_time": 90.0, "max_examples": 50}, 50),  # both given: whichever ends first
        ({}, 1000),  # neither: the default budget
        ({"max_time": None}, 1000),
    ):
        with pytest.raises(StopIteration):
            asgifuzz.fuzz(echo, seed=1, **options)
        assert seen.pop().max_examples == budget, options


def test_max_time_alone_runs_until_the_time_is_spent() -> None:
    asgifuzz.fuzz(echo, max_examples=1, seed=0)  # imports Hypothesis and the driver: not part of the bound
    result = asgifuzz.fuzz(echo, max_time=2.0, seed=0)
    # Not stopped at 1000 examples: the time was spent (or the run went past 1000 before it was).
    assert result.elapsed >= 2.0 or result.examples > 1000, (result.examples, result.elapsed)
    assert result.elapsed < 2.0 + GRACE
    assert not result.interrupted

"""``max_time`` ends a search cleanly, even mid-round."""

from __future__ import annotations

from typing import Any

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


def test_max_time_ends_mid_round_without_a_flaky_error() -> None:
    # Running out of time used to reject the late examples, which Hypothesis
    # reported as FlakyStrategyDefinition (and kept generating for seconds).
    for seed in range(3):
        result = asgifuzz.fuzz(echo, max_time=0.2, max_examples=10**6, seed=seed)
        assert 0 < result.examples < 10**6
        assert result.findings == []

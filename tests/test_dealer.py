"""The search deals targets and methods itself (``asgifuzz._dealer``): every one is fuzzed, the same seed
gives the same run, a finding shrinks on its own target and method, lifespan keeps about one example in ten."""

from __future__ import annotations

from typing import Any

import asgifuzz
from asgifuzz._dealer import LIFESPAN_SHARE, Dealer

ROUTES = 15
METHODS = ("DELETE", "GET", "POST")


def test_every_unit_dealt_within_the_budget_and_lifespan_gets_one_in_ten() -> None:
    units = [(f"route {i} {m}", False) for i in range(ROUTES) for m in METHODS] + [
        (f"life {i}", True) for i in range(3)
    ]
    dealer = Dealer(units, max_examples=1000)
    got = dict.fromkeys((k for k, _ in units), 0)
    while dealer.examples < 1000 or not dealer.all_dealt():
        dealt = dealer.deal()
        assert dealt is not None
        i, size = dealt
        key = units[i][0]
        # The first unit's finding shrinks: 150 examples spent beyond its slice.
        extra = 150 if key == units[0][0] and got[key] == 0 else 0
        dealer.count(key, size + extra)
        got[key] += size + extra
    plain = [n for k, n in got.items() if k.startswith("route")]
    assert min(plain) >= 10, got  # (1000 - 150 shrinks - lifespan's tenth) / 45 units is 17
    lifespan = sum(n for k, n in got.items() if k.startswith("life"))
    assert abs(lifespan / sum(got.values()) - 1 / LIFESPAN_SHARE) < 0.03, got


def test_a_tiny_budget_still_deals_every_unit_once() -> None:
    units = [(str(i), False) for i in range(20)]
    dealer = Dealer(units, max_examples=5)
    seen = []
    while dealer.examples < 5 or not dealer.all_dealt():
        dealt = dealer.deal()
        assert dealt is not None
        seen.append(dealt)
        dealer.count(units[dealt[0]][0], dealt[1])
    assert sorted(i for i, _ in seen) == list(range(20)) and {size for _, size in seen} == {1}


def _app(seen: list[tuple[str, str]]) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        seen.append((scope["method"], scope["path"]))
        while (await receive()).get("more_body"):
            pass
        if scope["path"] == "/r7" and scope["method"] == "DELETE":
            raise RuntimeError("planted")
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def _fuzz(seen: list[tuple[str, str]]) -> Any:
    return asgifuzz.fuzz(
        _app(seen),
        paths=[f"{','.join(METHODS)} /r{i}" for i in range(ROUTES)],
        max_examples=300,
        seed=3,
        backend="asyncio",
        database=None,
        lifespan="off",
    )


def test_every_route_and_method_fuzzed_deterministically_and_a_finding_stays_on_its_method() -> None:
    seen: list[tuple[str, str]] = []
    result = _fuzz(seen)
    assert {(m, f"/r{i}") for i in range(ROUTES) for m in METHODS} <= set(seen)
    [finding] = [f for f in result.findings if f.code == "app-raised"]
    assert finding.case is not None
    assert (finding.case.scope["method"], finding.case.scope["path"]) == ("DELETE", "/r7")
    # The same seed, the same run: the same requests in the same order.
    again: list[tuple[str, str]] = []
    second = _fuzz(again)
    assert again == seen and second.stats.statuses == result.stats.statuses

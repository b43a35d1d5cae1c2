"""Zero false positives: correct apps pass every oracle on both backends."""

from __future__ import annotations

from typing import Any

import apps
import pytest

from asgifuzz import fuzz


def _correct_apps() -> dict[str, Any]:
    out: dict[str, Any] = dict(apps.correct_starlette_apps())
    out["plain-starlette"] = apps.starlette_app()
    out["pure-asgi-echo"] = apps.echo
    out["pure-asgi-echo-behind-pass-through"] = apps.PureASGIPassThrough(apps.echo)
    out["fastapi"] = apps.fastapi_app()
    return out


CORRECT = _correct_apps()


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("name", sorted(CORRECT))
def test_correct_app_has_no_findings(name: str, backend: str) -> None:
    result = fuzz(CORRECT[name], max_examples=300, seed=11, backend=backend)
    assert result.examples == 300
    assert result.findings == [], "\n".join(
        f"{f.code} {f.case.target if f.case else ''}: {f.message}" for f in result.findings
    )


@pytest.mark.parametrize("profile", ["hypercorn", "daphne", "strict"])
def test_correct_apps_pass_under_other_server_profiles(profile: str) -> None:
    for name in ("all-of-them", "pure-asgi-echo", "fastapi"):
        result = fuzz(CORRECT[name], max_examples=150, seed=12, profile=profile)
        assert result.findings == [], (name, [(f.code, f.message) for f in result.findings])


def test_pure_asgi_middleware_in_front_of_every_endpoint_is_transparent() -> None:
    result = fuzz(middleware=[apps.PureASGIPassThrough, apps.PureASGIPassThrough], max_examples=400, seed=13)
    assert result.findings == [], [(f.code, f.message) for f in result.findings]

"""Composed stacks: each example draws its own stack; findings shrink to the smallest."""

from __future__ import annotations

from pathlib import Path

import compose_apps

from asgifuzz import fuzz
from asgifuzz._corpus import load_case, replay_case, save_finding


def test_depth_dependent_bug_shrinks_to_its_minimal_stack(tmp_path: Path) -> None:
    result = fuzz(
        middleware=compose_apps.MIDDLEWARE,
        compose=True,
        endpoints=["background_async"],
        max_examples=300,
        seed=3,
        checks=["background-task-before-response"],
    )
    assert len(result.findings) == 1
    finding = result.findings[0]
    assert finding.case is not None and finding.case.stack == (0, 0)
    assert "stack[CountingBuffer, CountingBuffer]" in finding.message

    path = save_finding(finding, None, tmp_path, middleware="compose_apps:MIDDLEWARE")
    loaded = load_case(path)
    assert loaded.case.stack == (0, 0)
    replayed = replay_case(loaded)
    assert [f.code for f in replayed.findings] == ["background-task-before-response"]


def test_one_layer_of_the_same_middleware_is_clean() -> None:
    result = fuzz(
        middleware=compose_apps.MIDDLEWARE,
        endpoints=["background_async"],
        max_examples=100,
        seed=3,
    )
    assert result.findings == []

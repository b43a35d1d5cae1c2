"""Generated scopes, actions and stacks respect their documented constraints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from asgifuzz import UsageError
from asgifuzz._case import Chunk, Disconnect
from asgifuzz.strategies import client_actions, http_scopes, middleware_stacks


def _headers(scope: dict[str, Any]) -> dict[bytes, bytes]:
    return dict(scope["headers"])


@settings(max_examples=200, deadline=None)
@given(http_scopes(["GET", "POST"], path="/items/{item_id:int}/{rest:path}"))
def test_scopes_frame_the_body_consistently(pair: tuple[dict[str, Any], bytes]) -> None:
    scope, body = pair
    headers = _headers(scope)
    assert not (b"content-length" in headers and b"transfer-encoding" in headers)
    if b"content-length" in headers:
        assert int(headers[b"content-length"]) == len(body)
    if b"transfer-encoding" in headers:
        assert scope["http_version"] == "1.1"
    prefix, _, rest = scope["path"].partition("/items/")
    assert prefix == "" and rest.split("/")[0].isdigit()
    assert scope["raw_path"] == scope["path"].encode()


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_actions_never_send_body_after_a_disconnect(data: st.DataObject) -> None:
    action = data.draw(client_actions(10, connected=False))
    assert not isinstance(action, Chunk | Disconnect)
    chunk = data.draw(client_actions(5, connected=True))
    if isinstance(chunk, Chunk):
        assert 0 <= chunk.size <= 5


@settings(max_examples=100, deadline=None)
@given(middleware_stacks(["a", "b", "c"], min_depth=2, max_depth=5))
def test_stacks_respect_depth(stack: list[str]) -> None:
    assert 2 <= len(stack) <= 5


@settings(max_examples=50, deadline=None)
@given(middleware_stacks(["a", "b", "c"], min_depth=1, max_depth=3, repeats=False))
def test_stacks_without_repeats_are_distinct(stack: list[str]) -> None:
    assert len(set(stack)) == len(stack)


def test_bad_arguments_raise_usage_errors() -> None:
    with pytest.raises(UsageError, match="methods"):
        http_scopes([])
    with pytest.raises(UsageError, match="min_depth"):
        middleware_stacks(["a"], min_depth=3, max_depth=1)


def test_strategies_folder_stays_flat() -> None:
    folder = Path(__file__).resolve().parent.parent / "strategies"
    assert [p for p in folder.iterdir() if p.is_dir() and p.name != "__pycache__"] == []

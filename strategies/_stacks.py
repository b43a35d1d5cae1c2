"""Strategies for composing middleware stacks: order, depth and repeats."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from hypothesis import strategies as st

from asgifuzz._errors import UsageError

__all__ = ("middleware_stacks",)

T = TypeVar("T")


def middleware_stacks(
    middleware: Sequence[T], *, min_depth: int = 1, max_depth: int = 6, repeats: bool = True
) -> st.SearchStrategy[list[T]]:
    """Stacks built from ``middleware``, outermost first.

    Any order, any depth between ``min_depth`` and ``max_depth``, with the
    same middleware repeated when ``repeats`` (the seed bug needs four or
    more BaseHTTPMiddleware layers).  Shrinks towards shallow stacks of the
    first middleware.
    """
    if not middleware:
        raise UsageError("middleware=[] is empty; pass at least one middleware")
    if not 0 <= min_depth <= max_depth:
        raise UsageError(f"min_depth={min_depth!r}, max_depth={max_depth!r}: need 0 <= min_depth <= max_depth")
    if repeats:
        return st.lists(st.sampled_from(list(middleware)), min_size=min_depth, max_size=max_depth)
    top = min(max_depth, len(middleware))
    if min_depth > top:
        raise UsageError(f"min_depth={min_depth} needs repeats=True with {len(middleware)} middleware")
    return st.permutations(list(middleware)).flatmap(
        lambda order: st.integers(min_depth, top).map(lambda n: list(order[:n]))
    )

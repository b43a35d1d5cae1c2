"""Strategies for lifespan cases: what the server does (startup, requests, time, shutdown).

The server's actions never depend on what the app did; the driver skips the
ones a real server would not take in the current state (``server.lifespan_driver``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from hypothesis import strategies as st

from asgifuzz._case import Action, Advance, LsRequest, LsShutdown, LsStartup, Run

from ._draw_source import DrawSource

__all__ = ("LifespanDrawSource", "lifespan_actions", "lifespan_scopes")

#: Virtual seconds; 61 passes hypercorn's 60 s lifespan timeout.
_ADVANCES = (0.5, 2.0, 30.0, 61.0)


@lru_cache(maxsize=4)
def lifespan_actions(*, coarse: bool = False) -> st.SearchStrategy[Action | None]:
    """The server's next lifespan action, or None to end the script (then it starts and shuts down)."""
    options: list[st.SearchStrategy[Action | None]] = [
        st.none(),
        st.just(LsStartup()),
        st.just(LsRequest()),
        st.just(LsShutdown()),
        st.just(Run()),
        st.sampled_from(_ADVANCES).map(Advance),
    ]
    if not coarse:
        options.append(st.integers(1, 12).map(Run))
    return st.one_of(options)


def lifespan_scopes() -> st.SearchStrategy[tuple[dict[str, Any], bytes]]:
    """The lifespan scope (the driver adds ``asgi`` and ``state``) and an empty body."""
    return st.just(({"type": "lifespan"}, b""))


class LifespanDrawSource(DrawSource):
    """Draws the server's next lifespan action from Hypothesis (``_search`` uses it)."""

    def draw_action(self, connection: Any) -> Action | None:
        action: Action | None = self.data.draw(lifespan_actions(coarse=self.coarse))
        return action

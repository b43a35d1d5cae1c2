"""Strategies for the next client/server action of a connection.

The driver draws actions one at a time, given the client's state, so each
draw only offers actions that make sense (no body after a disconnect).  The
first choice of every draw is "stop", so scripts shrink towards short ones,
and chunk sizes shrink towards "send all the rest".
"""

from __future__ import annotations

from functools import lru_cache

from hypothesis import strategies as st

from asgifuzz._case import Action, Advance, Chunk, Disconnect, Latency, Run

__all__ = ("client_actions",)

_ADVANCES = (0.5, 1.0, 2.0, 5.0, 30.0)


@lru_cache(maxsize=512)
def client_actions(remaining: int, *, connected: bool, coarse: bool = False) -> st.SearchStrategy[Action | None]:
    """The next action, or None to end the script.

    ``remaining`` is how many body bytes the client has not sent yet.
    ``coarse`` keeps to actions whose effect does not depend on how many
    scheduler steps the app takes (used when comparing two apps).
    """
    options: list[st.SearchStrategy[Action | None]] = [st.none()]
    if connected and remaining:
        options.append(st.integers(0, remaining).map(lambda n: Chunk(remaining - n)))
    if connected:
        options.append(st.just(Disconnect()))
    options.append(st.just(Run()))
    options.append(st.sampled_from(_ADVANCES).map(Advance))
    if not coarse:
        options.append(st.integers(1, 12).map(Run))
        options.append(st.integers(0, 3).map(Latency))
    return st.one_of(options)

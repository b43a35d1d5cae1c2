"""Strategies for the next client/server action of a connection.

The driver draws actions one at a time, given the client's state, so each
draw only offers actions that make sense (no body after a disconnect).  The
first choice of every draw is "stop", so scripts shrink towards short ones,
and chunk sizes shrink towards "send all the rest".

Real traffic has shapes that uniform draws rarely produce (issue 12, class
7), so each HTTP script starts from a *shape* drawn first:

* ``free``: every action drawn one at a time, as above;
* ``slow-upload``: the body in 2-4 parts with the app running until it
  blocks between them (what any large request looks like);
* ``disconnect-mid-stream``: the whole body, the app runs (and time passes)
  so the response has begun, then the client leaves;
* ``slow-send``: every ``send()`` takes scheduler steps (flow control).

A shape only writes the first actions of the script; the rest is drawn
freely, and the recorded case is the plain list of actions, so shapes need
no corpus format and shrink like any other draw (towards ``free``).
"""

from __future__ import annotations

import itertools
from functools import lru_cache
from typing import Any

from hypothesis import strategies as st

from asgifuzz._case import Action, Advance, Chunk, Disconnect, Latency, Run

from ._draw_source import DrawSource

__all__ = ("SHAPES", "HttpDrawSource", "client_actions", "disconnect_position", "script_shapes", "shape_plan")

_ADVANCES = (0.5, 1.0, 2.0, 5.0, 30.0)
#: Shape names; the first is where shrinking goes.
SHAPES = ("free", "slow-upload", "disconnect-mid-stream", "slow-send")
#: Relative weights: out of 10 scripts with a body of 2+ bytes, 3 free, 4 slow
#: uploads, 2 disconnects mid-stream, 1 slow sender.
_WEIGHTS = {"free": 3, "slow-upload": 4, "disconnect-mid-stream": 2, "slow-send": 1}


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


@lru_cache(maxsize=4)
def script_shapes(*, splittable: bool, coarse: bool) -> st.SearchStrategy[str]:
    """The shape of one script: only those that fit the body and the comparison, by weight.

    A body under two bytes has no parts to upload slowly; a comparison of
    two apps keeps to actions that do not count scheduler steps, so no
    send latency.  Shrinks towards ``free``.
    """
    fits = [s for s in SHAPES if not (s == "slow-upload" and not splittable) and not (s == "slow-send" and coarse)]
    return st.sampled_from([s for s in fits for _ in range(_WEIGHTS[s])])


def _split(data: Any, size: int) -> list[int]:
    """2-4 part sizes, each at least one byte, that add up to ``size``."""
    parts = data.draw(st.integers(2, min(4, size)))
    cuts = sorted(data.draw(st.lists(st.integers(1, size - 1), min_size=parts - 1, max_size=parts - 1, unique=True)))
    bounds = [0, *cuts, size]
    return [b - a for a, b in itertools.pairwise(bounds)]


def shape_plan(data: Any, shape: str, body_size: int) -> list[Action]:
    """The first actions of a script of ``shape`` (the rest is drawn freely)."""
    if shape == "slow-upload":
        plan: list[Action] = []
        for part in _split(data, body_size):
            plan += [Chunk(part), Run()]
        return plan
    if shape == "disconnect-mid-stream":
        plan = [Chunk(body_size), Run()] if body_size else [Run()]
        if data.draw(st.booleans()):
            plan.append(Advance(data.draw(st.sampled_from(_ADVANCES))))
        return [*plan, Disconnect()]
    if shape == "slow-send":
        return [Latency(data.draw(st.integers(1, 3)))]
    return []


def disconnect_position(connection: Any) -> str:
    """Where in the exchange the client left (for the coverage stats)."""
    if connection.response.complete:
        return "after-response"
    if connection.response.start_seq is not None:
        return "mid-response"
    if connection.sent == 0 and connection.body:
        return "before-body"
    if connection.sent < len(connection.body):
        return "mid-body"
    return "after-body"


class HttpDrawSource(DrawSource):
    """Draws each next HTTP client action from Hypothesis, given the connection state (``_search`` uses it)."""

    def __init__(self, data: Any, *, coarse: bool, max_actions: int, stats: Any) -> None:
        super().__init__(data, coarse=coarse, max_actions=max_actions, stats=stats)
        self.plan: list[Action] = []
        self.shape = "free"

    def begin(self, connection: Any) -> None:
        body = len(connection.body)
        shape: str = self.data.draw(script_shapes(splittable=body >= 2, coarse=self.coarse))
        self.shape = shape
        self.plan = shape_plan(self.data, shape, body)
        shapes = getattr(self.stats, "shapes", None)
        if shapes is not None:
            shapes[shape] = shapes.get(shape, 0) + 1

    def draw_action(self, connection: Any) -> Action | None:
        action: Action | None
        if self.plan:
            action = self.plan.pop(0)
        else:
            remaining = len(connection.body) - connection.sent
            action = self.data.draw(
                client_actions(remaining, connected=not connection.disconnected, coarse=self.coarse)
            )
        if isinstance(action, Disconnect):
            self.stats.disconnect_positions.add(disconnect_position(connection))
        return action

"""The one shape every protocol's client script has: actions drawn one at a time, up to a budget.

The driver asks for the next action once it has acted on the last, so each
draw sees the connection as it is now (what was sent, whether the app
accepted, whether the client left).  Subclasses draw for their protocol.
"""

from __future__ import annotations

from typing import Any

from asgifuzz._case import Action

__all__ = ("DrawSource",)


class DrawSource:
    """Draws a connection's client actions from Hypothesis' ``data`` (``_search`` builds one per connection)."""

    def __init__(self, data: Any, *, coarse: bool, max_actions: int, stats: Any) -> None:
        self.data = data
        #: Fewer, larger steps: the differential runs compare whole outcomes, not schedules.
        self.coarse = coarse
        self.max_actions = max_actions
        self.count = 0
        self.stats = stats
        self._started = False

    def next_action(self, connection: Any) -> Action | None:
        if not self._started:
            self._started = True
            self.begin(connection)
        if self.count >= self.max_actions:
            return None
        self.count += 1
        return self.draw_action(connection)

    def begin(self, connection: Any) -> None:
        """Draw what holds for the whole script (its traffic shape), before the first action."""

    def draw_action(self, connection: Any) -> Action | None:
        raise NotImplementedError

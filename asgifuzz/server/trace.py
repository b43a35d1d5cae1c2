"""The message trace of one run: every event, numbered, at its (virtual) time."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Mapping
from typing import Any

from asgifuzz._finding import Actor, TraceEvent

__all__ = ("Recorder", "copy_message")


class Recorder:
    """Appends ``TraceEvent`` records; ``clock`` is set once the loop runs."""

    def __init__(self) -> None:
        self.events: list[TraceEvent] = []
        self._seq = itertools.count()
        #: Returns the loop's current time; 0.0 until the loop starts.
        self.clock: Callable[[], float] = lambda: 0.0
        #: The clock's time at the case's start: the loop's clock runs on across cases.
        self.origin = 0.0

    def now(self) -> float:
        try:
            return round(float(self.clock()) - self.origin, 9)
        except Exception:  # the loop is closed (a late call from a worker thread)
            return 0.0

    def record(self, actor: Actor, kind: str, message: dict[str, Any] | None = None, detail: str = "") -> int:
        # next() on itertools.count is atomic: worker threads (sync background
        # tasks) may record probe events while the loop thread records too.
        seq = next(self._seq)
        self.events.append(TraceEvent(seq, self.now(), actor, kind, message, detail))
        return seq


def copy_message(message: object) -> dict[str, Any] | None:
    """A copy of ``message`` taken at send time (apps may reuse or mutate the dict)."""
    if not isinstance(message, Mapping):
        return None
    out: dict[str, Any] = {}
    for k, v in message.items():
        if isinstance(v, bytearray | memoryview):
            v = bytes(v)
        elif k in ("headers", "links") and not isinstance(v, bytes | str | dict):
            with contextlib.suppress(TypeError):
                v = [tuple(p) if isinstance(p, list | tuple) else p for p in v]
        out[str(k)] = v
    return out

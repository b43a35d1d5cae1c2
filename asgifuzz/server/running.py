"""The run in progress, for the supervisor's watchdog thread.

The driver registers each run here when it starts and clears it when it
ends; the watchdog reads it from another thread to tell progress from a
blocked loop and to report the case so far.  An explicit handle, so that
renaming a local variable can never blind the watchdog.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from asgifuzz._case import Case
    from asgifuzz._finding import TraceEvent

__all__ = ("RunningCase", "current", "loop_thread", "set_current", "set_loop_thread")


class RunningCase(Protocol):
    @property
    def trace(self) -> list[TraceEvent]:
        """The trace so far (appended to by the loop thread)."""
        ...

    def case_so_far(self) -> Case:
        """The case with the actions applied until now."""
        ...


_current: list[RunningCase | None] = [None]


def current() -> RunningCase | None:
    return _current[0]


def set_current(run: RunningCase | None) -> None:
    _current[0] = run


_loop_thread: list[int | None] = [None]


def loop_thread() -> int | None:
    """The ident of the thread running the case's event loop (None: the thread that called run_case)."""
    return _loop_thread[0]


def set_loop_thread(ident: int | None) -> None:
    _loop_thread[0] = ident

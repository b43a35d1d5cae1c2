"""Exceptions nothing can catch, in a worker: a note for the user, not lines on stderr.

Python prints an exception raised in a ``__del__`` method or a weakref
callback to stderr ("Exception ignored in: ...") and goes on.  In a worker
these are the app's (or its libraries'): Starlette's gzip responder on
Python 3.12/3.13 before 3.13.3 makes one per abandoned response
(cpython#129726).  The worker counts them and reports one note instead.

A ``KeyboardInterrupt`` is the special case: the SIGINT that stops a worker
(at the time budget, or Ctrl-C) may arrive while a finalizer runs, and is
then printed and *lost*: the worker would fuzz on until it is killed.  The
guard raises it again in the main thread, from a helper thread through
``_thread.interrupt_main`` (so it goes through the SIGINT handler in place:
trio's while trio runs, Python's default otherwise; once the worker ignores
SIGINT, nothing happens).
"""

from __future__ import annotations

import _thread
import signal
import sys
import threading
from typing import Any

from asgifuzz._frames import exception_text

__all__ = ("UnraisableGuard",)


class UnraisableGuard:
    """``sys.unraisablehook`` for a worker process (see the module docstring)."""

    def __init__(self) -> None:
        self.count = 0
        self.first = ""
        self._lost = threading.Event()

    def install(self) -> None:
        sys.unraisablehook = self.hook
        threading.Thread(target=self._redeliver, name="asgifuzz-interrupts", daemon=True).start()

    def hook(self, unraisable: Any) -> None:
        exc = unraisable.exc_value
        if isinstance(exc, KeyboardInterrupt) or unraisable.exc_type is KeyboardInterrupt:
            self._lost.set()
            return
        self.count += 1
        if not self.first:
            where = f" (in {_describe(unraisable.object)})" if unraisable.object is not None else ""
            self.first = (exception_text(exc) if exc is not None else unraisable.exc_type.__name__) + where

    def notes(self) -> tuple[str, ...]:
        if not self.count:
            return ()
        note = (
            f"{self.count} exception(s) raised where nothing could catch them (a __del__ method or a "
            f"callback of the app or its libraries) were ignored; the first: {self.first}"
        )
        return (note,)

    def _redeliver(self) -> None:
        while True:
            self._lost.wait()
            self._lost.clear()
            _thread.interrupt_main(signal.SIGINT)


def _describe(obj: object) -> str:
    try:
        return repr(obj)[:200]
    except Exception:
        return f"<{type(obj).__name__}>"

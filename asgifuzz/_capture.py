"""The app's output during one example: its logging and what it writes to stdout/stderr.

asgifuzz raises deliberate exceptions into the app (a client that left, a
cancelled request) thousands of times a run; a service whose middleware logs
every exception would print thousands of tracebacks over the live panel, and
under pytest each failure would carry them all as "captured log".  So while
one example runs, ``capture()``:

* diverts every log record (``logging.Logger.handle``, for every logger,
  including loggers and threads the app creates during the example) into the
  capture instead of the handlers: level filtering is unchanged, as records
  below a logger's level are never made;
* replaces ``sys.stdout`` and ``sys.stderr`` by buffers (``print`` from the
  app, from its threads too).

Everything is restored when the example ends, whatever happened; captures
nest (the innermost one gets the output).  With ``stream=True`` (``-v``)
the output also goes where it would have gone.  The text is attached to the
example's findings and shown trimmed with them, as pytest shows a failing
test's captured log.
"""

from __future__ import annotations

import io
import logging
import sys
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

__all__ = ("OUTPUT_KEEP_LINES", "Capture", "capture", "trim_output")

#: Lines of output kept with a finding (the last ones: they are nearest to the failure).
OUTPUT_KEEP_LINES = 200
#: pytest's default ``log_format``, so captured records read the same as under pytest.
_FORMAT = "%(levelname)-8s %(name)s:%(filename)s:%(lineno)d %(message)s"

_lock = threading.Lock()
_stack: list[Capture] = []
_original_handle: Callable[[logging.Logger, logging.LogRecord], None] | None = None


def _diverting_handle(self: logging.Logger, record: logging.LogRecord) -> None:
    """``Logger.handle`` while a capture is active: the record goes to the capture."""
    current = _stack[-1] if _stack else None
    original = _original_handle
    if current is None or original is None:  # a thread racing the restore
        if original is not None:
            original(self, record)
        return
    if self.disabled:
        return
    kept: object = self.filter(record)
    if not kept:
        return
    if isinstance(kept, logging.LogRecord):  # Python 3.12+: a filter may return a new record
        record = kept
    current.add_record(record)
    if current.stream:
        self.callHandlers(record)


class _Stream(io.TextIOBase):
    """Stands in for ``sys.stdout``/``sys.stderr``: text goes to the capture (and on, when streaming)."""

    def __init__(self, owner: Capture, original: TextIO) -> None:
        super().__init__()
        self._owner = owner
        self._original = original

    def write(self, text: str) -> int:
        self._owner.add_text(text)
        if self._owner.stream:
            self._original.write(text)
        return len(text)

    def flush(self) -> None:
        if self._owner.stream:
            self._original.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        # Code that needs a real descriptor (faulthandler, subprocess) gets the original one.
        return self._original.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._original, "encoding", None) or "utf-8"


class Capture:
    """What the app logged and printed during one example, in order."""

    def __init__(self, *, stream: bool = False) -> None:
        self.stream = stream
        #: Printed text and log records, in the order they came.
        self._parts: list[str | logging.LogRecord] = []
        #: The last exception the app logged at ERROR or above (the one behind a 5xx it answered).
        self.exception: BaseException | None = None
        self._saved: tuple[Any, Any] | None = None

    def add_record(self, record: logging.LogRecord) -> None:
        self._parts.append(record)
        if record.levelno >= logging.ERROR and record.exc_info and record.exc_info[1] is not None:
            self.exception = record.exc_info[1]

    def add_text(self, text: str) -> None:
        if text:
            self._parts.append(text)

    def __bool__(self) -> bool:
        return bool(self._parts)

    def text(self) -> str:
        """All of it as text: records formatted as pytest's captured log, prints as printed."""
        formatter = logging.Formatter(_FORMAT)
        out: list[str] = []
        for part in self._parts:
            if isinstance(part, str):
                out.append(part)
                continue
            try:
                line = formatter.format(part)
            except Exception as exc:  # a record whose message does not format: say so, do not fail the run
                line = f"{part.levelname:<8} {part.name}: unformattable log record ({type(exc).__name__}: {exc})"
            out.append(line + "\n")
        return "".join(out)

    def kept(self) -> str:
        """The text to attach to a finding: its last ``OUTPUT_KEEP_LINES`` lines."""
        lines = self.text().splitlines()
        if len(lines) <= OUTPUT_KEEP_LINES:
            return "\n".join(lines)
        dropped = len(lines) - OUTPUT_KEEP_LINES
        return "\n".join([f"... {dropped} earlier line(s) not kept ...", *lines[-OUTPUT_KEEP_LINES:]])

    # ------------------------------------------------------------ scoping

    def __enter__(self) -> Capture:
        global _original_handle
        with _lock:
            if not _stack:
                _original_handle = logging.Logger.handle
                logging.Logger.handle = _diverting_handle  # type: ignore[method-assign]
            _stack.append(self)
            self._saved = (sys.stdout, sys.stderr)
            sys.stdout = _Stream(self, sys.stdout)
            sys.stderr = _Stream(self, sys.stderr)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        global _original_handle
        with _lock:
            if self._saved is not None:
                sys.stdout, sys.stderr = self._saved
                self._saved = None
            if self in _stack:
                _stack.remove(self)
            if not _stack and _original_handle is not None:
                logging.Logger.handle = _original_handle  # type: ignore[method-assign,assignment]
                _original_handle = None


def capture(*, stream: bool = False) -> Capture:
    """A ``Capture`` to use as a context manager around one example."""
    return Capture(stream=stream)


def trim_output(text: str, *, lines: int = 30) -> tuple[list[str], int]:
    """The last ``lines`` lines of captured ``text`` and how many earlier ones were left out."""
    all_lines = text.splitlines()
    if len(all_lines) <= lines:
        return all_lines, 0
    return all_lines[-lines:], len(all_lines) - lines

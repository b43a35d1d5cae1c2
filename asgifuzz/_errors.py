"""Exceptions raised by asgifuzz (this module imports nothing of asgifuzz).

The tree::

    ASGIFuzzError
    ├── Violation (also AssertionError): the app under test broke an invariant;
    │   carries the ``Finding``.  The search raises one subclass per distinct
    │   finding, so Hypothesis shrinks each on its own.
    ├── UsageError (also ValueError): asgifuzz was called or configured wrongly.
    └── CorpusError: a saved case cannot be read.

The invariants themselves are data, not exception classes: see
``asgifuzz.checks.invariants``.
"""

from __future__ import annotations

from typing import Any

__all__ = ("ASGIFuzzError", "CorpusError", "DatabaseError", "UsageError", "Violation")


class ASGIFuzzError(Exception):
    """Base class of every exception asgifuzz raises on purpose."""


class UsageError(ASGIFuzzError, ValueError):
    """asgifuzz was given a bad argument, option, target or file."""


class CorpusError(ASGIFuzzError):
    """A corpus file is unreadable, invalid, or from a future format."""


class DatabaseError(ASGIFuzzError):
    """The example database failed during the run (a Redis server that went away): exit status 3."""


class Violation(ASGIFuzzError, AssertionError):
    """The app under test broke an invariant; ``finding`` says which and how."""

    def __init__(self, message: str, finding: Any = None) -> None:
        super().__init__(message)
        #: The ``asgifuzz.Finding`` this exception reports.
        self.finding = finding

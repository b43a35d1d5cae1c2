"""The messages a worker sends its parent, one frozen dataclass per kind.

Each crosses the pipe pickled, so every field is plain data, a ``Snapshot``,
or a ``Case``/``Finding`` made portable first (``portable``).  ``worker`` is
the sender's index.  After a *final* message (``Fatal``, ``Usage``,
``Internal``, ``Done``) the worker says nothing the parent will read.
"""

from __future__ import annotations

from dataclasses import dataclass

from asgifuzz._case import Case
from asgifuzz._finding import Finding
from asgifuzz.supervisor.run import Snapshot

__all__ = (
    "FINAL",
    "Beat",
    "Done",
    "Fatal",
    "FindingMessage",
    "Internal",
    "Message",
    "Ready",
    "Usage",
)


@dataclass(frozen=True, slots=True)
class Ready:
    """The app imported; fuzzing starts."""

    worker: int


@dataclass(frozen=True, slots=True)
class Usage:
    """The target cannot be fuzzed (import failed, not an app): exit status 2."""

    worker: int
    #: One line for the user.
    error: str
    #: The traceback behind it (shown with --debug), or "".
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Beat:
    """Every ``HEARTBEAT`` seconds: the worker is alive, and what it is doing."""

    worker: int
    #: The worker's statistics so far (None until the search reports them).
    stats: Snapshot | None
    #: The case in progress, as far as it got (None between cases).
    case: Case | None


@dataclass(frozen=True, slots=True)
class FindingMessage:
    """A new distinct finding, sent as soon as the search reports it."""

    worker: int
    finding: Finding


@dataclass(frozen=True, slots=True)
class Fatal:
    """A finding the worker does not survive (blocked loop, ``os._exit``); it exits next."""

    worker: int
    finding: Finding


@dataclass(frozen=True, slots=True)
class Internal:
    """asgifuzz itself failed in the worker (never the app's fault): exit status 3."""

    worker: int
    error: str
    detail: str = ""
    #: The error is the whole story (the example database went away), not a bug to report.
    plain: bool = False


@dataclass(frozen=True, slots=True)
class Done:
    """The worker's final result."""

    worker: int
    stats: Snapshot | None
    findings: tuple[Finding, ...] = ()
    #: The search stopped on SIGINT (by the parent at the time budget, or Ctrl-C).
    interrupted: bool = False
    #: Problems of the run the user should know about (one line each).
    notes: tuple[str, ...] = ()


Message = Ready | Usage | Beat | FindingMessage | Fatal | Internal | Done

#: Message types after which a worker's story is over.
FINAL: tuple[type, ...] = (Fatal, Usage, Internal, Done)

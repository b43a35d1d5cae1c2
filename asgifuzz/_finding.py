"""Findings and the message trace they carry.

Imports only the invariant records and the frame helpers: a ``Case`` is held
by reference (``_case`` imports nothing of this module).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from asgifuzz._frames import trimmed_traceback
from asgifuzz.checks.invariants import Invariant, Severity

if TYPE_CHECKING:
    from asgifuzz._case import Case

_CODE_SITE = re.compile(r":\d+$")

__all__ = ("Actor", "Finding", "FindingKey", "RemoteException", "TraceEvent", "group_findings")

Actor = Literal["client", "server", "app", "layer", "endpoint", "asgifuzz"]
#: Invariant code, target, exception type, location: one distinct finding.
FindingKey = tuple[str, str, str, str]


class RemoteException(Exception):
    """An app exception that crossed a process boundary, kept as text.

    Tracebacks do not pickle and the app's exception classes may not import
    in the parent, so a worker process sends ``type_name`` (the qualified
    name, which ``Finding.key`` uses) and the formatted ``text``.
    """

    def __init__(self, type_name: str, text: str) -> None:
        super().__init__(type_name, text)
        self.type_name = type_name
        self.text = text

    def __str__(self) -> str:
        return self.text.rstrip().splitlines()[-1] if self.text.strip() else self.type_name


@dataclass(slots=True)
class TraceEvent:
    """One line of the message trace, in the order it happened."""

    seq: int
    time: float
    actor: Actor
    #: e.g. "receive", "send", "chunk", "returned", "raised", "finding"
    kind: str
    message: dict[str, Any] | None = None
    detail: str = ""


@dataclass(slots=True)
class Finding:
    """A violated invariant observed in one run of one case."""

    invariant: Invariant
    message: str
    #: Where it happened: "file:line" of the app frame (or the exception site).
    where: str = ""
    #: The app's exception, for findings about exceptions.
    exception: BaseException | None = None
    trace: list[TraceEvent] = field(default_factory=list)
    case: Case | None = None
    #: How many times the fuzz run saw this distinct finding.
    hits: int = 1
    flaky: bool = False
    #: For transparency findings: the trace of the bare app's run.
    reference_trace: list[TraceEvent] | None = None
    #: Other targets where the same root cause showed (``group_findings``).
    also: list[str] = field(default_factory=list)
    #: What real servers made of the case (``asgifuzz run --confirm``), one line each.
    confirmations: list[str] = field(default_factory=list)
    #: The server behaviours under which the case shows this finding
    #: (``_behaviours.name_behaviours``): ``hypercorn``, ``uvicorn+send-after-disconnect=raise``.
    behaviours: list[str] = field(default_factory=list)
    #: What the app logged and printed during the example (``asgifuzz._capture``), its last lines.
    output: str = ""

    @property
    def code(self) -> str:
        return self.invariant.code

    @property
    def severity(self) -> Severity:
        return self.invariant.severity

    @property
    def key(self) -> FindingKey:
        """Deduplication key: invariant, target, exception type, location."""
        if isinstance(self.exception, RemoteException):
            exc = self.exception.type_name
        else:
            exc = type(self.exception).__qualname__ if self.exception is not None else ""
        target = self.case.target if self.case is not None else ""
        return (self.code, target, exc, self.where)

    @property
    def root_cause(self) -> tuple[str, str, str]:
        """What one bug has in common wherever it shows: invariant, exception type, place.

        The place is the line of code when the finding has one; otherwise
        (transparency findings) the middleware stack, whatever endpoint it
        fronted.
        """
        code, target, exc, where = self.key
        if _CODE_SITE.search(where.split(" in ")[0]):
            return (code, exc, where)
        return (code, exc, target.split(" -> ")[0])

    def exception_text(self) -> str:
        if self.exception is None:
            return ""
        if isinstance(self.exception, RemoteException):
            return self.exception.text.rstrip()
        return trimmed_traceback(self.exception)


def group_findings(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per root cause: the first of each group, with the other targets in ``also``.

    One middleware bug seen through every adversarial endpoint (or every
    route) is one report, "also seen on N targets", not N reports.
    """
    groups: dict[tuple[str, str, str], Finding] = {}
    out: list[Finding] = []
    for finding in findings:
        rep = groups.get(finding.root_cause)
        if rep is None:
            groups[finding.root_cause] = finding
            out.append(finding)
            continue
        first = rep.case.target if rep.case is not None else ""
        for target in [finding.case.target if finding.case is not None else "", *finding.also]:
            if target and target != first and target not in rep.also:
                rep.also.append(target)
        rep.hits += finding.hits
    return out

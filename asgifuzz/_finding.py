"""Findings and the message trace they carry."""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from asgifuzz._case import Case
    from asgifuzz._errors import Violation

__all__ = ("Finding", "RemoteException", "TraceEvent", "exception_site")

Actor = Literal["client", "server", "app", "endpoint", "asgifuzz"]


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
    #: e.g. "receive", "send", "action", "returned", "raised", "probe"
    kind: str
    message: dict[str, Any] | None = None
    detail: str = ""


@dataclass(slots=True)
class Finding:
    """A violated invariant observed in one run of one case."""

    invariant: type[Violation]
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
    #: For transparency findings: the trace of the bare endpoint's run.
    reference_trace: list[TraceEvent] | None = None

    @property
    def code(self) -> str:
        return self.invariant.code

    @property
    def key(self) -> tuple[str, str, str, str]:
        """Deduplication key: invariant, target, exception type, location."""
        if isinstance(self.exception, RemoteException):
            exc = self.exception.type_name
        else:
            exc = type(self.exception).__qualname__ if self.exception is not None else ""
        target = self.case.target if self.case is not None else ""
        return (self.code, target, exc, self.where)

    def to_exception(self) -> Violation:
        return self.invariant(self.message, self)

    def exception_text(self) -> str:
        if self.exception is None:
            return ""
        if isinstance(self.exception, RemoteException):
            return self.exception.text.rstrip()
        exc = self.exception
        # Start at the app: the first frames are the fake server calling it.
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None and _engine_file(tb.tb_frame.f_code.co_filename):
            tb = tb.tb_next
        # anyio/Starlette re-raise a group's only exception from inside the
        # group ("collapse_excgroups"): the group adds nothing but noise.
        context = exc.__context__
        chain = not (isinstance(context, BaseExceptionGroup) and exc in context.exceptions)
        return "".join(traceback.format_exception(type(exc), exc, tb, chain=chain)).rstrip()


def exception_text(exc: BaseException) -> str:
    """``Type: message``, or just ``Type`` for a bare ``assert`` and the like."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def exception_site(exc: BaseException) -> str:
    """'file:line' where ``exc`` was raised (innermost frame)."""
    tb = exc.__traceback__
    if tb is None:
        return ""
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    return f"{_short(code.co_filename)}:{tb.tb_lineno}"


_OWN_DIR = __file__.rsplit("/", 1)[0] + "/"


def _engine_file(filename: str) -> bool:
    """A file of asgifuzz's engine; its endpoints and demo are app code."""
    return filename.startswith(_OWN_DIR) and not filename.endswith(("endpoints.py", "demo.py"))


def _short(filename: str) -> str:
    for marker in ("site-packages/", "dist-packages/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    if filename.startswith(_OWN_DIR):  # asgifuzz's endpoints and demo, even from an editable install
        return "asgifuzz/" + filename[len(_OWN_DIR) :]
    return filename

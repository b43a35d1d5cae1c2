"""``RunReport``: everything a report needs about one run, and the ``Handler`` protocol.

A run (``asgifuzz run``, a pytest test) ends by building one ``RunReport``
and handing it to a list of handlers, in order: the corpus handler saves
each finding's case and sets its replay hint, then the renderers (text,
terminal, JSON, JUnit, SARIF) read the report.  The CLI and the pytest
plugin run the same handlers, so a new output format is one handler module
that both can use.

Findings are ordered by severity (errors first, stable otherwise), so the
numbers ``[1]``, ``[2]`` ... are the same in every report of one run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from asgifuzz._errors import UsageError
from asgifuzz._finding import Finding, FindingKey, group_findings
from asgifuzz.checks.invariants import Severity

if TYPE_CHECKING:
    from asgifuzz._config import Settings

__all__ = (
    "EXIT_FINDINGS",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "FAIL_ON",
    "SEVERITIES",
    "Coverage",
    "FailOn",
    "Handler",
    "RunReport",
    "check_fail_on",
    "run_handlers",
    "write_file",
)

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INTERRUPTED = 130

FailOn = Literal["error", "warning"]
#: The accepted ``--fail-on`` / ``asgifuzz_fail_on`` values.
FAIL_ON: tuple[FailOn, ...] = ("error", "warning")
#: Every severity, the most serious first: the order of every report.
SEVERITIES: tuple[Severity, ...] = ("error", "warning")


def check_fail_on(value: str) -> FailOn:
    """``value`` as a ``FailOn``; anything else raises ``UsageError`` with one line."""
    if value == "error":
        return "error"
    if value == "warning":
        return "warning"
    raise UsageError(f"fail_on={value!r} is unknown; choose 'error' or 'warning'")


class _Counters(Protocol):
    """What ``Coverage`` reads: the search's ``Stats`` and the supervisor's ``Snapshot`` both have it."""

    steps: int
    disconnect_positions: set[str]
    targets_seen: set[str]
    depths_seen: set[int]
    backends_seen: set[str]
    statuses: dict[str, dict[str, int]]
    shapes: dict[str, int]
    behaviours: dict[str, int]


@dataclass(frozen=True, slots=True)
class Coverage:
    """How much of the state space the run reached."""

    steps: int = 0
    disconnect_positions: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    backends: tuple[str, ...] = ()
    stack_depths: tuple[int, ...] = ()
    #: target id -> response status -> examples.
    statuses: dict[str, dict[str, int]] = field(default_factory=dict)
    #: HTTP script shape (slow-upload, ...) -> examples.
    shapes: dict[str, int] = field(default_factory=dict)
    #: Server behaviour (``hypercorn``, ``uvicorn+send-after-disconnect=raise``) -> examples.
    behaviours: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, counters: _Counters) -> Coverage:
        return cls(
            steps=counters.steps,
            disconnect_positions=tuple(sorted(counters.disconnect_positions)),
            targets=tuple(sorted(counters.targets_seen)),
            backends=tuple(sorted(counters.backends_seen)),
            stack_depths=tuple(sorted(counters.depths_seen)),
            statuses={t: dict(c) for t, c in counters.statuses.items()},
            shapes=dict(counters.shapes),
            behaviours=dict(counters.behaviours),
        )


@dataclass(slots=True, kw_only=True)
class RunReport:
    """The result of one run, as every report handler sees it."""

    findings: list[Finding]
    #: What was fuzzed, as the user named it (``main:app``, a middleware list).
    target: str
    seed: int
    examples: int
    elapsed: float
    settings: Settings
    #: Problems of the run itself (a worker that had to be killed, ...).
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False
    coverage: Coverage = field(default_factory=Coverage)
    workers: int = 1
    #: The lowest severity that fails the run (exit status 1, a failed test).
    fail_on: FailOn = "error"
    #: The command that reproduces each finding, by ``Finding.key``.
    hints: dict[FindingKey, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_fail_on(self.fail_on)
        grouped = group_findings(self.findings)
        self.findings = sorted(grouped, key=lambda f: SEVERITIES.index(f.severity))

    def hint(self, finding: Finding) -> str | None:
        return self.hints.get(finding.key)

    def fails(self, finding: Finding) -> bool:
        """Whether ``finding`` alone fails the run under ``fail_on``."""
        return SEVERITIES.index(finding.severity) <= SEVERITIES.index(self.fail_on)

    @property
    def failing(self) -> list[Finding]:
        return [f for f in self.findings if self.fails(f)]

    def counts(self) -> dict[Severity, int]:
        """Findings per severity, every severity present (0 when none)."""
        return {s: sum(1 for f in self.findings if f.severity == s) for s in SEVERITIES}

    def groups(self) -> list[tuple[Severity, list[tuple[int, Finding]]]]:
        """The non-empty severity groups, most serious first, each finding with its report number."""
        numbered = list(enumerate(self.findings, 1))
        out: list[tuple[Severity, list[tuple[int, Finding]]]] = []
        for severity in SEVERITIES:
            members = [(i, f) for i, f in numbered if f.severity == severity]
            if members:
                out.append((severity, members))
        return out

    def exit_status(self) -> int:
        """130 when interrupted, else 1 when a finding fails the run, else 0."""
        if self.interrupted:
            return EXIT_INTERRUPTED
        return EXIT_FINDINGS if self.failing else EXIT_OK


class Handler(Protocol):
    """One consumer of a finished run: a renderer, a file writer, the corpus."""

    def handle(self, report: RunReport) -> None: ...


def run_handlers(report: RunReport, handlers: Iterable[Handler]) -> None:
    """Feed ``report`` to each handler in order (the corpus first: it sets the replay hints)."""
    for handler in handlers:
        handler.handle(report)


def write_file(path: str | Path, text: str) -> None:
    """Write a report file, creating its folder; an unwritable path is a ``UsageError``."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from exc

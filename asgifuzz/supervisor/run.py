"""What a supervised run takes (``RunOptions``) and gives back (``Snapshot``, ``RunResult``)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

from asgifuzz._config import Settings
from asgifuzz._errors import UsageError
from asgifuzz._finding import Finding
from asgifuzz.checks.invariants import EVENT_LOOP_BLOCKED, PROCESS_EXITED

__all__ = ("SUPERVISOR_CODES", "RunOptions", "RunResult", "Snapshot")

#: Codes found by the supervisor, not by fuzz(): no replayable corpus case.
SUPERVISOR_CODES = frozenset({EVENT_LOOP_BLOCKED.code, PROCESS_EXITED.code})

_SETTINGS_FIELDS = frozenset(f.name for f in dataclasses.fields(Settings))


@dataclass(frozen=True, slots=True, init=False)
class RunOptions:
    """The app to load in each worker, and the ``Settings`` of the whole run.

    ``RunOptions(target, app_dir=..., factory=..., settings=settings)`` is the
    form to use.  ``settings.max_examples`` is the budget of the whole run
    (split between ``settings.workers``), ``settings.seed`` the run's seed
    (worker *i* fuzzes with ``seed + i * 1_000_003``; None picks one, reported
    back in ``RunResult.seed``), and ``settings.database`` a directory path, a
    Redis URL (``redis://host:port/db``: workers on other machines share it)
    or None: each worker opens its own handle on it.

    Any ``Settings`` field may also be given as a keyword (``max_examples=``,
    ``checks=``, ...): it overrides ``settings`` and is validated like
    ``Settings.create`` does.  Reading a ``Settings`` field from the options
    (``options.virtual_time``) reads ``options.settings``.
    """

    target: str
    app_dir: str | None
    factory: bool
    settings: Settings

    def __init__(
        self,
        target: str,
        *,
        app_dir: str | None = None,
        factory: bool = False,
        settings: Settings | None = None,
        **knobs: Any,
    ) -> None:
        settings = settings if settings is not None else Settings()
        if knobs:
            fields = {name: getattr(settings, name) for name in _SETTINGS_FIELDS}
            settings = Settings.create(**{**fields, **knobs})
        database = settings.database
        if isinstance(database, os.PathLike):
            settings = settings.replace(database=os.fspath(database))
        elif database is not None and not isinstance(database, str):
            raise UsageError(
                f"database={database!r}: worker processes need the example database as a directory path or a redis:// URL (or None)"
            )
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "app_dir", app_dir)
        object.__setattr__(self, "factory", factory)
        object.__setattr__(self, "settings", settings)

    def __getattr__(self, name: str) -> Any:
        if name in _SETTINGS_FIELDS:
            return getattr(self.settings, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __getstate__(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ("target", "app_dir", "factory", "settings")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)


@dataclass(slots=True)
class Snapshot:
    """What the parent knows so far, for the progress display."""

    examples: int = 0
    steps: int = 0
    disconnect_positions: set[str] = field(default_factory=set)
    targets_seen: set[str] = field(default_factory=set)
    depths_seen: set[int] = field(default_factory=set)
    backends_seen: set[str] = field(default_factory=set)
    #: target id -> response status -> examples (the per-route coverage).
    statuses: dict[str, dict[str, int]] = field(default_factory=dict)
    #: HTTP script shape -> examples; server behaviour -> examples.
    shapes: dict[str, int] = field(default_factory=dict)
    behaviours: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    elapsed: float = 0.0
    workers: int = 0
    workers_alive: int = 0


@dataclass(slots=True)
class RunResult:
    findings: list[Finding]
    snapshot: Snapshot
    seed: int
    elapsed: float
    interrupted: bool = False
    #: A usage error (bad target): one line; the run found nothing.
    error: str | None = None
    #: The traceback behind ``error`` (shown with --debug).
    error_detail: str = ""
    #: ``error`` is asgifuzz's own failure, not bad input (exit status 3).
    internal: bool = False
    #: Problems of the run itself (a worker that had to be killed, ...).
    notes: list[str] = field(default_factory=list)

"""``Settings``: every knob of a fuzz run, in one place.

The Python API (``fuzz(**options)``), the command line and the pytest plugin
all build one ``Settings`` and hand it down unchanged: the search, the fake
server and the supervisor read their knobs from it.  A new option is one
field here plus the line that exposes it (a CLI flag, an ini key).

``Settings.create`` takes the user-facing spellings (``backend="both"``,
``checks=["-app-raised"]``) and turns them into the canonical fields, raising
``UsageError`` with one line for anything wrong.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from asgifuzz._errors import UsageError

__all__ = ("BACKENDS", "TIME_BOUNDED", "Backend", "Settings", "resolve_budget", "select_checks")

#: The example budget of a run bounded by its time budget alone (never reached).
TIME_BOUNDED = 10**9


def resolve_budget(max_examples: int | None, max_time: float | None, default: int) -> int:
    """The example budget: as given; else unbounded when a time budget is given alone; else ``default``."""
    if max_examples is not None:
        return max_examples
    return TIME_BOUNDED if max_time is not None else default


Backend = Literal["asyncio", "trio"]
BACKENDS: tuple[Backend, ...] = ("asyncio", "trio")


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    # -- budget
    #: Generated interactions (split between workers by the CLI).
    max_examples: int = 1000
    #: Stop after this many seconds; alone, it bounds the run by time.
    max_time: float | None = None
    #: Makes a run reproducible; None picks one at random (reported back).
    seed: int | None = None
    #: Stop at the first finding.
    exitfirst: bool = False
    # -- how the app runs
    backends: tuple[Backend, ...] = ("asyncio",)
    #: The real server imitated (``asgifuzz.server.profiles``); None (the
    #: default) draws the server behaviour per example: a profile and its
    #: knobs, shrunk towards uvicorn like the rest of the case.
    profile: str | None = None
    #: Virtual time (default) or the real clock.
    virtual_time: bool = True
    #: Run the app's lifespan around each connection: "auto" (as uvicorn:
    #: skipped when the app does not support it), "on" (required) or "off".
    lifespan: Literal["auto", "on", "off"] = "auto"
    #: Virtual seconds the lifespan startup and shutdown may take.
    lifespan_timeout: float = 60.0
    #: Virtual seconds the client waits for a complete response before leaving.
    client_patience: float = 300.0
    #: Virtual seconds the app has to return after the response or disconnect.
    hang_timeout: float = 60.0
    #: Virtual seconds to watch for late calls and leaked tasks after return.
    grace: float = 1.0
    #: Client actions per generated case, and body bytes per request.
    max_actions: int = 12
    #: Most connections of one example (a session on one app instance, ``server.session``); 1: one
    #: connection per example.  One HTTP example in ``_search.SESSION_SHARE`` is a session of 2 to this many.
    max_connections: int = 3
    max_body: int = 2048
    #: The app's routes named by hand ("GET,POST /items/{id:int}"), instead
    #: of reading them from the app's routing.
    paths: tuple[str, ...] = ()
    #: Glob patterns (``--route``): fuzz only the targets whose route path or
    #: id matches one of them; empty fuzzes every target.
    routes: tuple[str, ...] = ()
    # -- what is reported
    #: Invariant codes to report; None reports every one.
    checks: frozenset[str] | None = None
    #: Let the app's logging and prints through as they happen (``-v``), besides
    #: keeping them with the findings (``asgifuzz._capture``).
    show_output: bool = False
    # -- persistence and processes
    #: A directory, a ``redis://host:port/db`` URL shared between machines,
    #: a Hypothesis example database, or None (``asgifuzz._database``).
    database: Any = None
    #: Worker processes (the CLI; the API runs in the calling process).
    workers: int = 1
    #: Seconds one example may make no progress before event-loop-blocked.
    block_timeout: float = 5.0

    @classmethod
    def create(cls, **options: Any) -> Settings:
        """Settings from user-facing options; unknown or bad values raise ``UsageError``.

        Besides the field names this accepts ``backend`` ("asyncio", "trio",
        "both" or a list), ``connections`` (``max_connections``) and ``checks`` as any iterable of codes, where a
        leading '-' excludes a code.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        if "connections" in options:  # the CLI's, the ini's and the marker's spelling
            connections = options.pop("connections")
            if connections is not None:
                options["max_connections"] = connections
        if "backend" in options:
            backend = options.pop("backend")
            if backend is not None:
                options["backends"] = _backends(backend)
        unknown = sorted(set(options) - names)
        if unknown:
            hints = []
            for name in unknown:
                close = difflib.get_close_matches(name, sorted(names | {"backend", "connections"}), n=1)
                hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise UsageError(f"unknown option(s) {', '.join(hints)}")
        if options.get("checks") is not None and not isinstance(options["checks"], frozenset):
            options["checks"] = select_checks(options["checks"])
        if "backends" in options:
            options["backends"] = _backends(options["backends"])
        settings = cls(**{k: v for k, v in options.items() if v is not None or k in ("max_time", "seed", "database", "checks", "profile")})
        settings.validate()
        return settings

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def validate(self) -> None:
        if self.max_examples < 1:
            raise UsageError(f"max_examples={self.max_examples!r} must be at least 1")
        if self.max_connections < 1:
            raise UsageError(f"connections={self.max_connections!r} must be at least 1 (1: one connection per example)")
        if self.max_time is not None and self.max_time <= 0:
            raise UsageError(f"max_time={self.max_time!r} must be a positive number of seconds")
        if self.workers < 1:
            raise UsageError(f"workers={self.workers!r} must be at least 1")
        if self.block_timeout <= 0:
            raise UsageError(f"block_timeout={self.block_timeout!r} must be positive")
        if self.lifespan not in ("auto", "on", "off"):
            raise UsageError(f"lifespan={self.lifespan!r} is unknown; choose auto, on or off")
        for b in self.backends:
            if b not in BACKENDS:
                raise UsageError(f"backend {b!r} is unknown; choose asyncio, trio or both")
        if "trio" in self.backends:
            try:
                import trio
            except ImportError:
                raise UsageError("backend 'trio' needs trio installed: pip install trio") from None
            try:
                import anyio._backends._trio  # noqa: F401
            except Exception as exc:  # anyio 3 uses trio.MultiError, gone since trio 0.25
                from importlib.metadata import version

                import trio

                raise UsageError(
                    f"backend 'trio': anyio {version('anyio')} cannot run on trio "
                    f"{trio.__version__} ({type(exc).__name__}: {exc}); pass --backend asyncio, "
                    "or install anyio>=4 (or trio<0.25)"
                ) from None
        from asgifuzz._database import validate_database
        from asgifuzz.server.profiles import get_profile

        if self.profile is not None:
            get_profile(self.profile)
        validate_database(self.database)

    def reports(self, code: str) -> bool:
        """Whether findings of invariant ``code`` are reported."""
        return self.checks is None or code in self.checks

    def example_database(self) -> Any:
        """The Hypothesis example database (a directory path or a Redis URL becomes one)."""
        from asgifuzz._database import open_database

        return open_database(self.database)


def _backends(value: object) -> tuple[Backend, ...]:
    if value == "both":
        return BACKENDS
    items = (value,) if isinstance(value, str) else tuple(value)  # type: ignore[arg-type]
    for b in items:
        if b not in BACKENDS:
            raise UsageError(f"backend {b!r} is unknown; choose asyncio, trio or both")
    return items  # type: ignore[return-value]


def select_checks(items: str | Iterable[str] | None) -> frozenset[str] | None:
    """The codes to report: ``a,b`` keeps a and b; ``-a,-b`` keeps all but a and b.

    Accepts one comma-separated string (the CLI and ini form) or any
    iterable of codes (the API and marker form).  Unknown codes raise
    ``UsageError`` with the closest known code.
    """
    from asgifuzz.checks import INVARIANTS

    if items is None:
        return None
    if isinstance(items, str):
        items = items.split(",")
    codes = [c.strip() for c in items if c and c.strip()]
    if not codes:
        return None
    include = [c for c in codes if not c.startswith("-")]
    exclude = [c[1:] for c in codes if c.startswith("-")]
    for code in include + exclude:
        if code not in INVARIANTS:
            close = difflib.get_close_matches(code, list(INVARIANTS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else "; run 'asgifuzz checks' for the list"
            raise UsageError(f"unknown invariant {code!r}{hint}")
    selected = include or list(INVARIANTS)
    return frozenset(c for c in selected if c not in exclude)

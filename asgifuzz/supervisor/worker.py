"""The worker process: import the app, fuzz its share of the budget, report to the parent."""

from __future__ import annotations

import faulthandler
import signal
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from asgifuzz._config import Settings
from asgifuzz._errors import DatabaseError, UsageError
from asgifuzz._finding import Finding, FindingKey
from asgifuzz._frames import exception_text
from asgifuzz.supervisor.channel import Channel
from asgifuzz.supervisor.messages import Done, FindingMessage, Internal, Ready, Usage
from asgifuzz.supervisor.portable import portable_finding, snapshot_of
from asgifuzz.supervisor.unraisable import UnraisableGuard
from asgifuzz.supervisor.watchdog import Watchdog, hook_os_exit

if TYPE_CHECKING:
    from asgifuzz._search import SearchResult

__all__ = ("WorkerSpec", "worker_main")


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """What one worker process is asked to do."""

    index: int
    target: str
    app_dir: str | None
    factory: bool
    #: The run's settings with this worker's budget and seed.
    settings: Settings
    #: ``time.monotonic()`` at which the run's time budget ends (the clock is system-wide).
    deadline: float | None
    #: The faulthandler dump goes here (read back by the parent if the process dies).
    fault_path: str


def worker_main(spec: WorkerSpec, conn: Connection) -> None:
    """The worker process' entry point (``multiprocessing``, spawn).

    The parent starts it with SIGINT blocked and ignored (no
    ``KeyboardInterrupt`` in the middle of multiprocessing's bootstrap; one
    that came meanwhile is pending); from here on SIGINT raises
    ``KeyboardInterrupt``, which this function handles, until the search is
    over; then it is ignored again.
    """
    guard = UnraisableGuard()
    guard.install()
    channel = Channel(conn)
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        fault_file = open(spec.fault_path, "w")  # noqa: SIM115 - open for the process' lifetime
        faulthandler.enable(file=fault_file, all_threads=False)
        app = _load(spec, channel)
        if app is not None:
            channel.send(Ready(spec.index))
            _fuzz(spec, channel, app, guard)
    except KeyboardInterrupt:
        channel.send(
            Done(
                spec.index,
                None,
                interrupted=True,
                notes=tuple(f"worker {spec.index}: {note}" for note in guard.notes()),
            )
        )
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _load(spec: WorkerSpec, channel: Channel) -> Any:
    """The app, or None after telling the parent why not."""
    from asgifuzz._loading import load_target

    try:
        return load_target(spec.target, app_dir=spec.app_dir, factory=spec.factory)
    except UsageError as exc:
        detail = "".join(traceback.format_exception(exc.__cause__)) if exc.__cause__ is not None else ""
        channel.send(Usage(spec.index, str(exc), detail))
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit at import, ...
        text = f"importing {spec.target!r} raised {type(exc).__name__}: {exc}"
        channel.send(Usage(spec.index, text, "".join(traceback.format_exception(exc))))
    return None


def _fuzz(spec: WorkerSpec, channel: Channel, app: Any, guard: UnraisableGuard) -> None:
    from asgifuzz._api import fuzz

    watchdog = Watchdog(spec.index, channel, spec.settings.block_timeout)
    watchdog.start()
    hook_os_exit(spec.index, channel, watchdog)
    sent: set[FindingKey] = set()

    def on_progress(stats: Any, findings: list[Finding], elapsed: float) -> None:
        watchdog.stats = stats
        for finding in findings:
            if finding.key not in sent:
                sent.add(finding.key)
                channel.send(FindingMessage(spec.index, portable_finding(finding)))

    settings = spec.settings
    if spec.deadline is not None:
        settings = settings.replace(max_time=max(0.05, spec.deadline - time.monotonic()))
    result: SearchResult | None = None
    try:
        try:
            watchdog.fuzzing = True
            result = fuzz(app, settings=settings, on_progress=on_progress)
        finally:
            # From here on a SIGINT (a second Ctrl-C, the parent's stop) is
            # ignored: whatever the search returned gets to the parent.
            watchdog.fuzzing = False
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    except KeyboardInterrupt:
        pass  # stopped before the search could return: the stats so far
    except UsageError as exc:
        channel.send(Usage(spec.index, str(exc)))
        return
    except DatabaseError as exc:
        channel.send(Internal(spec.index, str(exc), "".join(traceback.format_exception(exc)), plain=True))
        return
    except BaseException as exc:
        # The driver turns everything the app raises into findings, so what
        # reaches here is asgifuzz's own failure: never a finding about the app.
        channel.send(Internal(spec.index, exception_text(exc), "".join(traceback.format_exception(exc))))
        return
    if result is None:
        channel.send(
            Done(
                spec.index,
                snapshot_of(watchdog.stats),
                interrupted=True,
                notes=tuple(f"worker {spec.index}: {note}" for note in guard.notes()),
            )
        )
        return
    channel.send(
        Done(
            spec.index,
            snapshot_of(result.stats),
            tuple(portable_finding(f) for f in result.findings),
            interrupted=result.interrupted,
            notes=tuple(result.notes) + tuple(f"worker {spec.index}: {note}" for note in guard.notes()),
        )
    )

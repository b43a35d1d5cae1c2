"""Heartbeats, the blocked-loop watchdog and the ``os._exit`` hook of a worker.

Python threads keep running while the main thread spins, so the watchdog
thread sees when the running example makes no progress (same case, no new
trace event, no new example) for ``block_timeout`` seconds while the loop
thread is not idle in its selector, and reports ``event-loop-blocked`` with
the loop thread's stack and the case so far.  The running case is read from
the driver's explicit handle (``asgifuzz.server.running``).

The watchdog's own failures are never findings: a beat whose read of the
running case fails is skipped (no progress is judged from it, so it cannot
become ``event-loop-blocked``), and a watchdog that fails ``FAILURE_LIMIT``
beats in a row reports an internal error and ends the worker (exit status 3
for the run).  Heartbeats go out before anything that can fail, so the
parent never mistakes a failing watchdog for a worker that holds the GIL.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any, Literal, NoReturn

from asgifuzz._case import Case
from asgifuzz._finding import Finding, RemoteException, TraceEvent
from asgifuzz._frames import current_frames, exception_text, frame_site, stack_text
from asgifuzz.checks.invariants import APP_HANG, EVENT_LOOP_BLOCKED, PROCESS_EXITED, Invariant
from asgifuzz.server import running
from asgifuzz.server.running import RunningCase
from asgifuzz.supervisor.channel import Channel
from asgifuzz.supervisor.messages import Beat, Fatal, Internal
from asgifuzz.supervisor.portable import portable_case, portable_finding, snapshot_of

__all__ = ("FAILURE_LIMIT", "HEARTBEAT", "IDLE_LIMIT", "REAL_EXIT", "Progress", "Watchdog", "hook_os_exit")

HEARTBEAT = 0.25
#: The loop idle in its selector this long, with no progress, is a hang.
IDLE_LIMIT = 30.0
#: Beats in a row the watchdog may fail before it gives up (internal error).
#: Well below the parent's silence limit, so the parent hears it first.
FAILURE_LIMIT = 8

# The watchdog ends the worker with the real os._exit: through the hook
# below, its own exit would be reported as the app calling os._exit.
REAL_EXIT: Callable[[int], NoReturn] = os._exit

Verdict = Literal["blocked", "hang"]

_IDLE = re.compile(r"(selectors\.py|[/\\]trio[/\\]_core[/\\]_io_\w+\.py|[/\\]threading\.py)$")


def idle(frame: FrameType) -> bool:
    """The loop thread waits in the selector (for timers or a worker thread): not blocked."""
    return bool(_IDLE.search(frame.f_code.co_filename))


@dataclass(slots=True)
class Progress:
    """Tells progress from a blocked or hung loop, from one observation per beat."""

    block_timeout: float
    idle_limit: float
    token: object = None
    since: float = 0.0

    def reset(self, now: float) -> None:
        self.token, self.since = None, now

    def update(self, token: object, now: float, *, loop_idle: bool) -> Verdict | None:
        """``token`` changes whenever the case makes progress; None means "nothing to watch"."""
        if token is None or token != self.token:
            self.token, self.since = token, now
            return None
        stuck = now - self.since
        if loop_idle:
            return "hang" if stuck >= self.idle_limit else None
        return "blocked" if stuck >= self.block_timeout else None

    def stuck(self, now: float) -> float:
        return now - self.since


def _case_of(run: RunningCase | None) -> Case | None:
    if run is None:
        return None
    try:
        return run.case_so_far()
    except Exception:
        return None


def fatal_finding(
    invariant: Invariant, message: str, where: str, stack: str, run: RunningCase | None, note: str
) -> Finding:
    """A finding about the case in progress, as far as it got (not shrunk), made portable."""
    trace: list[TraceEvent] = []
    if run is not None:
        try:
            trace = list(run.trace)
        except Exception:  # the trace is evidence, not the verdict: go on without it
            trace = []
        last = trace[-1] if trace else None
        note += " (the case in progress, not shrunk)"
        trace.append(
            TraceEvent((last.seq + 1) if last else 0, last.time if last else 0.0, "asgifuzz", "note", None, note)
        )
    finding = Finding(
        invariant,
        message,
        where=where,
        exception=RemoteException("<stack>", stack) if stack else None,
        trace=trace,
        case=_case_of(run),
    )
    return portable_finding(finding)


class Watchdog(threading.Thread):
    """Heartbeats, and the watchdog for a blocked event loop (see the module docstring)."""

    def __init__(self, index: int, channel: Channel, block_timeout: float) -> None:
        super().__init__(name="asgifuzz-watchdog", daemon=True)
        self.index = index
        self.channel = channel
        self.progress = Progress(block_timeout, max(IDLE_LIMIT, 3 * block_timeout))
        self.main_ident = threading.main_thread().ident or 0
        #: The search's statistics (set by the worker's progress callback).
        self.stats: Any = None
        #: True while the search runs (between cases too).
        self.fuzzing = False
        #: Beats in a row that failed.
        self.failures = 0

    def run(self) -> None:
        try:
            while True:
                time.sleep(HEARTBEAT)
                self.tick(time.monotonic())
        except BaseException as exc:  # tick() handles Exception: this is the last resort
            self.give_up(exc)

    def tick(self, now: float) -> None:
        """One beat; a failure is skipped, ``FAILURE_LIMIT`` failures in a row are an internal error."""
        try:
            read = self.beat(now)
        except Exception as exc:
            self.failures += 1
            self.progress.reset(now)
            if self.failures >= FAILURE_LIMIT:
                self.give_up(exc)
        else:
            # A beat between cases read nothing: it neither clears nor adds a
            # failure (cases on the long-lived loop are short).
            if read:
                self.failures = 0

    def give_up(self, exc: BaseException) -> NoReturn:
        """The watchdog cannot work: say so (asgifuzz's failure, not the app's) and end the worker."""
        try:
            self.channel.send(
                Internal(
                    self.index,
                    f"the watchdog cannot read the case in progress: {exception_text(exc)}",
                    "".join(traceback.format_exception(exc)),
                )
            )
        finally:
            REAL_EXIT(3)

    def beat(self, now: float) -> bool:
        """Send the stats and the case so far, then judge the loop's progress; False when no case ran."""
        # The case's loop runs in the main thread, or in the trio runner's own thread.
        frame = current_frames().get(running.loop_thread() or self.main_ident)
        run = running.current() if self.fuzzing else None
        self.channel.send(Beat(self.index, snapshot_of(self.stats), portable_case(_case_of(run))))
        if frame is None or run is None:
            self.progress.reset(now)
            return False
        token = (id(run), len(run.trace), self.stats.examples if self.stats is not None else -1)
        verdict = self.progress.update(token, now, loop_idle=idle(frame))
        if verdict == "blocked":
            self.blocked(run, frame, self.progress.stuck(now))
        elif verdict == "hang":
            self.hang(run, self.progress.stuck(now))
        return True

    def blocked(self, run: RunningCase | None, frame: FrameType, stuck: float) -> NoReturn:
        """The loop thread ran ``frame`` without awaiting for ``stuck`` seconds: report, exit."""
        where = frame_site(frame)
        finding = fatal_finding(
            EVENT_LOOP_BLOCKED,
            f"the event loop made no progress for {stuck:.1f}s: the app is running "
            f"{frame.f_code.co_name}() at {where} without awaiting",
            where,
            stack_text(frame, "Stack of the event loop thread (most recent call last):"),
            run,
            f"the event loop is blocked in {frame.f_code.co_name}() at {where}",
        )
        self.channel.send(Fatal(self.index, finding))
        REAL_EXIT(0)

    def hang(self, run: RunningCase | None, stuck: float) -> NoReturn:
        """The loop waited ``stuck`` seconds for something that never came (a worker thread)."""
        frames = current_frames()
        stacks = [
            stack_text(f, f"Thread {ident} (most recent call last):")
            for ident, f in frames.items()
            if ident not in (self.main_ident, running.loop_thread(), threading.get_ident())
        ]
        finding = fatal_finding(
            APP_HANG,
            f"the case made no progress for {stuck:.0f}s: the event loop waits for something that never "
            "happens (a worker thread that does not finish?)",
            "",
            "\n\n".join(stacks),
            run,
            f"no progress for {stuck:.0f}s",
        )
        self.channel.send(Fatal(self.index, finding))
        REAL_EXIT(0)


def hook_os_exit(index: int, channel: Channel, watchdog: Watchdog) -> None:
    """While fuzzing, the app calling ``os._exit`` is reported (``process-exited``) before the exit."""

    def exit_hook(status: int) -> NoReturn:
        try:
            if watchdog.fuzzing:
                frame = sys._getframe(1)
                where = frame_site(frame)
                finding = fatal_finding(
                    PROCESS_EXITED,
                    f"the app called os._exit({status!r}) at {where}: the process ended",
                    where,
                    stack_text(frame, f"os._exit({status!r}) was called from (most recent call last):"),
                    running.current(),
                    f"the app called os._exit({status!r})",
                )
                channel.send(Fatal(index, finding))
        finally:
            REAL_EXIT(status)

    os._exit = exit_hook

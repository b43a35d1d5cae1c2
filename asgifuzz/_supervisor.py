"""Fuzz in worker processes, supervised by the parent (``asgifuzz run``).

Theory of operation
-------------------
The app under test runs in the fuzzer's own event loop, so an app that blocks
the loop (``while True: pass``, ``time.sleep``) or ends the process
(``os._exit``, a crash in a C extension) would take an in-process fuzzer down
with it.  So the CLI never imports the app itself: it starts ``workers``
processes (multiprocessing, *spawn*), each of which imports the app and runs
``asgifuzz.fuzz`` on its share of the example budget, with its own seed and
one shared Hypothesis example database.

Each worker talks to the parent over a pipe (messages are pickled tuples):

* ``ready``      the app imported; ``usage`` if it did not (one line of text);
* ``beat``       every 0.25 s from a heartbeat thread: the stats so far and the
                 case in progress (read from the driver's ``Connection``);
* ``finding``    each new distinct finding, made portable first (exceptions
                 become ``RemoteException`` text, trace messages plain data);
* ``fatal``      a finding the worker cannot survive: the loop is blocked, or
                 the app called ``os._exit``.  The worker exits right after;
* ``done``       the final result.

The heartbeat thread is also the *watchdog*: Python threads keep running
while the main thread spins, so it sees when the running example makes no
progress (same connection, no new trace event) for ``block_timeout`` seconds
while the main thread is not idle in the selector, and reports
``event-loop-blocked`` with the stack of the loop thread and the case so far.

The parent is the last line: a worker that dies without a ``done`` (exit
status, fatal signal; the ``faulthandler`` dump is read back) becomes a
``process-exited`` finding with the last case in progress; a worker that
stops beating (the app holds the GIL) is killed and reported as blocked; and
at the time budget (plus a small margin) workers get SIGINT, then SIGKILL.
Ctrl-C in the parent forwards SIGINT and collects what the workers found.
"""

from __future__ import annotations

import contextlib
import faulthandler
import multiprocessing
import os
import pickle
import re
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, wait
from types import FrameType
from typing import Any, NoReturn

from asgifuzz._case import Case
from asgifuzz._errors import UsageError
from asgifuzz._finding import Finding, RemoteException, TraceEvent
from asgifuzz._frames import exception_text, frame_site, short_path, stack_text
from asgifuzz.checks.invariants import APP_HANG, EVENT_LOOP_BLOCKED, PROCESS_EXITED, Invariant

__all__ = ("RunOptions", "RunResult", "Snapshot", "portable_finding", "supervise")

HEARTBEAT = 0.25
#: A worker silent this long (no heartbeat: the app holds the GIL) is killed.
SILENCE = 10.0
#: The loop idle in its selector this long, with no progress, is a hang.
IDLE_LIMIT = 30.0
#: Importing the app must finish within this many seconds.
IMPORT_TIMEOUT = 60.0
#: After the time budget, a worker gets this long to return what it has.
STOP_GRACE = 2.0
KILL_GRACE = 3.0

#: Codes found by the supervisor, not by fuzz(): no replayable corpus case.
SUPERVISOR_CODES = frozenset({EVENT_LOOP_BLOCKED.code, PROCESS_EXITED.code})

Key = tuple[str, str, str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOptions:
    target: str
    app_dir: str | None = None
    factory: bool = False
    max_examples: int = 1000
    max_time: float | None = None
    seed: int = 0
    backends: tuple[str, ...] = ("asyncio",)
    profile: str = "uvicorn"
    checks: tuple[str, ...] | None = None
    exitfirst: bool = False
    virtual_time: bool = True
    #: Directory of the shared Hypothesis example database, or None.
    database: str | None = None
    block_timeout: float = 5.0
    workers: int = 1


@dataclass(slots=True)
class Snapshot:
    """What the parent knows so far, for the progress display."""

    examples: int = 0
    steps: int = 0
    disconnect_positions: set[str] = field(default_factory=set)
    targets_seen: set[str] = field(default_factory=set)
    depths_seen: set[int] = field(default_factory=set)
    backends_seen: set[str] = field(default_factory=set)
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


# ------------------------------------------------------------ portability


def _plain(value: Any, depth: int = 0) -> Any:
    """``value`` as plain picklable data (unknown objects become their repr)."""
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return value
    if depth > 8:
        return _safe_repr(value)
    if isinstance(value, dict):
        return {(k if isinstance(k, str) else _safe_repr(k)): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [_plain(v, depth + 1) for v in value]
        return items if isinstance(value, list) else tuple(items)
    return _safe_repr(value)


def _safe_repr(value: object) -> str:
    try:
        return repr(value)[:500]
    except Exception:
        return f"<unrepresentable {type(value).__name__}>"


def _portable_events(events: Sequence[TraceEvent] | None) -> list[TraceEvent] | None:
    if events is None:
        return None
    out = []
    for e in list(events):
        message = _plain(e.message) if e.message is not None else None
        out.append(TraceEvent(e.seq, e.time, e.actor, e.kind, message if isinstance(message, dict) else None, e.detail))
    return out


def _portable_case(case: Case | None) -> Case | None:
    if case is None:
        return None
    return replace(case, scope=_plain(dict(case.scope)))


def portable_finding(finding: Finding) -> Finding:
    """A copy of ``finding`` that pickles: exception as text, messages as plain data."""
    exc = finding.exception
    if exc is not None and not isinstance(exc, RemoteException):
        exc = RemoteException(type(exc).__qualname__, finding.exception_text())
    copy = Finding(
        finding.invariant,
        str(finding.message),
        where=finding.where,
        exception=exc,
        trace=_portable_events(finding.trace) or [],
        case=_portable_case(finding.case),
        hits=finding.hits,
        flaky=finding.flaky,
        reference_trace=_portable_events(finding.reference_trace),
    )
    try:
        pickle.dumps(copy)
    except Exception:
        copy.case = None
        copy.trace = []
        copy.reference_trace = None
    return copy


# ------------------------------------------------------------------ worker


class _Channel:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.lock = threading.Lock()

    def send(self, *message: Any) -> None:
        with self.lock, contextlib.suppress(OSError, ValueError):
            self.conn.send(message)


def _running() -> Any:
    from asgifuzz.server import running

    return running.current()


def _case_of(run: Any) -> Case | None:
    if run is None:
        return None
    try:
        case: Case = run.case_so_far()
    except Exception:
        return None
    return case


_IDLE = re.compile(r"(selectors\.py|[/\\]trio[/\\]_core[/\\]_io_\w+\.py|[/\\]threading\.py)$")


def _idle(frame: FrameType) -> bool:
    """The loop thread waits in the selector (for timers or a worker thread): not blocked."""
    return bool(_IDLE.search(frame.f_code.co_filename))


def _fatal_finding(
    invariant: Invariant,
    message: str,
    where: str,
    stack: str,
    conn: Any,
    note: str,
) -> Finding:
    trace: list[TraceEvent] = []
    if conn is not None:
        trace = list(conn.trace)
        last = trace[-1] if trace else None
        note += " (the case in progress, not shrunk)"
        trace.append(TraceEvent((last.seq + 1) if last else 0, last.time if last else 0.0, "asgifuzz", "note", None, note))
    finding = Finding(
        invariant,
        message,
        where=where,
        exception=RemoteException("<stack>", stack) if stack else None,
        trace=trace,
        case=_case_of(conn),
    )
    return portable_finding(finding)


# The watchdog ends the worker with the real os._exit: through the hook
# below, its own exit would be reported as the app calling os._exit.
_REAL_EXIT = os._exit


class _Watchdog(threading.Thread):
    """Heartbeats, and the watchdog for a blocked event loop (see the module docstring)."""

    def __init__(self, index: int, channel: _Channel, block_timeout: float) -> None:
        super().__init__(name="asgifuzz-watchdog", daemon=True)
        self.index = index
        self.channel = channel
        self.block_timeout = block_timeout
        self.idle_limit = max(IDLE_LIMIT, 3 * block_timeout)
        self.main_ident = threading.main_thread().ident
        self.stats: Any = None
        self.fuzzing = False

    def run(self) -> None:
        token: object = None
        since = time.monotonic()
        while True:
            time.sleep(HEARTBEAT)
            frame = sys._current_frames().get(self.main_ident or 0)
            conn = _running() if self.fuzzing else None
            self.channel.send("beat", self.index, _snapshot_stats(self.stats), _portable_case(_case_of(conn)))
            if frame is None or conn is None:
                token, since = None, time.monotonic()
                continue
            new_token = (id(conn), len(conn.trace), self.stats.examples if self.stats is not None else -1)
            if new_token != token:
                token, since = new_token, time.monotonic()
                continue
            stuck = time.monotonic() - since
            if _idle(frame):
                if stuck >= self.idle_limit:
                    self._idle_hang(conn, stuck)
                continue
            if stuck < self.block_timeout:
                continue
            where = frame_site(frame)
            stack = stack_text(frame, "Stack of the event loop thread (most recent call last):")
            finding = _fatal_finding(
                EVENT_LOOP_BLOCKED,
                f"the event loop made no progress for {stuck:.1f}s: the app is running "
                f"{frame.f_code.co_name}() at {where} without awaiting",
                where,
                stack,
                conn,
                f"the event loop is blocked in {frame.f_code.co_name}() at {where}",
            )
            self.channel.send("fatal", self.index, finding)
            _REAL_EXIT(0)

    def _idle_hang(self, conn: Any, stuck: float) -> None:
        """The loop waited ``stuck`` seconds for something that never came (a worker thread)."""
        frames = sys._current_frames()
        stacks = [
            stack_text(f, f"Thread {ident} (most recent call last):")
            for ident, f in frames.items()
            if ident not in (self.main_ident, threading.get_ident())
        ]
        finding = _fatal_finding(
            APP_HANG,
            f"the case made no progress for {stuck:.0f}s: the event loop waits for something that never "
            "happens (a worker thread that does not finish?)",
            "",
            "\n\n".join(stacks),
            conn,
            f"no progress for {stuck:.0f}s",
        )
        self.channel.send("fatal", self.index, finding)
        _REAL_EXIT(0)


def _snapshot_stats(stats: Any) -> Snapshot | None:
    if stats is None:
        return None
    try:
        return Snapshot(
            examples=stats.examples,
            steps=stats.steps,
            disconnect_positions=set(stats.disconnect_positions),
            targets_seen=set(stats.targets_seen),
            depths_seen=set(stats.depths_seen),
            backends_seen=set(stats.backends_seen),
        )
    except RuntimeError:  # a set changed size while copied: next beat
        return None


def _hook_os_exit(index: int, channel: _Channel, watchdog: _Watchdog) -> None:
    def exit_hook(status: int) -> NoReturn:
        try:
            if watchdog.fuzzing:
                frame = sys._getframe(1)
                conn = _running()
                where = frame_site(frame)
                stack = stack_text(frame, f"os._exit({status!r}) was called from (most recent call last):")
                finding = _fatal_finding(
                    PROCESS_EXITED,
                    f"the app called os._exit({status!r}) at {where}: the process ended",
                    where,
                    stack,
                    conn,
                    f"the app called os._exit({status!r})",
                )
                channel.send("fatal", index, finding)
        finally:
            _REAL_EXIT(status)

    os._exit = exit_hook


def _worker_main(index: int, options: RunOptions, max_examples: int, seed: int, deadline: float | None,
                 conn: Connection, fault_path: str) -> None:
    channel = _Channel(conn)
    fault_file = open(fault_path, "w")  # noqa: SIM115 - open for the process' lifetime
    faulthandler.enable(file=fault_file, all_threads=False)
    from asgifuzz._loading import load_target

    try:
        app = load_target(options.target, app_dir=options.app_dir, factory=options.factory)
    except UsageError as exc:
        detail = "".join(traceback.format_exception(exc.__cause__)) if exc.__cause__ is not None else ""
        channel.send("usage", index, str(exc), detail)
        return
    except KeyboardInterrupt:
        channel.send("done", index, None, [], True)
        return
    except BaseException as exc:  # SystemExit at import, ...
        text = f"importing {options.target!r} raised {type(exc).__name__}: {exc}"
        channel.send("usage", index, text, "".join(traceback.format_exception(exc)))
        return
    channel.send("ready", index)

    from asgifuzz._api import fuzz

    watchdog = _Watchdog(index, channel, options.block_timeout)
    watchdog.start()
    _hook_os_exit(index, channel, watchdog)
    sent: set[Key] = set()

    def on_progress(stats: Any, findings: list[Finding], elapsed: float) -> None:
        watchdog.stats = stats
        for finding in findings:
            if finding.key not in sent:
                sent.add(finding.key)
                channel.send("finding", index, portable_finding(finding))

    database = None
    if options.database is not None:
        from hypothesis.database import DirectoryBasedExampleDatabase

        database = DirectoryBasedExampleDatabase(options.database)
    max_time = None if deadline is None else max(0.05, deadline - time.monotonic())
    result = None
    interrupted = False
    try:
        watchdog.fuzzing = True
        result = fuzz(
            app,
            max_examples=max_examples,
            max_time=max_time,
            seed=seed,
            backend=list(options.backends),
            profile=options.profile,
            checks=list(options.checks) if options.checks is not None else None,
            exitfirst=options.exitfirst,
            virtual_time=options.virtual_time,
            database=database,
            on_progress=on_progress,
        )
    except KeyboardInterrupt:
        interrupted = True
    except UsageError as exc:
        watchdog.fuzzing = False
        channel.send("usage", index, str(exc), "")
        return
    except BaseException as exc:
        # The driver turns everything the app raises into findings, so what
        # reaches here is asgifuzz's own failure: never a finding about the app.
        watchdog.fuzzing = False
        channel.send("internal", index, exception_text(exc), "".join(traceback.format_exception(exc)))
        return
    finally:
        watchdog.fuzzing = False
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if result is None:
        channel.send("done", index, _snapshot_stats(watchdog.stats), [], True)
        return
    channel.send(
        "done",
        index,
        _snapshot_stats(result.stats),
        [portable_finding(f) for f in result.findings],
        interrupted or result.interrupted,
    )


# ------------------------------------------------------------------ parent


@dataclass(slots=True)
class _Worker:
    index: int
    process: Any
    reader: Connection
    fault_path: str
    ready: bool = False
    finished: bool = False
    last_beat: float = 0.0
    stopping_at: float | None = None
    stats: Snapshot | None = None
    case: Case | None = None
    findings: dict[Key, Finding] = field(default_factory=dict)


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


_SIGNALS = {int(s): s.name for s in signal.Signals}


def supervise(options: RunOptions, on_update: Callable[[Snapshot], None] | None = None) -> RunResult:
    """Run the fuzz in ``options.workers`` processes; return the merged findings."""
    ctx = multiprocessing.get_context("spawn")
    start = time.monotonic()
    deadline = None if options.max_time is None else start + options.max_time
    count = max(1, min(options.workers, options.max_examples))
    tmpdir = tempfile.mkdtemp(prefix="asgifuzz-")
    workers: list[_Worker] = []
    result = RunResult(findings=[], snapshot=Snapshot(workers=count), seed=options.seed, elapsed=0.0)
    with _own_package_first():
        for i, budget in enumerate(_split(options.max_examples, count)):
            reader, writer = ctx.Pipe(duplex=False)
            fault_path = os.path.join(tmpdir, f"fault-{i}.txt")
            process = ctx.Process(
                target=_worker_main,
                args=(i, options, budget, options.seed + i * 1_000_003, deadline, writer, fault_path),
                name=f"asgifuzz-worker-{i}",
                daemon=True,
            )
            process.start()
            writer.close()
            workers.append(_Worker(i, process, reader, fault_path, last_beat=time.monotonic()))
    try:
        try:
            _loop(workers, options, deadline, result, on_update, start)
        except KeyboardInterrupt:
            result.interrupted = True
            for w in workers:
                _interrupt(w)
            with contextlib.suppress(KeyboardInterrupt):
                _loop(workers, options, time.monotonic(), result, on_update, start, collecting=True)
    finally:
        for w in workers:
            if w.process.is_alive():
                w.process.kill()
            w.process.join(1)
            w.reader.close()
        for w in workers:
            with contextlib.suppress(OSError):
                os.unlink(w.fault_path)
        with contextlib.suppress(OSError):
            os.rmdir(tmpdir)
    result.elapsed = time.monotonic() - start
    result.snapshot = _aggregate(workers, result.elapsed)
    result.findings = result.snapshot.findings
    return result


@contextlib.contextmanager
def _own_package_first() -> Iterator[None]:
    """Workers import this very asgifuzz, not a checkout's ``./asgifuzz`` earlier on sys.path.

    A spawned worker gets the parent's ``sys.path``; if the parent imported
    asgifuzz from a later entry (an installed copy, while the working
    directory holds the source tree), the worker would import the other one.
    """
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    saved = list(sys.path)
    for i, entry in enumerate(sys.path):
        candidate = os.path.join(os.path.abspath(entry or "."), "asgifuzz")
        if os.path.abspath(entry or ".") == root:
            break
        if os.path.isdir(candidate):
            sys.path.insert(i, root)
            break
    try:
        yield
    finally:
        sys.path[:] = saved


def _interrupt(w: _Worker) -> None:
    if w.process.is_alive() and w.stopping_at is None:
        w.stopping_at = time.monotonic()
        with contextlib.suppress(OSError):
            os.kill(w.process.pid, signal.SIGINT)


def _loop(
    workers: list[_Worker],
    options: RunOptions,
    deadline: float | None,
    result: RunResult,
    on_update: Callable[[Snapshot], None] | None,
    start: float,
    *,
    collecting: bool = False,
) -> None:
    last_update = 0.0
    while True:
        alive = [w for w in workers if not w.finished]
        if not alive or result.error is not None:
            return
        waitables: list[Any] = [w.reader for w in alive] + [w.process.sentinel for w in alive]
        ready = wait(waitables, timeout=HEARTBEAT)
        now = time.monotonic()
        for w in alive:
            if w.reader in ready:
                _drain(w, result)
            if not w.finished and w.process.sentinel in ready:
                w.process.join(0.5)
                _drain(w, result)
                if not w.finished:
                    _died(w, result, options.target)
        for w in alive:
            if w.finished:
                continue
            if (options.exitfirst and any(x.findings for x in workers)) or result.internal:
                _interrupt(w)
            if not w.ready and now - start > IMPORT_TIMEOUT:
                result.error = f"importing {options.target!r} did not finish within {IMPORT_TIMEOUT:g}s"
                return
            if w.ready and w.stopping_at is None and now - w.last_beat > SILENCE:
                _frozen(w, result, now - w.last_beat)
                continue
            if (collecting or (deadline is not None and now > deadline + STOP_GRACE)) and w.stopping_at is None:
                _interrupt(w)
            if w.stopping_at is not None and now - w.stopping_at > KILL_GRACE:
                w.process.kill()
                w.finished = True
                result.notes.append(f"worker {w.index} did not stop within {KILL_GRACE:g}s of SIGINT and was killed")
        if on_update is not None and now - last_update >= HEARTBEAT:
            last_update = now
            on_update(_aggregate(workers, now - start))


def _drain(w: _Worker, result: RunResult) -> None:
    # After ``fatal``/``done`` the worker's story is over: the first fatal
    # finding is the cause, anything later is its echo.
    while not w.finished:
        try:
            if not w.reader.poll():
                return
            message = w.reader.recv()
        except (EOFError, OSError):
            return
        except Exception as exc:  # an unpicklable message: say so, go on
            result.notes.append(f"worker {w.index}: unreadable message ({type(exc).__name__}: {exc})")
            continue
        kind = message[0]
        w.last_beat = time.monotonic()
        if kind == "ready":
            w.ready = True
        elif kind == "beat":
            if message[2] is not None:
                w.stats = message[2]
            w.case = message[3]
        elif kind == "finding":
            finding = message[2]
            w.findings.setdefault(finding.key, finding)
        elif kind == "fatal":
            finding = message[2]
            w.findings.setdefault(finding.key, finding)
            w.finished = True
        elif kind == "internal":
            result.error = f"internal error in worker {w.index}: {message[2]} (please report it; --debug shows the traceback)"
            result.error_detail = message[3]
            result.internal = True
            w.finished = True
        elif kind == "usage":
            result.error = message[2]
            result.error_detail = message[3]
            w.finished = True
        elif kind == "done":
            if message[2] is not None:
                w.stats = message[2]
            for finding in message[3]:
                w.findings[finding.key] = finding
            if message[4] and w.stopping_at is None:
                result.interrupted = True
            w.finished = True


def _died(w: _Worker, result: RunResult, target: str) -> None:
    w.finished = True
    code = w.process.exitcode
    if not w.ready:
        how = f"signal {_SIGNALS.get(-code, -code)}" if code is not None and code < 0 else f"exit status {code}"
        result.error = f"importing {target!r} ended the process ({how})"
        result.error_detail = _read(w.fault_path)
        return
    if code is not None and code < 0:
        how = f"was killed by signal {_SIGNALS.get(-code, str(-code))}"
    else:
        how = f"exited with status {code}"
    dump = _read(w.fault_path)
    where = _dump_site(dump)
    case = w.case
    message = f"the worker process {how} while running a case" + (f" on {case.target}" if case is not None else "")
    finding = Finding(
        PROCESS_EXITED,
        message,
        where=where,
        exception=RemoteException("<crash>", "Fatal error dump (faulthandler):\n" + dump) if dump.strip() else None,
        trace=[],
        case=case,
    )
    w.findings.setdefault(finding.key, finding)


def _dump_site(dump: str) -> str:
    """The innermost frame of a faulthandler dump outside the standard library."""
    import sysconfig

    stdlib = sysconfig.get_paths()["stdlib"]
    sites = re.findall(r'File "([^"]+)", line (\d+)', dump)
    for filename, line in sites:
        if not filename.startswith(stdlib) and not filename.startswith("<"):
            return f"{short_path(filename)}:{line}"
    return f"{short_path(sites[0][0])}:{sites[0][1]}" if sites else ""


def _frozen(w: _Worker, result: RunResult, silent: float) -> None:
    w.process.kill()
    w.finished = True
    case = w.case
    finding = Finding(
        EVENT_LOOP_BLOCKED,
        f"the worker process stopped responding for {silent:.0f}s (the app holds the GIL or is stuck in C code)"
        + (f" while running a case on {case.target}" if case is not None else ""),
        case=case,
    )
    w.findings.setdefault(finding.key, finding)


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _aggregate(workers: list[_Worker], elapsed: float) -> Snapshot:
    snap = Snapshot(elapsed=elapsed, workers=len(workers), workers_alive=sum(not w.finished for w in workers))
    merged: dict[Key, Finding] = {}
    for w in workers:
        if w.stats is not None:
            snap.examples += w.stats.examples
            snap.steps += w.stats.steps
            snap.disconnect_positions |= w.stats.disconnect_positions
            snap.targets_seen |= w.stats.targets_seen
            snap.depths_seen |= w.stats.depths_seen
            snap.backends_seen |= w.stats.backends_seen
        for key, finding in w.findings.items():
            known = merged.get(key)
            merged[key] = finding if known is None else replace(known, hits=known.hits + finding.hits)
    snap.findings = list(merged.values())
    return snap

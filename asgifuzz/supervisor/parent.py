"""The parent: start the workers, read their messages, watch them, merge what they found."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import random
import re
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, wait
from typing import Any

from asgifuzz._case import Case
from asgifuzz._config import Settings
from asgifuzz._finding import Finding, FindingKey, RemoteException
from asgifuzz._frames import short_path
from asgifuzz.checks.invariants import EVENT_LOOP_BLOCKED, PROCESS_EXITED
from asgifuzz.supervisor.messages import Beat, Done, Fatal, FindingMessage, Internal, Ready, Usage
from asgifuzz.supervisor.run import RunOptions, RunResult, Snapshot

__all__ = ("WorkerHandle", "aggregate", "drain", "receive", "split", "supervise")

#: How often the parent looks at its workers (and a worker beats).
TICK = 0.25
#: A worker silent this long (no heartbeat: the app holds the GIL) is killed.
SILENCE = 10.0
#: Importing the app must finish within this many seconds.
IMPORT_TIMEOUT = 60.0
#: After the time budget, a worker gets this long to return what it has.
STOP_GRACE = 2.0
KILL_GRACE = 3.0
#: Worker i fuzzes with seed + i * SEED_STRIDE.
SEED_STRIDE = 1_000_003

_SIGNALS = {int(s): s.name for s in signal.Signals}


@dataclass(slots=True)
class WorkerHandle:
    """The parent's view of one worker process."""

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
    findings: dict[FindingKey, Finding] = field(default_factory=dict)


def split(total: int, parts: int) -> list[int]:
    """``total`` examples in ``parts`` shares that differ by at most one."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def supervise(options: RunOptions, on_update: Callable[[Snapshot], None] | None = None) -> RunResult:
    """Run the fuzz in ``options.settings.workers`` processes; return the merged findings."""
    settings = options.settings
    seed = settings.seed if settings.seed is not None else random.randrange(2**32)
    start = time.monotonic()
    deadline = None if settings.max_time is None else start + settings.max_time
    count = max(1, min(settings.workers, settings.max_examples))
    result = RunResult(findings=[], snapshot=Snapshot(workers=count), seed=seed, elapsed=0.0)
    if not _database_answers(settings, result):
        return result
    tmpdir = tempfile.mkdtemp(prefix="asgifuzz-")
    workers: list[WorkerHandle] = []
    try:
        try:
            _start_resource_tracker()
            with _sigint_held():  # a Ctrl-C meanwhile arrives once every worker has its handle
                for i, budget in enumerate(split(settings.max_examples, count)):
                    worker_settings = settings.replace(max_examples=budget, seed=seed + i * SEED_STRIDE, workers=1)
                    workers.append(_start(i, options, worker_settings, deadline, tmpdir))
            _loop(workers, options, deadline, result, on_update, start)
        except KeyboardInterrupt:
            result.interrupted = True
            for w in workers:
                _interrupt(w)
            with contextlib.suppress(KeyboardInterrupt):
                _loop(workers, options, time.monotonic(), result, on_update, start, collecting=True)
    finally:
        _clean_up(workers, tmpdir)
    result.elapsed = time.monotonic() - start
    result.snapshot = aggregate(workers, result.elapsed)
    result.findings = result.snapshot.findings
    return result


def _database_answers(settings: Settings, result: RunResult) -> bool:
    """A Redis database is asked once here: one line when it does not answer, not one per worker."""
    from asgifuzz._database import check_database
    from asgifuzz._errors import UsageError

    try:
        check_database(settings.database)
    except UsageError as exc:
        result.error = str(exc)
        return False
    return True


def _start(index: int, options: RunOptions, settings: Settings, deadline: float | None, tmpdir: str) -> WorkerHandle:
    from asgifuzz.supervisor.worker import WorkerSpec, worker_main

    ctx = multiprocessing.get_context("spawn")
    reader, writer = ctx.Pipe(duplex=False)
    fault_path = os.path.join(tmpdir, f"fault-{index}.txt")
    spec = WorkerSpec(index, options.target, options.app_dir, options.factory, settings, deadline, fault_path)
    process = ctx.Process(target=worker_main, args=(spec, writer), name=f"asgifuzz-worker-{index}", daemon=True)
    with _own_package_first():
        process.start()
    writer.close()
    return WorkerHandle(index, process, reader, fault_path, last_beat=time.monotonic())


def _clean_up(workers: list[WorkerHandle], tmpdir: str) -> None:
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


@contextlib.contextmanager
def _own_package_first() -> Iterator[None]:
    """Workers import this very asgifuzz, not a checkout's ``./asgifuzz`` earlier on sys.path.

    A spawned worker gets the parent's ``sys.path``; if the parent imported
    asgifuzz from a later entry (an installed copy, while the working
    directory holds the source tree), the worker would import the other one.
    """
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
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


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """Hold SIGINT back (blocked and ignored) while worker processes are started.

    The child inherits both (an ignored signal stays ignored across exec, and
    the signal mask is kept), so a Ctrl-C while it boots waits, pending,
    until ``worker_main`` installs its handler and unblocks it, instead of
    raising ``KeyboardInterrupt`` in the middle of multiprocessing's bootstrap
    (a traceback on stderr and a worker dead before it was ready).

    The parent does not lose it either: Linux never discards a blocked
    signal, even an ignored one, so it arrives as ``KeyboardInterrupt`` when
    the handler and the mask are back.  The resource tracker must already run
    (``_start_resource_tracker``): starting it unblocks SIGINT.  Only the main
    thread may change handlers; elsewhere nothing changes.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _start_resource_tracker() -> None:
    """multiprocessing's resource tracker, which every spawn starts first, started now.

    Its start unblocks SIGINT in the calling thread (``ensure_running``), which
    inside ``_sigint_held`` would let a Ctrl-C be ignored and lost.
    """
    try:
        from multiprocessing import resource_tracker

        resource_tracker.ensure_running()
    except (ImportError, AttributeError, OSError):  # no tracker on this platform: nothing to unblock
        pass


def _interrupt(w: WorkerHandle) -> None:
    if w.process.is_alive() and w.stopping_at is None:
        _stop(w)


def _stop(w: WorkerHandle) -> None:
    w.stopping_at = time.monotonic()
    with contextlib.suppress(OSError):
        os.kill(w.process.pid, signal.SIGINT)


def _loop(
    workers: list[WorkerHandle],
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
        ready = wait(waitables, timeout=TICK)
        now = time.monotonic()
        for w in alive:
            if w.reader in ready:
                drain(w, result)
            if not w.finished and w.process.sentinel in ready:
                w.process.join(0.5)
                drain(w, result)
                if not w.finished:
                    _died(w, result, options.target)
        stop_all = (options.settings.exitfirst and any(x.findings for x in workers)) or result.internal
        for w in alive:
            if not w.finished:
                _watch(w, result, options.target, now - start, stop_all or collecting, deadline)
        if on_update is not None and now - last_update >= TICK:
            last_update = now
            on_update(aggregate(workers, now - start))


def _watch(w: WorkerHandle, result: RunResult, target: str, elapsed: float, stop: bool, deadline: float | None) -> None:
    """Stop, kill or give up on a live worker as its silence and the budget demand."""
    now = time.monotonic()
    if stop:
        _interrupt(w)
    if not w.ready and elapsed > IMPORT_TIMEOUT:
        result.error = f"importing {target!r} did not finish within {IMPORT_TIMEOUT:g}s"
        return
    if w.ready and w.stopping_at is None and now - w.last_beat > SILENCE:
        _frozen(w, now - w.last_beat)
        return
    if deadline is not None and now > deadline + STOP_GRACE:
        _interrupt(w)
    if w.stopping_at is not None and now - w.stopping_at > KILL_GRACE:
        w.process.kill()
        w.finished = True
        result.notes.append(f"worker {w.index} did not stop within {KILL_GRACE:g}s of SIGINT and was killed")


def drain(w: WorkerHandle, result: RunResult) -> None:
    """Read every message the worker has sent so far (without blocking)."""
    # After a final message the worker's story is over: the first fatal
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
        receive(w, message, result)


def receive(w: WorkerHandle, message: object, result: RunResult) -> None:
    """Apply one message of worker ``w`` (a ``messages.Message``, as unpickled) to its handle and the result."""
    w.last_beat = time.monotonic()
    match message:
        case Ready():
            w.ready = True
            if w.stopping_at is not None and w.process is not None:
                _stop(w)  # asked to stop while it booted (and could not handle SIGINT yet): again
        case Beat(stats=stats, case=case):
            if stats is not None:
                w.stats = stats
            w.case = case
        case FindingMessage(finding=finding):
            w.findings.setdefault(finding.key, finding)
        case Fatal(finding=finding):
            w.findings.setdefault(finding.key, finding)
            w.finished = True
        case Internal(error=error, detail=detail, plain=plain):
            result.error = (
                error
                if plain
                else f"internal error in worker {w.index}: {error} (please report it; --debug shows the traceback)"
            )
            result.error_detail = detail
            result.internal = True
            w.finished = True
        case Usage(error=error, detail=detail):
            result.error = error
            result.error_detail = detail
            w.finished = True
        case Done():
            if message.stats is not None:
                w.stats = message.stats
            for finding in message.findings:
                w.findings[finding.key] = finding
            if message.interrupted and w.stopping_at is None:
                result.interrupted = True
            # The search's notes (routes, coverage) are the same from every worker: once each.
            for note in message.notes:
                if note not in result.notes:
                    result.notes.append(note)
            w.finished = True
        case _:
            result.notes.append(f"worker {w.index}: unexpected message {type(message).__name__}")


def _died(w: WorkerHandle, result: RunResult, target: str) -> None:
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
    case = w.case
    message = f"the worker process {how} while running a case" + (f" on {case.target}" if case is not None else "")
    finding = Finding(
        PROCESS_EXITED,
        message,
        where=_dump_site(dump),
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


def _frozen(w: WorkerHandle, silent: float) -> None:
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


def aggregate(workers: list[WorkerHandle], elapsed: float) -> Snapshot:
    """The run so far: every worker's statistics summed, equal findings merged (hits added)."""
    snap = Snapshot(elapsed=elapsed, workers=len(workers), workers_alive=sum(not w.finished for w in workers))
    merged: dict[FindingKey, Finding] = {}
    for w in workers:
        if w.stats is not None:
            snap.examples += w.stats.examples
            snap.steps += w.stats.steps
            snap.disconnect_positions |= w.stats.disconnect_positions
            snap.targets_seen |= w.stats.targets_seen
            snap.depths_seen |= w.stats.depths_seen
            snap.backends_seen |= w.stats.backends_seen
            for target, counts in w.stats.statuses.items():
                merged_counts = snap.statuses.setdefault(target, {})
                for status, n in counts.items():
                    merged_counts[status] = merged_counts.get(status, 0) + n
            for totals, counted in ((snap.shapes, w.stats.shapes), (snap.behaviours, w.stats.behaviours)):
                for name, n in counted.items():
                    totals[name] = totals.get(name, 0) + n
        for key, finding in w.findings.items():
            known = merged.get(key)
            merged[key] = finding if known is None else replace(known, hits=known.hits + finding.hits)
    snap.findings = list(merged.values())
    return snap

"""The worker supervisor's bookkeeping: one fatal finding per worker, never an echo of it."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import subprocess
import sys
import textwrap
from multiprocessing.connection import Connection

from asgifuzz._finding import Finding
from asgifuzz.checks.invariants import APP_RAISED, PROCESS_EXITED
from asgifuzz.supervisor.messages import Fatal, FindingMessage, Message
from asgifuzz.supervisor.parent import WorkerHandle, drain
from asgifuzz.supervisor.run import RunResult, Snapshot


def _finding(where: str) -> Finding:
    return Finding(PROCESS_EXITED, "the process ended", where=where)


def _result() -> RunResult:
    return RunResult(findings=[], snapshot=Snapshot(workers=1), seed=0, elapsed=0.0)


def test_the_watchdog_exits_without_being_reported_as_the_app_calling_os_exit() -> None:
    # The watchdog's own exit once went through the os._exit hook, so a
    # blocked loop was reported twice: event-loop-blocked, then a bogus
    # process-exited "called at _supervisor.py" (when the parent read both).
    read_fd, write_fd = os.pipe()
    script = textwrap.dedent(
        f"""
        from multiprocessing.connection import Connection
        from asgifuzz.supervisor.channel import Channel
        from asgifuzz.supervisor.watchdog import Watchdog, hook_os_exit
        channel = Channel(Connection({write_fd}))
        watchdog = Watchdog(0, channel, 1.0)
        watchdog.fuzzing = True
        hook_os_exit(0, channel, watchdog)
        watchdog.hang(None, 9.0)
        """
    )
    with Connection(read_fd) as reader:
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                              pass_fds=[write_fd])  # fmt: skip
        os.close(write_fd)
        assert proc.returncode == 0, proc.stderr
        messages: list[Message] = []
        with contextlib.suppress(EOFError):
            while True:
                messages.append(reader.recv())
    assert [(type(m).__name__, m.finding.invariant.code) for m in messages if isinstance(m, Fatal)] == [
        ("Fatal", "app-hang")
    ]
    assert len(messages) == 1


def test_messages_after_a_fatal_finding_are_ignored() -> None:
    reader, writer = multiprocessing.Pipe(duplex=False)
    worker = WorkerHandle(0, process=None, reader=reader, fault_path="")
    writer.send(Fatal(0, _finding("first.py:1")))
    writer.send(Fatal(0, _finding("echo.py:1")))
    writer.send(FindingMessage(0, Finding(APP_RAISED, "late", where="late.py:1")))
    _drain_all(worker)
    assert worker.finished
    assert [key[3] for key in worker.findings] == ["first.py:1"]


def _drain_all(worker: WorkerHandle) -> RunResult:
    result = _result()
    drain(worker, result)
    return result

"""The worker supervisor's bookkeeping: one fatal finding per worker, never an echo of it."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from asgifuzz._supervisor import RunResult, Snapshot, _drain, _Worker


@dataclass(frozen=True)
class _StubFinding:
    key: Any


def test_the_watchdog_exits_without_being_reported_as_the_app_calling_os_exit() -> None:
    # The watchdog's own exit once went through the os._exit hook, so a
    # blocked loop was reported twice: event-loop-blocked, then a bogus
    # process-exited "called at _supervisor.py" (when the parent read both).
    read_fd, write_fd = os.pipe()
    script = textwrap.dedent(
        f"""
        from multiprocessing.connection import Connection
        from asgifuzz import _supervisor as s
        channel = s._Channel(Connection({write_fd}))
        watchdog = s._Watchdog(0, channel, 1.0)
        watchdog.fuzzing = True
        s._hook_os_exit(0, channel, watchdog)
        watchdog._idle_hang(None, 9.0)
        """
    )
    with Connection(read_fd) as reader:
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                              pass_fds=[write_fd])
        os.close(write_fd)
        assert proc.returncode == 0, proc.stderr
        messages = []
        with contextlib.suppress(EOFError):
            while True:
                messages.append(reader.recv())
    assert [(m[0], m[2].invariant.code) for m in messages] == [("fatal", "app-hang")]


def test_messages_after_a_fatal_finding_are_ignored() -> None:
    reader, writer = multiprocessing.Pipe(duplex=False)
    worker = _Worker(0, process=None, reader=reader, fault_path="")
    writer.send(("fatal", 0, _StubFinding("first")))
    writer.send(("fatal", 0, _StubFinding("echo")))
    writer.send(("finding", 0, _StubFinding("late")))
    result = RunResult(findings=[], snapshot=Snapshot(workers=1), seed=0, elapsed=0.0)
    _drain(worker, result)
    assert worker.finished
    assert list(worker.findings) == ["first"]

"""The watchdog never turns its own failure into a finding against the app (issue 10, robustness).

The watchdog thread reads the running case from another thread; if that read
fails (the case half-built, a bug in the handle) the thread once died, the
heartbeats stopped, and the parent reported ``event-loop-blocked`` against an
app that had done nothing wrong.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, NoReturn

import pytest

from asgifuzz._case import Case
from asgifuzz._finding import TraceEvent
from asgifuzz.server import running
from asgifuzz.supervisor import watchdog as watchdog_module
from asgifuzz.supervisor.channel import Channel
from asgifuzz.supervisor.messages import Beat, Fatal, Internal, Message
from asgifuzz.supervisor.watchdog import FAILURE_LIMIT, Progress, Watchdog

APPS = str(Path(__file__).parent / "cli_apps")


class _Exited(BaseException):
    pass


def _exit(status: int) -> NoReturn:
    raise _Exited(status)


class _Handle:
    """A running case whose reads fail ``failures`` times, then work."""

    def __init__(self, *, trace_failures: int = 0, case_failures: int = 0) -> None:
        self.trace_failures = trace_failures
        self.case_failures = case_failures
        self.events: list[TraceEvent] = []

    @property
    def trace(self) -> list[TraceEvent]:
        if self.trace_failures:
            self.trace_failures -= 1
            raise AttributeError("'Driver' object has no attribute 'recorder'")
        return self.events

    def case_so_far(self) -> Case:
        if self.case_failures:
            self.case_failures -= 1
            raise AttributeError("'Driver' object has no attribute 'actions'")
        return Case(target="app", scope={"type": "http"}, body=b"", actions=())


@pytest.fixture
def pipe() -> Iterator[tuple[Connection, Channel]]:
    reader, writer = multiprocessing.Pipe(duplex=False)
    yield reader, Channel(writer)
    reader.close()
    writer.close()


def _messages(reader: Connection) -> list[Message]:
    out: list[Message] = []
    while reader.poll():
        out.append(reader.recv())
    return out


def _watch(channel: Channel, handle: Any, monkeypatch: pytest.MonkeyPatch) -> Watchdog:
    monkeypatch.setattr(running, "_current", [handle])
    monkeypatch.setattr(watchdog_module, "REAL_EXIT", _exit)
    watchdog = Watchdog(0, channel, block_timeout=1.0)
    # The "loop thread" is this test's thread, busy (not idle in a selector).
    watchdog.main_ident = threading.get_ident()
    watchdog.fuzzing = True
    return watchdog


def test_a_case_read_while_half_built_is_skipped_not_reported(
    pipe: tuple[Connection, Channel], monkeypatch: pytest.MonkeyPatch
) -> None:
    reader, channel = pipe
    watchdog = _watch(channel, _Handle(trace_failures=FAILURE_LIMIT - 1, case_failures=FAILURE_LIMIT - 1), monkeypatch)
    for beat in range(FAILURE_LIMIT - 1):
        watchdog.tick(now=beat * 10.0)  # 10 s per beat: far past block_timeout
    messages = _messages(reader)
    assert [type(m) for m in messages] == [Beat] * (FAILURE_LIMIT - 1)
    # Once the handle reads again, progress is measured from then on.
    watchdog.tick(now=100.0)
    watchdog.tick(now=100.5)
    assert [type(m) for m in _messages(reader)] == [Beat, Beat]
    with pytest.raises(_Exited):
        watchdog.tick(now=101.5)  # 1.5 s without progress: this one is real
    [fatal] = _messages(reader)[1:]
    assert isinstance(fatal, Fatal) and fatal.finding.code == "event-loop-blocked"


def test_a_watchdog_that_cannot_read_the_case_is_an_internal_error(
    pipe: tuple[Connection, Channel], monkeypatch: pytest.MonkeyPatch
) -> None:
    reader, channel = pipe
    watchdog = _watch(channel, _Handle(trace_failures=10**6), monkeypatch)
    with pytest.raises(_Exited) as exited:
        for beat in range(FAILURE_LIMIT + 5):
            watchdog.tick(now=beat * 10.0)
    assert exited.value.args == (3,)
    messages = _messages(reader)
    assert not [m for m in messages if isinstance(m, Fatal)]
    assert [type(m) for m in messages] == [Beat] * FAILURE_LIMIT + [Internal]
    internal = messages[-1]
    assert isinstance(internal, Internal)
    assert "AttributeError: 'Driver' object has no attribute 'recorder'" in internal.error


def test_a_case_that_cannot_be_copied_still_beats(
    pipe: tuple[Connection, Channel], monkeypatch: pytest.MonkeyPatch
) -> None:
    reader, channel = pipe
    handle = _Handle(case_failures=10**6)
    watchdog = _watch(channel, handle, monkeypatch)
    for beat in range(FAILURE_LIMIT * 2):
        handle.events.append(TraceEvent(beat, 0.0, "client", "chunk"))  # progress
        watchdog.tick(now=beat * 10.0)
    messages = _messages(reader)
    assert [type(m) for m in messages] == [Beat] * (FAILURE_LIMIT * 2)
    assert all(isinstance(m, Beat) and m.case is None for m in messages)


def test_progress_is_judged_from_the_token() -> None:
    progress = Progress(block_timeout=5.0, idle_limit=30.0)
    assert progress.update((1, 1), 0.0, loop_idle=False) is None
    assert progress.update((1, 1), 4.9, loop_idle=False) is None
    assert progress.update((1, 1), 5.0, loop_idle=False) == "blocked"
    assert progress.update((1, 2), 6.0, loop_idle=False) is None  # progress restarts the clock
    assert progress.update((1, 2), 20.0, loop_idle=True) is None  # idle: waiting, not blocked
    assert progress.update((1, 2), 36.0, loop_idle=True) == "hang"
    assert progress.update(None, 100.0, loop_idle=False) is None  # nothing running
    assert progress.update(None, 200.0, loop_idle=False) is None


def test_a_broken_running_case_handle_is_not_reported_against_the_app(tmp_path: Path) -> None:
    # End to end: every read of the driver's trace fails in the worker.  This
    # was an event-loop-blocked finding ("stopped responding for 10s") after
    # the watchdog thread died; it must be an internal error at most.
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import asgifuzz.server.driver as driver\n"
        "def broken(self):\n"
        "    raise AttributeError(\"'Driver' object has no attribute 'recorder'\")\n"
        "driver.Driver.trace = property(broken)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(hook))
    proc = subprocess.run(
        [sys.executable, "-m", "asgifuzz", "run", "cliapps:ok", "--app-dir", APPS, "--seed", "1", "--json",
         "--max-examples", "100000000", "--max-time", "14", "--block-timeout", "1", "--no-database"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert "event-loop-blocked" not in proc.stdout
    assert proc.returncode == 3, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    assert "internal error in worker 0: the watchdog cannot read the case in progress" in proc.stderr
    assert "Traceback" not in proc.stderr

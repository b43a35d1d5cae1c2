"""The parent's bookkeeping (one fatal finding per worker, never an echo of it; drain, aggregate) and RunOptions."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import textwrap
from multiprocessing.connection import Connection
from pathlib import Path
from types import SimpleNamespace

import pytest

from asgifuzz._case import Case
from asgifuzz._config import Settings
from asgifuzz._errors import UsageError
from asgifuzz._finding import Finding
from asgifuzz.checks.invariants import APP_RAISED, PROCESS_EXITED
from asgifuzz.supervisor.messages import Beat, Done, Fatal, FindingMessage, Internal, Message, Ready, Usage
from asgifuzz.supervisor.parent import WorkerHandle, aggregate, drain, split
from asgifuzz.supervisor.run import RunOptions, RunResult, Snapshot


def _finding(where: str) -> Finding:
    return Finding(PROCESS_EXITED, "the process ended", where=where)


def _result() -> RunResult:
    return RunResult(findings=[], snapshot=Snapshot(workers=1), seed=0, elapsed=0.0)


def test_the_watchdog_exits_without_being_reported_as_the_app_calling_os_exit() -> None:
    # The watchdog's own exit once went through the os._exit hook, so a
    # blocked loop was reported twice: event-loop-blocked, then a bogus
    # process-exited "called at the supervisor" (when the parent read both).
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


# ------------------------------------------------------------- the parent's drain


def _handle() -> tuple[WorkerHandle, Connection]:
    reader, writer = multiprocessing.Pipe(duplex=False)
    return WorkerHandle(0, process=None, reader=reader, fault_path=""), writer


def _raised(where: str, hits: int = 1) -> Finding:
    return Finding(APP_RAISED, f"raised at {where}", where=where, hits=hits)


def test_beats_keep_the_last_stats_and_the_current_case() -> None:
    worker, writer = _handle()
    case = Case(target="app", scope={"type": "http"}, body=b"", actions=())
    writer.send(Ready(0))
    writer.send(Beat(0, Snapshot(examples=3), case))
    writer.send(Beat(0, None, None))  # stats not ready (a set changed while copied): keep the last
    result = _drain_all(worker)
    assert worker.ready and not worker.finished
    assert worker.stats is not None and worker.stats.examples == 3
    assert worker.case is None
    assert result.error is None and result.notes == []


def test_done_replaces_findings_with_their_final_version_and_carries_notes() -> None:
    worker, writer = _handle()
    writer.send(FindingMessage(0, _raised("a.py:1")))
    writer.send(FindingMessage(0, Finding(APP_RAISED, "again", where="a.py:1")))  # same key: the first stays
    assert next(iter(_drain_all(worker).notes), None) is None
    assert [f.message for f in worker.findings.values()] == ["raised at a.py:1"]
    writer.send(Done(0, Snapshot(examples=9), (_raised("a.py:1", hits=4), _raised("b.py:2")),
                     interrupted=True, notes=("worker 0: 1 exception(s) ...",)))  # fmt: skip
    result = _drain_all(worker)
    assert worker.finished
    assert {f.where: f.hits for f in worker.findings.values()} == {"a.py:1": 4, "b.py:2": 1}
    assert result.interrupted  # nobody asked it to stop: the user's Ctrl-C reached it
    assert result.notes == ["worker 0: 1 exception(s) ..."]


def test_a_worker_stopped_at_the_budget_is_not_an_interrupted_run() -> None:
    worker, writer = _handle()
    worker.stopping_at = 1.0
    writer.send(Done(0, None, interrupted=True))
    assert not _drain_all(worker).interrupted


def test_internal_and_usage_errors() -> None:
    worker, writer = _handle()
    writer.send(Internal(0, "RuntimeError: engine", "Traceback ..."))
    writer.send(Usage(0, "late"))  # after a final message: ignored
    result = _drain_all(worker)
    assert worker.finished and result.internal
    assert (
        result.error
        == "internal error in worker 0: RuntimeError: engine (please report it; --debug shows the traceback)"
    )
    assert result.error_detail == "Traceback ..."
    worker, writer = _handle()
    writer.send(Usage(0, "cannot import 'x:app'", "detail"))
    result = _drain_all(worker)
    assert (result.error, result.error_detail, result.internal) == ("cannot import 'x:app'", "detail", False)


def test_an_unreadable_message_is_a_note_and_the_next_one_is_read() -> None:
    worker, writer = _handle()
    writer.send_bytes(b"not a pickle")
    writer.send(("a", "tuple"))
    writer.send(Fatal(0, _finding("x.py:1")))
    result = _drain_all(worker)
    assert worker.finished
    assert len(result.notes) == 2
    assert result.notes[0].startswith("worker 0: unreadable message (UnpicklingError")
    assert result.notes[1] == "worker 0: unexpected message tuple"


def test_a_closed_pipe_ends_the_drain_without_finishing_the_worker() -> None:
    worker, writer = _handle()
    writer.send(Ready(0))
    writer.close()
    result = _drain_all(worker)
    assert worker.ready and not worker.finished  # the process sentinel decides (died or done)
    assert result.notes == []


def test_a_worker_stopped_while_booting_is_stopped_again_when_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: sent.append((pid, sig)))
    worker, writer = _handle()
    worker.process = SimpleNamespace(pid=4242)
    worker.stopping_at = 1.0
    writer.send(Ready(0))
    _drain_all(worker)
    assert sent == [(4242, signal.SIGINT)]
    assert worker.stopping_at is not None and worker.stopping_at > 1.0  # the kill grace starts again


def test_aggregate_sums_stats_and_merges_equal_findings() -> None:
    a, _ = _handle()
    b, _ = _handle()
    a.stats = Snapshot(examples=5, steps=10, targets_seen={"app"}, backends_seen={"asyncio"})
    b.stats = Snapshot(examples=7, steps=1, targets_seen={"other"}, backends_seen={"trio"})
    a.findings = {_raised("a.py:1").key: _raised("a.py:1", hits=2)}
    b.findings = {_raised("a.py:1").key: _raised("a.py:1", hits=3), _raised("b.py:1").key: _raised("b.py:1")}
    b.finished = True
    snap = aggregate([a, b], 2.0)
    assert (snap.examples, snap.steps, snap.workers, snap.workers_alive) == (12, 11, 2, 1)
    assert snap.targets_seen == {"app", "other"} and snap.backends_seen == {"asyncio", "trio"}
    assert {f.where: f.hits for f in snap.findings} == {"a.py:1": 5, "b.py:1": 1}


def test_split_shares_the_budget() -> None:
    assert split(10, 3) == [4, 3, 3]
    assert split(2, 2) == [1, 1]
    assert sum(split(1001, 4)) == 1001


# ------------------------------------------------------------------ RunOptions


def test_run_options_carry_one_settings() -> None:
    settings = Settings.create(max_examples=40, seed=3, backend="both", checks=["-app-raised"], workers=2)
    options = RunOptions("cliapps:ok", app_dir="apps", settings=settings)
    assert options.settings is settings
    assert (options.target, options.app_dir, options.factory) == ("cliapps:ok", "apps", False)
    assert options.max_examples == 40 and options.backends == ("asyncio", "trio")  # read through
    assert pickle.loads(pickle.dumps(options)) == options  # it crosses to the workers


def test_run_options_keyword_form_builds_the_settings() -> None:
    # The CLI's form before Settings: each knob a keyword, checks as a tuple.
    options = RunOptions(target="m:app", max_examples=10, max_time=None, seed=5, backends=("trio",), checks=("app-raised",),
                         database=Path("db"), block_timeout=2.0, workers=3, virtual_time=False)  # fmt: skip
    s = options.settings
    assert (s.max_examples, s.seed, s.backends, s.block_timeout, s.workers) == (10, 5, ("trio",), 2.0, 3)
    assert s.checks == frozenset({"app-raised"}) and s.database == "db" and options.virtual_time is False
    with pytest.raises(AttributeError):
        _ = options.no_such_knob


def test_run_options_refuse_what_cannot_cross_to_a_worker() -> None:
    with pytest.raises(UsageError, match="directory path"):
        RunOptions("m:app", settings=Settings(database=object()))
    with pytest.raises(UsageError, match="unknown option"):
        RunOptions("m:app", max_exampels=3)

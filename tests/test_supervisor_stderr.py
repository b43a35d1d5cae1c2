"""stderr carries nothing but asgifuzz's own output (issue 10, robustness).

Two kinds of stray output came from the worker processes:

* ``Exception ignored in: <_io.BytesIO ...> BufferError`` (Python 3.12 and
  3.13 before 3.13.3: an unclosed ``GzipFile`` over a ``BytesIO``, as
  Starlette's ``GZipResponder`` leaves it when the client disconnects, is
  flushed by the garbage collector; cpython#129726).  Any exception raised
  where nothing can catch it (``__del__``, weakref callbacks) is printed so.
* ``KeyboardInterrupt`` tracebacks: the SIGINT that stops a worker at the end
  of the time budget, when it lands in a finalizer (``_weakrefset``'s
  callback), is printed as "Exception ignored" and is lost, so the worker ran
  on until it was killed; one that lands while a worker starts up is printed
  by multiprocessing.

The apps below make each of these happen on purpose, on any Python.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

RAISING_DEL = """
class Buffer:
    def __init__(self):
        self.me = self  # a cycle: collected by the garbage collector, anywhere

    def __del__(self):
        raise BufferError("Existing exports of data: object cannot be re-sized")


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    Buffer()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})
"""

# The first example ends in a finalizer that runs Python code for 8 s: the
# SIGINT the parent sends 2 s after the end of the budget lands inside it.
SLOW_DEL = """
import time


class Slow:
    def __del__(self):
        end = time.monotonic() + 8
        while time.monotonic() < end:
            pass


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    slow = Slow()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})
    del slow
"""


def _env() -> dict[str, str]:
    env = dict(os.environ, COLUMNS="200")
    env.pop("PYTHONPATH", None)
    return env


def _run(tmp_path: Path, source: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    (tmp_path / "strayapp.py").write_text(source)
    return subprocess.run(
        [sys.executable, "-m", "asgifuzz", "run", "strayapp:app", "--app-dir", str(tmp_path), "--seed", "1",
         "--no-database", *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=timeout, env=_env(), check=False,
    )  # fmt: skip


def test_exceptions_nothing_can_catch_are_a_note_not_stderr(tmp_path: Path) -> None:
    proc = _run(tmp_path, RAISING_DEL, "--max-examples", "40", "--json")
    assert proc.stderr == ""
    assert proc.returncode == 0
    doc = json.loads(proc.stdout)
    assert doc["findings"] == []
    # The worker's own notes (the search's notes about routes come without a worker prefix).
    [note] = [n for n in doc["notes"] if n.startswith("worker ")]
    assert note.startswith("worker 0: ")
    assert "exception(s) raised where nothing could catch them" in note
    assert "BufferError: Existing exports of data: object cannot be re-sized" in note


def test_the_stop_signal_lost_in_a_finalizer_is_delivered_again(tmp_path: Path) -> None:
    start = time.monotonic()
    proc = _run(tmp_path, SLOW_DEL, "--max-examples", "100000000", "--max-time", "2", "--block-timeout", "60", "--json")
    assert proc.stderr == ""
    assert proc.returncode == 0
    doc = json.loads(proc.stdout)
    # not "worker 0 did not stop within 3s of SIGINT and was killed"
    assert [n for n in doc["notes"] if n.startswith("worker ")] == []
    assert not doc["interrupted"]
    assert time.monotonic() - start < 8  # the finalizer was cut short by the stop


def _workers(pid: int) -> list[str]:
    """The worker processes of ``pid`` (not multiprocessing's resource tracker)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    children = path.read_text().split() if path.exists() else []
    out = []
    for child in children:
        try:
            if "spawn_main" in Path(f"/proc/{child}/cmdline").read_text():
                out.append(child)
        except OSError:
            pass
    return out


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc to see the workers start")
def test_ctrl_c_while_workers_start_prints_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "strayapp.py").write_text(RAISING_DEL)
    proc = subprocess.Popen(
        [sys.executable, "-m", "asgifuzz", "run", "strayapp:app", "--app-dir", str(tmp_path), "--seed", "1",
         "--no-database", "--workers", "2", "--max-examples", "100000000"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not _workers(proc.pid) and time.monotonic() < deadline:  # the first worker was just forked
            time.sleep(0.002)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole group
        out, err = proc.communicate(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # a run that missed the Ctrl-C must not fuzz on forever
        proc.wait()
    assert err == ""
    assert proc.returncode == 130, out
    assert "interrupted" in out


def test_a_lost_interrupt_is_raised_again_in_the_main_thread() -> None:
    script = textwrap.dedent(
        """
        import signal, sys, time
        if sys.argv[1] == "guarded":
            from asgifuzz.supervisor.unraisable import UnraisableGuard
            guard = UnraisableGuard()
            guard.install()

        class Finalizer:
            def __del__(self):
                signal.raise_signal(signal.SIGINT)  # KeyboardInterrupt inside __del__
                sum(range(1000))

        Finalizer()
        try:
            time.sleep(3)
            print("lost")
        except KeyboardInterrupt:
            print("interrupted")
        """
    )
    control = subprocess.run([sys.executable, "-c", script, "plain"], capture_output=True, text=True, timeout=30,
                             check=False)  # fmt: skip
    # Plain Python: printed as "Exception ignored", and the interrupt is gone.
    assert control.stdout.strip() == "lost"
    assert "Exception ignored" in control.stderr and "KeyboardInterrupt" in control.stderr
    guarded = subprocess.run([sys.executable, "-c", script, "guarded"], capture_output=True, text=True, timeout=30,
                             check=False)  # fmt: skip
    assert (guarded.stdout.strip(), guarded.stderr) == ("interrupted", "")

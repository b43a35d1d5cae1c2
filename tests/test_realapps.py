"""Issue 10's acceptance on real apps nobody here wrote, fuzzed with no harness help.

Each app lives in ``tests/realapps/`` and runs in the pinned ``frameworks``
virtualenv (``tests/frameworks.py``) through a subprocess, like
``tests/test_routes.py``; the 5.8.2 instrumentator runs in its own
(``tests/oldreleases.py``).  The probe records, per route, the methods sent
and the statuses answered, and every finding's code, target and location.
"""

from __future__ import annotations

import threading
import time

import pytest


def test_a_thread_busy_forever_does_not_hide_other_threads_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """sentry-sdk's monitor sleeps in a loop forever: once its allowance is spent, it alone is ignored.

    Before, one global allowance was spent by that thread and every thread
    counted as idle from then on: virtual time jumped past sync background
    tasks still running in the threadpool, and the run reported false
    ``app-hang`` findings in ``run_in_threadpool`` (instrumented_app).
    """
    from asgifuzz.server import clock

    monkeypatch.setattr(clock, "MAX_THREAD_WAIT", 0.2)
    monkeypatch.setattr(clock, "_baseline", frozenset(t.ident for t in threading.enumerate()))
    monkeypatch.setattr(clock, "_busy_since", {})
    stop = threading.Event()

    def housekeeping() -> None:
        while not stop.is_set():
            time.sleep(0.005)

    def work(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not stop.is_set():
            pass

    monitor = threading.Thread(target=housekeeping, daemon=True)
    monitor.start()
    try:
        time.sleep(0.02)
        assert clock.busy_worker_threads() == 1
        time.sleep(0.3)
        assert clock.busy_worker_threads() == 0  # stuck past its allowance: ignored
        worker = threading.Thread(target=work, args=(2.0,), daemon=True)
        worker.start()
        time.sleep(0.02)
        assert clock.busy_worker_threads() == 1  # the new work still holds time back
    finally:
        stop.set()

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

Each worker talks to the parent over a pipe, in pickled frozen dataclasses
(``messages``):

* ``Ready``      the app imported; ``Usage`` if it did not (one line of text);
* ``Beat``       every 0.25 s from a heartbeat thread: the stats so far and the
                 case in progress (read from the driver's explicit handle,
                 ``asgifuzz.server.running``);
* ``FindingMessage``  each new distinct finding, made portable first
                 (exceptions become ``RemoteException`` text, trace messages
                 plain data: ``portable``);
* ``Fatal``      a finding the worker cannot survive: the loop is blocked, or
                 the app called ``os._exit``.  The worker exits right after;
* ``Internal``   asgifuzz itself failed (exit status 3, never a finding);
* ``Done``       the final result.

The heartbeat thread is also the *watchdog*: Python threads keep running
while the main thread spins, so it sees when the running example makes no
progress (same case, no new trace event, no new example) for ``block_timeout`` seconds
while the main thread is not idle in the selector, and reports
``event-loop-blocked`` with the stack of the loop thread and the case so far.

The parent is the last line: a worker that dies without a ``Done`` (exit
status, fatal signal; the ``faulthandler`` dump is read back) becomes a
``process-exited`` finding with the last case in progress; a worker that
stops beating (the app holds the GIL) is killed and reported as blocked; and
at the time budget (plus a small margin) workers get SIGINT, then SIGKILL.
Ctrl-C in the parent forwards SIGINT and collects what the workers found.

Nothing of this may be reported against the app unless the app did it: a
watchdog that cannot read the running case reports an internal error (exit
status 3), never ``event-loop-blocked``.  And stderr stays asgifuzz's: a
worker turns exceptions raised where nothing can catch them (``__del__``,
weakref callbacks) into one note, raises again a stop signal that such a
place swallowed, and starts with SIGINT held back so that a Ctrl-C while it
boots waits for its handler (``unraisable``, ``parent._sigint_held``).

Modules: ``run`` (``RunOptions``, ``Snapshot``, ``RunResult``), ``messages``,
``portable``, ``channel`` (the worker's end of the pipe), ``watchdog``,
``unraisable``, ``worker`` (the worker process), ``parent`` (``supervise``).
"""

from __future__ import annotations

from asgifuzz.supervisor.parent import supervise
from asgifuzz.supervisor.portable import portable_finding
from asgifuzz.supervisor.run import SUPERVISOR_CODES, RunOptions, RunResult, Snapshot

__all__ = ("SUPERVISOR_CODES", "RunOptions", "RunResult", "Snapshot", "portable_finding", "supervise")

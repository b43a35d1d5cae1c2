"""The app's own background work, watched while a case runs (issue 12, class 3).

Starlette and FastAPI run a response's ``BackgroundTask``/``BackgroundTasks``
after the response is sent, inside the app call.  While a case runs,
``watching_app_tasks`` wraps two methods so the run's probe learns

* when a response carrying tasks was called to be sent (``Response.__call__``
  and every subclass that overrides it, such as BaseHTTPMiddleware's
  ``_StreamingResponse``: the tasks a middleware sets on the response from
  ``call_next`` are attached there), and
* when each task started, finished, raised or was cancelled
  (``BackgroundTask.__call__``; ``BackgroundTasks`` calls it for each of its
  tasks).

The wrappers add no scheduling point and are removed when the run ends, so
the user's modules are patched only while asgifuzz drives them (any Starlette
from 0.13; the names are the same).  ``app_task_findings`` then judges the
run: every task attached to a response the client received ran to
completion, and started only after the client had the whole response.

The same wrapper looks at a streaming response's iterator when the response
ends: an async generator of the app's own that is still suspended inside a
``try``/``finally`` or ``async with`` block has cleanup that did not run
with the request (Starlette never closes the iterator; the garbage
collector finalizes it later).  ``app_stream_findings`` reports it, as a
warning, when the client left.
"""

from __future__ import annotations

import contextlib
import dis
import inspect
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from asgifuzz._finding import Finding

if TYPE_CHECKING:
    from asgifuzz.server.driver import Outcome

__all__ = ("app_stream_findings", "app_task_findings", "watching_app_tasks")

_ORIGINALS = "__asgifuzz_original_call__"


class _Names:
    """Stable names for the tasks of one run: the function, and its rank among namesakes."""

    def __init__(self) -> None:
        self.probe: object = None
        self.by_id: dict[int, tuple[Any, str]] = {}
        self.counts: dict[str, int] = {}

    def name(self, task: Any) -> str:
        from asgifuzz.server.probe import current_probe

        probe = current_probe()
        if probe is not self.probe:  # a new run: names start again
            self.probe, self.by_id, self.counts = probe, {}, {}
        known = self.by_id.get(id(task))
        if known is not None and known[0] is task:
            return known[1]
        func = getattr(task, "func", None)
        base = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or type(task).__name__
        n = self.counts.get(base, 0) + 1
        self.counts[base] = n
        name = base if n == 1 else f"{base}#{n}"
        self.by_id[id(task)] = (task, name)  # keeps the task alive for the run, so ids are not reused
        return name


_names = _Names()


def _leaf_tasks(background: Any) -> list[Any]:
    tasks = getattr(background, "tasks", None)
    if isinstance(tasks, list):
        return [t for item in tasks for t in _leaf_tasks(item)]
    return [background]


def _wrap_task_call(original: Callable[..., Any]) -> Callable[..., Any]:
    async def __call__(self: Any, *args: Any, **kwargs: Any) -> None:
        from asgifuzz.server.probe import current_probe

        if isinstance(getattr(self, "tasks", None), list):  # a BackgroundTasks: its tasks report
            await original(self, *args, **kwargs)
            return
        probe, name = current_probe(), _names.name(self)
        probe.on_task(name, "started")
        try:
            await original(self, *args, **kwargs)
        except Exception:
            probe.on_task(name, "raised")
            raise
        except BaseException:
            probe.on_task(name, "cancelled")
            raise
        probe.on_task(name, "finished")

    return __call__


def _wrap_response_call(original: Callable[..., Any]) -> Callable[..., Any]:
    async def __call__(self: Any, scope: Any, receive: Any, send: Any) -> None:
        http = isinstance(scope, dict) and scope.get("type") == "http"
        background = getattr(self, "background", None)
        if background is not None and http:
            from asgifuzz.server.probe import current_probe

            probe = current_probe()
            for task in _leaf_tasks(background):
                probe.on_task(_names.name(task), "attached")
        try:
            await original(self, scope, receive, send)
        finally:
            iterator = getattr(self, "body_iterator", None)
            if http and inspect.isasyncgen(iterator) and _own(iterator):
                from asgifuzz.server.probe import current_probe

                current_probe().on_stream_end(iterator.ag_code.co_qualname, pending=_cleanup_pending(iterator))

    return __call__


#: Generators of these packages are the framework's plumbing (or asgifuzz's endpoints), not the app's.
_NOT_THE_APPS = ("starlette.", "fastapi.", "asgifuzz.")


def _own(agen: Any) -> bool:
    frame = agen.ag_frame  # None once closed: nothing pending then, whoever owns it
    module = str(frame.f_globals.get("__name__", "")) if frame is not None else ""
    return not module.startswith(_NOT_THE_APPS)


def _cleanup_pending(agen: Any) -> bool:
    """Suspended inside a ``try``/``finally`` or ``with`` block: cleanup that only closing it would run."""
    frame = agen.ag_frame
    if frame is None or agen.ag_running:
        return False  # closed, exhausted, or running right now
    offset = frame.f_lasti
    return any(start <= offset < end for start, end in _cleanup_ranges(agen.ag_code))


@lru_cache(maxsize=512)
def _cleanup_ranges(code: Any) -> tuple[tuple[int, int], ...]:
    """The bytecode ranges a handler covers, but the implicit ones (3.12+: around awaits, the whole generator)."""
    bytecode = dis.Bytecode(code)
    by_offset = {i.offset: i for i in bytecode}
    out = []
    for entry in getattr(bytecode, "exception_entries", ()):
        target = by_offset.get(entry.target)
        implicit = target is not None and (
            target.opname == "CLEANUP_THROW" or (target.opname == "CALL_INTRINSIC_1" and target.arg == 3)
        )
        if not implicit:
            out.append((entry.start, entry.end))
    return tuple(out)


def _response_classes() -> list[type]:
    """Starlette's Response and every loaded subclass that defines its own ``__call__``."""
    from starlette.responses import Response

    with contextlib.suppress(ImportError):
        import starlette.middleware.base  # noqa: F401  (its _StreamingResponse)
    seen: list[type] = []
    todo: list[type] = [Response]
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.append(cls)
        todo.extend(cls.__subclasses__())
    return [c for c in seen if "__call__" in vars(c)]


@contextlib.contextmanager
def watching_app_tasks() -> Iterator[None]:
    """Record the app's background tasks into the run's probe while the block runs (re-entrant)."""
    try:
        from starlette.background import BackgroundTask
    except ImportError:
        yield
        return
    patched: list[tuple[type, Any]] = []
    targets: list[tuple[type, Callable[[Callable[..., Any]], Callable[..., Any]]]] = [(BackgroundTask, _wrap_task_call)]
    targets += [(cls, _wrap_response_call) for cls in _response_classes()]
    try:
        for cls, wrap in targets:
            current = vars(cls)["__call__"]
            if getattr(current, _ORIGINALS, None) is not None:
                continue  # already watched by an enclosing block
            wrapper = wrap(current)
            setattr(wrapper, _ORIGINALS, current)
            type.__setattr__(cls, "__call__", wrapper)
            patched.append((cls, current))
        yield
    finally:
        for cls, current in reversed(patched):
            type.__setattr__(cls, "__call__", current)


def app_task_findings(outcome: Outcome, reference: Outcome | None = None) -> list[Finding]:
    """The app's tasks attached to a response the client received: ran to completion, after it.

    Judged only when the client had the whole response and the app ended on
    its own (a hang or a lost response is its own finding).  A client that
    closes the connection once it has the response is ordinary (Starlette
    issue #1438); its tasks are judged against ``reference`` (the same case
    without the user's middleware), where the same task must have finished.
    """
    from asgifuzz.checks.invariants import APP_TASK_BEFORE_RESPONSE, APP_TASK_LOST

    tasks = outcome.probe.tasks
    delivered = outcome.response.delivered_seq
    if not tasks or delivered is None or outcome.app_end == "hung":
        return []
    left = outcome.disconnect_seq
    if left is not None and left < delivered:
        return []
    found: list[Finding] = []
    for name, task in tasks.items():
        if task.attached is None:
            continue
        if task.started is None or (task.finished is None and not task.raised):
            if left is not None and not _finished_in(reference, name):
                continue
            state = "never started" if task.started is None else "started but was cancelled before it finished"
            after = " (the client closed the connection once it had the response)" if left is not None else ""
            message = f"background task {name!r} of the response the client received {state}{after}"
            found.append(Finding(APP_TASK_LOST, message, where=name, trace=outcome.trace, case=outcome.case))
        elif task.started < delivered:
            message = f"background task {name!r} started before the client had the complete response"
            found.append(Finding(APP_TASK_BEFORE_RESPONSE, message, where=name, trace=outcome.trace, case=outcome.case))
    return found


def _finished_in(reference: Outcome | None, name: str) -> bool:
    task = reference.probe.tasks.get(name) if reference is not None else None
    return task is not None and task.finished is not None


def app_stream_findings(outcome: Outcome) -> list[Finding]:
    """The app's own response streams left with their cleanup pending once the client had left."""
    from asgifuzz.checks.invariants import APP_STREAM_LEFT_OPEN

    if outcome.disconnect_seq is None:
        return []
    return [
        Finding(
            APP_STREAM_LEFT_OPEN,
            f"the client left and the response ended with the app's stream {name!r} suspended inside a "
            "try/finally or with block: its cleanup did not run with the request",
            where=name,
            trace=outcome.trace,
            case=outcome.case,
        )
        for name in outcome.probe.streams_left_open
    ]

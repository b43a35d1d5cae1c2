"""What an instrumented endpoint tells the driver about its own experience.

The adversarial endpoints (``asgifuzz.endpoints``) report to the probe of the
run in progress: the body they received, whether they saw the client leave,
when their background tasks started and finished, the chunks they produced.
A process runs one case at a time, so the current probe is a module global:
that survives worker threads and middleware that rebuilds the scope, where a
context variable or a scope key might not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

__all__ = ("PlantedError", "Probe", "current_probe")


class PlantedError(Exception):
    """Raised on purpose by an adversarial endpoint; never a finding by itself."""


@dataclass(slots=True)
class Background:
    started: int | None = None
    finished: int | None = None
    raised: bool = False
    #: Seq when the response carrying it was sent (the app's own tasks, ``asgifuzz.background``).
    attached: int | None = None


@dataclass(slots=True)
class Probe:
    record: Callable[[str, str], int] = lambda kind, detail: 0
    endpoint: str = ""
    called: bool = False
    body: bytearray = field(default_factory=bytearray)
    #: How the endpoint's read of the body ended: "complete", "disconnect", or "".
    body_end: str = ""
    saw_disconnect: bool = False
    background: dict[str, Background] = field(default_factory=dict)
    #: (seq when produced, bytes) for each streamed chunk.
    chunks: list[tuple[int, bytes]] = field(default_factory=list)
    planted: list[str] = field(default_factory=list)
    #: The app's own background tasks (``asgifuzz.background``), by name.
    tasks: dict[str, Background] = field(default_factory=dict)
    #: Exceptions that escaped the app's router (below its user middleware), by type name.
    router_raised: list[str] = field(default_factory=list)
    #: The app's own streaming iterators left suspended with cleanup pending (``asgifuzz.background``): name -> seq.
    streams_left_open: dict[str, int] = field(default_factory=dict)
    #: The request's content-type and content-encoding headers as the endpoint saw them.
    content_headers: tuple[tuple[bytes, bytes], ...] = ()

    def note(self, kind: str, detail: str = "") -> int:
        return self.record(kind, detail)

    def on_call(self, name: str) -> None:
        self.called = True
        self.endpoint = name
        self.note("endpoint-called", name)

    def on_request_headers(self, headers: Iterable[tuple[bytes, bytes]]) -> None:
        seen = [(bytes(k).lower(), bytes(v)) for k, v in headers]
        self.content_headers = tuple(h for h in seen if h[0] in (b"content-type", b"content-encoding"))

    def on_body(self, chunk: bytes, *, done: bool) -> None:
        self.body += chunk
        if done and not self.body_end:
            self.body_end = "complete"

    def on_disconnect(self) -> None:
        if not self.saw_disconnect:
            self.saw_disconnect = True
            if not self.body_end:
                self.body_end = "disconnect"
            self.note("endpoint-saw-disconnect")

    def on_chunk(self, data: bytes) -> None:
        seq = self.note("endpoint-produced", f"{len(data)} byte(s)")
        self.chunks.append((seq, data))

    def on_background(self, name: str, phase: str) -> None:
        bg = self.background.setdefault(name, Background())
        seq = self.note(f"background-{phase}", name)
        if phase == "started":
            bg.started = seq
        elif phase == "finished":
            bg.finished = seq
        elif phase == "raised":
            bg.raised = True

    def on_task(self, name: str, phase: str) -> None:
        """The app's own background task ``name``: attached (to a sent response), started, finished, raised."""
        task = self.tasks.setdefault(name, Background())
        seq = self.note(f"app-task-{phase}", name)
        if phase == "attached" and task.attached is None:
            task.attached = seq
        elif phase == "started":
            task.started = seq
        elif phase == "finished":
            task.finished = seq
        elif phase == "raised":
            task.raised = True

    def on_stream_end(self, name: str, *, pending: bool) -> None:
        """A response carrying the app's iterator ``name`` ended: its cleanup (finally, with) ran or is pending.

        Each response class's ``__call__`` reports; the outermost (a subclass that closes the
        iterator after its parent's ``__call__``) reports last, and its word stands.
        """
        if pending:
            self.streams_left_open.setdefault(name, self.note("app-stream-left-open", name))
        else:
            self.streams_left_open.pop(name, None)

    def on_router_raised(self, exc: BaseException) -> None:
        self.router_raised.append(type(exc).__name__)
        self.note("router-raised", type(exc).__name__)

    def on_planted(self, where: str) -> None:
        self.planted.append(where)
        self.note("endpoint-raised-planted", where)


_current: list[Probe] = [Probe()]


def current_probe() -> Probe:
    return _current[0]


def install_probe(probe: Probe) -> None:
    _current[0] = probe


"""The worker-to-parent messages: frozen, and whole after a trip through a real pipe."""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import pickle
import subprocess
import sys
import textwrap
from multiprocessing.connection import Connection

import pytest

from asgifuzz._case import Case
from asgifuzz._finding import Finding, RemoteException, TraceEvent
from asgifuzz.checks.invariants import APP_RAISED
from asgifuzz.supervisor.messages import FINAL, Beat, Done, Fatal, FindingMessage, Internal, Message, Ready, Usage
from asgifuzz.supervisor.portable import portable_finding
from asgifuzz.supervisor.run import Snapshot


class _Opaque:
    """An object that does not pickle as data (its repr stands in for it)."""

    def __repr__(self) -> str:
        return "<opaque>"


def _finding() -> Finding:
    try:
        raise ValueError("boom")
    except ValueError as exc:
        error = exc
    case = Case(target="app", scope={"type": "http", "path": "/", "state": _Opaque()}, body=b"x", actions=())
    trace = [
        TraceEvent(0, 0.0, "app", "send", {"type": "http.response.start", "headers": [(b"a", b"b")], "x": _Opaque()}),
        TraceEvent(1, 0.5, "app", "raised", None, "ValueError: boom"),
    ]
    return Finding(APP_RAISED, "the app raised", where="app.py:3", exception=error, trace=trace, case=case, hits=2)


def _snapshot() -> Snapshot:
    return Snapshot(examples=7, steps=21, disconnect_positions={"before-body"}, targets_seen={"app"},
                    depths_seen={1, 2}, backends_seen={"asyncio"})  # fmt: skip


def _every_message() -> list[Message]:
    finding = portable_finding(_finding())
    return [
        Ready(0),
        Usage(1, "cannot import 'x:app'", "Traceback ..."),
        Beat(0, _snapshot(), finding.case),
        Beat(0, None, None),
        FindingMessage(0, finding),
        Fatal(0, finding),
        Internal(0, "RuntimeError: engine", "Traceback ..."),
        Done(0, _snapshot(), (finding,), interrupted=True, notes=("a note",)),
    ]


def _same(a: object, b: object) -> bool:
    """Equal, comparing findings by what they say (exceptions compare by identity)."""
    if isinstance(a, Finding) and isinstance(b, Finding):
        return (a.key, a.message, a.trace, a.case, a.hits, a.exception_text()) == (
            b.key, b.message, b.trace, b.case, b.hits, b.exception_text()
        )  # fmt: skip
    if dataclasses.is_dataclass(a) and type(a) is type(b):
        return all(_same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.mark.parametrize("message", _every_message(), ids=lambda m: type(m).__name__)
def test_each_message_crosses_a_pipe_whole(message: Message) -> None:
    reader, writer = multiprocessing.get_context("spawn").Pipe(duplex=False)
    with reader, writer:
        writer.send(message)
        received = reader.recv()
    assert type(received) is type(message)
    assert _same(received, message)


@pytest.mark.parametrize("message", _every_message(), ids=lambda m: type(m).__name__)
def test_messages_are_frozen(message: Message) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        message.worker = 5  # type: ignore[misc]


def test_a_portable_finding_keeps_its_key_and_text() -> None:
    original = _finding()
    copy = portable_finding(original)
    assert copy.key == original.key == ("app-raised", "app", "ValueError", "app.py:3")
    assert isinstance(copy.exception, RemoteException)
    assert 'raise ValueError("boom")' in copy.exception_text()
    assert copy.case is not None and copy.case.scope["state"] == "<opaque>"
    assert copy.trace[0].message is not None and copy.trace[0].message["x"] == "<opaque>"
    assert copy.trace[0].message["headers"] == [(b"a", b"b")]
    pickle.dumps(copy)


def test_final_messages() -> None:
    assert {cls.__name__ for cls in FINAL} == {"Fatal", "Usage", "Internal", "Done"}


def test_messages_from_another_interpreter() -> None:
    # Pickled by a fresh process (the worker's side), read here (the parent's).
    read_fd, write_fd = os.pipe()
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from multiprocessing.connection import Connection
        from test_supervisor_messages import _every_message
        with Connection({write_fd}) as conn:
            for message in _every_message():
                conn.send(message)
        """
    )
    with Connection(read_fd) as reader:
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                              pass_fds=[write_fd], check=False)  # fmt: skip
        os.close(write_fd)
        assert proc.returncode == 0, proc.stderr
        received: list[object] = []
        with contextlib.suppress(EOFError):
            while True:
                received.append(reader.recv())
    expected = _every_message()
    assert [type(m) for m in received] == [type(m) for m in expected]
    assert all(_same(a, b) for a, b in zip(received, expected, strict=True))

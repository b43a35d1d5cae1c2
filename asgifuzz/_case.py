"""A case: everything needed to replay one interaction exactly.

A case is the scope, the request body the client means to send, and the
script of client/server actions, plus the backend, the server profile and the
trio schedule seed.  Actions never depend on what the app did, so a script
found against one app replays against another (the transparency oracle runs
the same script through the bare endpoint and through the stack).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Literal

from asgifuzz._errors import CorpusError

__all__ = (
    "Action",
    "Advance",
    "Case",
    "Chunk",
    "Disconnect",
    "Latency",
    "Run",
    "action_from_json",
    "action_to_json",
)


@dataclass(frozen=True, slots=True)
class Chunk:
    """The client sends the next ``size`` bytes of the body."""

    size: int


@dataclass(frozen=True, slots=True)
class Disconnect:
    """The client goes away."""


@dataclass(frozen=True, slots=True)
class Run:
    """Let the app run: until every task blocks (``steps`` None) or ``steps`` checkpoints."""

    steps: int | None = None


@dataclass(frozen=True, slots=True)
class Advance:
    """Virtual time moves forward by ``seconds``; due timers fire."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Latency:
    """From now on each send() takes ``checkpoints`` scheduler yields (flow control)."""

    checkpoints: int


Action = Chunk | Disconnect | Run | Advance | Latency
Backend = Literal["asyncio", "trio"]


def action_to_json(action: Action) -> dict[str, Any]:
    if isinstance(action, Chunk):
        return {"op": "chunk", "size": action.size}
    if isinstance(action, Disconnect):
        return {"op": "disconnect"}
    if isinstance(action, Run):
        return {"op": "run"} if action.steps is None else {"op": "run", "steps": action.steps}
    if isinstance(action, Advance):
        return {"op": "advance", "seconds": action.seconds}
    return {"op": "latency", "checkpoints": action.checkpoints}


def _int(obj: dict[str, Any], key: str, where: str) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise CorpusError(f"{where}/{key}: expected a non-negative int, got {value!r}")
    return value


def action_from_json(obj: object, where: str) -> Action:
    if not isinstance(obj, dict):
        raise CorpusError(f"{where}: expected an object, got {obj!r}")
    op = obj.get("op")
    if op == "chunk":
        return Chunk(_int(obj, "size", where))
    if op == "disconnect":
        return Disconnect()
    if op == "run":
        return Run(None if obj.get("steps") is None else _int(obj, "steps", where))
    if op == "advance":
        seconds = obj.get("seconds")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
            raise CorpusError(f"{where}/seconds: expected a non-negative number, got {seconds!r}")
        return Advance(float(seconds))
    if op == "latency":
        return Latency(_int(obj, "checkpoints", where))
    raise CorpusError(f"{where}/op: unknown action {op!r}")


def describe_action(action: Action) -> str:
    if isinstance(action, Chunk):
        return f"client sends {action.size} body byte(s)"
    if isinstance(action, Disconnect):
        return "client disconnects"
    if isinstance(action, Run):
        if action.steps is None:
            return "app runs until it blocks"
        return f"app runs {action.steps} scheduler step(s)"
    if isinstance(action, Advance):
        return f"virtual time advances {action.seconds:g}s"
    return f"server send latency becomes {action.checkpoints} step(s)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """One replayable interaction."""

    #: Which target of the fuzz run (route, or stack and endpoint).
    target: str
    #: The HTTP connection scope handed to the app (before server additions).
    scope: dict[str, Any]
    body: bytes
    actions: tuple[Action, ...]
    backend: Backend = "asyncio"
    profile: str = "uvicorn"
    #: Seeds trio's scheduler (its batch order); unused on asyncio.
    schedule_seed: int = 0
    #: Differential comparison against the bare endpoint.
    differential: bool = False
    #: Composed stacks: indices into the target's middleware, outermost first.
    stack: tuple[int, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def message_count(self) -> int:
        """Client messages in the script (body chunks and the disconnect)."""
        return sum(isinstance(a, Chunk | Disconnect) for a in self.actions)


# ----------------------------------------------------------- JSON helpers


def bytes_to_json(data: bytes) -> str | dict[str, str]:
    """Latin-1 text when it is readable ASCII, else base64 (lossless both ways)."""
    if all(32 <= b < 127 or b in (9, 10, 13) for b in data):
        return data.decode("latin-1")
    return {"base64": base64.b64encode(data).decode("ascii")}


def bytes_from_json(obj: object, where: str) -> bytes:
    if isinstance(obj, str):
        try:
            return obj.encode("latin-1")
        except UnicodeEncodeError:
            raise CorpusError(f"{where}: text is not latin-1") from None
    if isinstance(obj, dict) and isinstance(obj.get("base64"), str):
        try:
            return base64.b64decode(obj["base64"], validate=True)
        except ValueError:
            raise CorpusError(f"{where}: invalid base64") from None
    raise CorpusError(f"{where}: expected bytes as a string or {{'base64': ...}}, got {obj!r}")


def scope_to_json(scope: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in scope.items():
        if key == "headers":
            out[key] = [[bytes_to_json(n), bytes_to_json(v)] for n, v in value]
        elif isinstance(value, bytes):
            out[key] = bytes_to_json(value)
        elif isinstance(value, tuple):
            out[key] = list(value)
        else:
            out[key] = value
    return out


_BYTES_KEYS = ("query_string", "raw_path")


def scope_from_json(obj: object, where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise CorpusError(f"{where}: expected an object")
    scope = dict(obj)
    for key in ("type", "method", "path"):
        if not isinstance(scope.get(key), str):
            raise CorpusError(f"{where}/{key}: expected a string, got {scope.get(key)!r}")
    for key in _BYTES_KEYS:
        if key in scope and scope[key] is not None:
            scope[key] = bytes_from_json(scope[key], f"{where}/{key}")
    headers = scope.get("headers", [])
    if not isinstance(headers, list):
        raise CorpusError(f"{where}/headers: expected a list")
    parsed = []
    for i, pair in enumerate(headers):
        if not isinstance(pair, list) or len(pair) != 2:
            raise CorpusError(f"{where}/headers/{i}: expected [name, value]")
        parsed.append(
            (
                bytes_from_json(pair[0], f"{where}/headers/{i}/0"),
                bytes_from_json(pair[1], f"{where}/headers/{i}/1"),
            )
        )
    scope["headers"] = parsed
    for key in ("client", "server"):
        if isinstance(scope.get(key), list):
            scope[key] = tuple(scope[key])
    return scope

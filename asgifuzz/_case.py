"""A case: everything needed to replay one interaction exactly.

A case is the scope, the request body the client means to send, and the
script of client/server actions, plus the backend, the server profile and the
trio schedule seed.  Actions never depend on what the app did, so a script
found against one app replays against another (the transparency oracle runs
the same script through the bare endpoint and through the stack).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from asgifuzz._config import Backend
from asgifuzz._errors import CorpusError

__all__ = (
    "Action",
    "Advance",
    "Case",
    "Chunk",
    "Disconnect",
    "Latency",
    "Later",
    "LsRequest",
    "LsShutdown",
    "LsStartup",
    "Pause",
    "Run",
    "WsBytes",
    "WsClose",
    "WsText",
    "action_from_json",
    "action_to_json",
    "case_from_json",
    "case_to_json",
    "describe_action",
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
class Pause:
    """The client waits ``seconds`` of virtual time while the app runs (timers fire in order).

    Not drawn by the search: the isolation oracle puts it where, in a
    session, the connection waited while another connection was served.
    """

    seconds: float


@dataclass(frozen=True, slots=True)
class Latency:
    """From now on each send() takes ``checkpoints`` scheduler yields (flow control)."""

    checkpoints: int


# -- websocket client actions (a websocket case has no body; ``Disconnect``
# is the TCP connection lost without a close frame).


@dataclass(frozen=True, slots=True)
class WsText:
    """The websocket client sends a text frame (queued until the handshake is accepted)."""

    text: str


@dataclass(frozen=True, slots=True)
class WsBytes:
    """The websocket client sends a binary frame (queued until the handshake is accepted)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class WsClose:
    """The websocket client sends a close frame (``code`` None: a frame without a code)."""

    code: int | None = 1000
    reason: str = ""


# -- lifespan server actions (a lifespan case has no body: the server is the
# only other party; ``server.lifespan_driver`` plays them).


@dataclass(frozen=True, slots=True)
class LsStartup:
    """The server sends ``lifespan.startup`` (once; a real server always starts first)."""


@dataclass(frozen=True, slots=True)
class LsRequest:
    """The server serves one ``GET /`` request with a copy of the lifespan state (after startup)."""


@dataclass(frozen=True, slots=True)
class LsShutdown:
    """The server sends ``lifespan.shutdown`` (once, only after a completed startup)."""


Action = Chunk | Disconnect | Run | Advance | Pause | Latency | WsText | WsBytes | WsClose | LsStartup | LsRequest | LsShutdown

_LS_OPS: dict[str, Action] = {
    "lifespan-startup": LsStartup(),
    "lifespan-request": LsRequest(),
    "lifespan-shutdown": LsShutdown(),
}


def action_to_json(action: Action) -> dict[str, Any]:
    if isinstance(action, Chunk):
        return {"op": "chunk", "size": action.size}
    if isinstance(action, Disconnect):
        return {"op": "disconnect"}
    if isinstance(action, Run):
        return {"op": "run"} if action.steps is None else {"op": "run", "steps": action.steps}
    if isinstance(action, Advance):
        return {"op": "advance", "seconds": action.seconds}
    if isinstance(action, Pause):
        return {"op": "pause", "seconds": action.seconds}
    if isinstance(action, WsText | WsBytes | WsClose):
        return _ws_action_to_json(action)
    for op, ls_action in _LS_OPS.items():
        if action == ls_action:
            return {"op": op}
    assert isinstance(action, Latency)
    return {"op": "latency", "checkpoints": action.checkpoints}


def _ws_action_to_json(action: WsText | WsBytes | WsClose) -> dict[str, Any]:
    if isinstance(action, WsText):
        return {"op": "ws-text", "text": action.text}
    if isinstance(action, WsBytes):
        return {"op": "ws-bytes", "bytes": bytes_to_json(action.data)}
    return {"op": "ws-close", "code": action.code, "reason": action.reason}


def _ws_action_from_json(obj: dict[str, Any], op: str, where: str) -> Action:
    if op == "ws-text":
        text = obj.get("text")
        if not isinstance(text, str):
            raise CorpusError(f"{where}/text: expected a string, got {text!r}")
        return WsText(text)
    if op == "ws-bytes":
        return WsBytes(bytes_from_json(obj.get("bytes"), f"{where}/bytes"))
    code = obj.get("code")
    if code is not None and (not isinstance(code, int) or isinstance(code, bool) or not 0 <= code <= 65535):
        raise CorpusError(f"{where}/code: expected null or an int 0-65535, got {code!r}")
    reason = obj.get("reason", "")
    if not isinstance(reason, str):
        raise CorpusError(f"{where}/reason: expected a string, got {reason!r}")
    return WsClose(code, reason)


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
    if op == "pause":
        seconds = obj.get("seconds")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
            raise CorpusError(f"{where}/seconds: expected a non-negative number, got {seconds!r}")
        return Pause(float(seconds))
    if op == "latency":
        return Latency(_int(obj, "checkpoints", where))
    if op in ("ws-text", "ws-bytes", "ws-close"):
        return _ws_action_from_json(obj, op, where)
    if isinstance(op, str) and op in _LS_OPS:
        return _LS_OPS[op]
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
    if isinstance(action, Pause):
        return f"client waits {action.seconds:g}s while the app runs"
    if isinstance(action, WsText):
        return f"client sends text frame {action.text!r}"
    if isinstance(action, WsBytes):
        return f"client sends binary frame {action.data!r}"
    if isinstance(action, WsClose):
        code = "no code" if action.code is None else f"code {action.code}"
        return f"client sends close frame ({code}" + (f", reason {action.reason!r})" if action.reason else ")")
    if isinstance(action, LsStartup):
        return "server sends lifespan.startup"
    if isinstance(action, LsRequest):
        return "server serves GET / with the lifespan state"
    if isinstance(action, LsShutdown):
        return "server sends lifespan.shutdown"
    return f"server send latency becomes {action.checkpoints} step(s)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Later:
    """A later connection of a session: another client of the same app instance.

    ``during`` None: it opens once the previous connection has ended (a
    keep-alive client's next request); an int k: it opens while the previous
    connection is still in flight, right after that connection's k-th action
    (its body half sent, its response streaming, its background task
    running), runs to its end, and then the previous connection goes on.
    """

    scope: dict[str, Any]
    body: bytes
    actions: tuple[Action, ...]
    during: int | None = None


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
    #: Server knobs overridden on top of ``profile`` (``server.profiles.KNOBS``), as (knob, value).
    server: tuple[tuple[str, str], ...] = ()
    #: The session's later connections, in order (``Later``); empty: one connection.
    session: tuple[Later, ...] = ()

    @property
    def message_count(self) -> int:
        """Client messages in the script (body chunks, websocket frames and the disconnect)."""
        return sum(isinstance(a, Chunk | Disconnect | WsText | WsBytes | WsClose) for a in self.actions)


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
    # A websocket scope has no method (www.rst 'WebSocket Connection Scope'), a lifespan scope no path.
    required: tuple[str, ...] = ("type", "method", "path")
    if scope.get("type") == "websocket":
        required = ("type", "path")
    elif scope.get("type") == "lifespan":
        required = ("type",)
    for key in required:
        if not isinstance(scope.get(key), str):
            raise CorpusError(f"{where}/{key}: expected a string, got {scope.get(key)!r}")
    subprotocols = scope.get("subprotocols", [])
    if not isinstance(subprotocols, list) or not all(isinstance(p, str) for p in subprotocols):
        raise CorpusError(f"{where}/subprotocols: expected a list of strings, got {subprotocols!r}")
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
    if parsed or "headers" in obj or scope.get("type") != "lifespan":
        scope["headers"] = parsed
    for key in ("client", "server"):
        if isinstance(scope.get(key), list):
            scope[key] = tuple(scope[key])
    return scope


# ------------------------------------------------------------- the codec


def case_to_json(case: Case) -> dict[str, Any]:
    """The one JSON form of a case (corpus files and ``--json`` reports)."""
    doc: dict[str, Any] = {
        "target": case.target,
        "scope": scope_to_json(case.scope),
        "body": bytes_to_json(case.body),
        "actions": [action_to_json(a) for a in case.actions],
        "backend": case.backend,
        "profile": case.profile,
        "schedule_seed": case.schedule_seed,
        "differential": case.differential,
    }
    # Only composed-stack cases carry a stack; leaving the key out otherwise
    # keeps the content hashes of every other corpus case unchanged.
    if case.stack:
        doc["stack"] = list(case.stack)
    # Likewise the server knobs: older corpus files have none.
    if case.server:
        doc["server"] = dict(case.server)
    # And the session: a single-connection case has none.
    if case.session:
        doc["session"] = [
            {
                "scope": scope_to_json(c.scope),
                "body": bytes_to_json(c.body),
                "actions": [action_to_json(a) for a in c.actions],
                "during": c.during,
            }
            for c in case.session
        ]
    return doc


def case_from_json(doc: dict[str, Any], where: str = "") -> Case:
    """Validate the case fields of ``doc``; raises ``CorpusError`` naming the JSON pointer."""
    from asgifuzz.server.profiles import PROFILES

    target = doc.get("target")
    if not isinstance(target, str):
        raise CorpusError(f"{where}/target: expected a string, got {target!r}")
    raw_actions = doc.get("actions")
    if not isinstance(raw_actions, list):
        raise CorpusError(f"{where}/actions: expected a list, got {type(raw_actions).__name__}")
    backend = doc.get("backend")
    if backend not in ("asyncio", "trio"):
        raise CorpusError(f'{where}/backend: expected "asyncio" or "trio", got {backend!r}')
    profile = doc.get("profile")
    if not isinstance(profile, str):
        raise CorpusError(f"{where}/profile: expected a string, got {profile!r}")
    if profile not in PROFILES:
        raise CorpusError(f"{where}/profile: unknown server profile {profile!r}; known: {', '.join(PROFILES)}")
    seed = doc.get("schedule_seed")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise CorpusError(f"{where}/schedule_seed: expected a non-negative int, got {seed!r}")
    differential = doc.get("differential", False)
    if not isinstance(differential, bool):
        raise CorpusError(f"{where}/differential: expected true or false, got {differential!r}")
    raw_stack = doc.get("stack", [])
    if not isinstance(raw_stack, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in raw_stack
    ):
        raise CorpusError(f"{where}/stack: expected a list of non-negative ints, got {raw_stack!r}")
    server = _server_knobs(doc.get("server", {}), f"{where}/server")
    return Case(
        target=target,
        scope=scope_from_json(doc.get("scope"), f"{where}/scope"),
        body=bytes_from_json(doc.get("body"), f"{where}/body"),
        actions=tuple(action_from_json(a, f"{where}/actions/{i}") for i, a in enumerate(raw_actions)),
        backend="trio" if backend == "trio" else "asyncio",
        profile=profile,
        schedule_seed=seed,
        differential=differential,
        stack=tuple(raw_stack),
        server=server,
        session=_session_from_json(doc.get("session", []), f"{where}/session"),
    )


def _session_from_json(raw: object, where: str) -> tuple[Later, ...]:
    if not isinstance(raw, list):
        raise CorpusError(f"{where}: expected a list of connections, got {raw!r}")
    out = []
    for i, obj in enumerate(raw):
        at = f"{where}/{i}"
        if not isinstance(obj, dict):
            raise CorpusError(f"{at}: expected an object, got {obj!r}")
        actions = obj.get("actions")
        if not isinstance(actions, list):
            raise CorpusError(f"{at}/actions: expected a list, got {actions!r}")
        during = obj.get("during")
        if during is not None and (not isinstance(during, int) or isinstance(during, bool) or during < 0):
            raise CorpusError(f"{at}/during: expected null or a non-negative int, got {during!r}")
        out.append(
            Later(
                scope=scope_from_json(obj.get("scope"), f"{at}/scope"),
                body=bytes_from_json(obj.get("body"), f"{at}/body"),
                actions=tuple(action_from_json(a, f"{at}/actions/{j}") for j, a in enumerate(actions)),
                during=during,
            )
        )
    return tuple(out)


def _server_knobs(raw: object, where: str) -> tuple[tuple[str, str], ...]:
    from asgifuzz.server.profiles import KNOBS

    if not isinstance(raw, dict):
        raise CorpusError(f"{where}: expected an object of server knobs, got {raw!r}")
    out = []
    for knob, value in raw.items():
        if knob not in KNOBS or value not in KNOBS[knob]:
            raise CorpusError(f"{where}/{knob}: unknown server knob or value {value!r}; known: {KNOBS}")
        out.append((knob, value))
    return tuple(out)

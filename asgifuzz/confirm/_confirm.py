"""Confirm a corpus case on real servers: start each, replay the case over a socket, judge.

A finding from the in-process fake server is a statement about the ASGI
contract; users ask "does it happen in production?".  This module answers
with the servers they run: the app is served by uvicorn (hypercorn, daphne,
granian) on loopback, a raw client plays the case's script, and the rule of
the case's invariant (``_rules.RULES``) decides from what the client saw and
what the server logged.  Real scheduling is not the fake server's, so a case
gets several tries and counts as confirmed when any try reproduces it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from asgifuzz import UsageError
from asgifuzz._case import Advance, Latency
from asgifuzz._corpus import CorpusCase
from asgifuzz.confirm._client import MAX_ADVANCE, ClientView, build_request_head, replay_over_socket
from asgifuzz.confirm._rules import Evidence, Outcome, judge
from asgifuzz.confirm._servers import (
    SERVERS,
    LaunchSpec,
    RunningServer,
    ServerSpec,
    ServerStartError,
    installed_servers,
    launch_paths,
    start_server,
)
from asgifuzz.confirm._ws_client import WsClientView, replay_websocket
from asgifuzz.server.profiles import behaviour_label

__all__ = ("DEFAULT_TIMEOUT", "DEFAULT_TRIES", "ServerVerdict", "TryResult", "confirm_case", "select_servers")

DEFAULT_TRIES = 3
DEFAULT_TIMEOUT = 5.0
#: Log lines kept per try (a traceback storm must not fill memory or a JSON report).
MAX_LOG_LINES = 400

VerdictOutcome = Literal["confirmed", "not-reproduced", "undecided", "skipped", "error"]


@dataclass(frozen=True, slots=True)
class TryResult:
    """One replay of the case on one server."""

    outcome: Outcome
    reason: str
    #: What the client saw: an HTTP response, or a websocket conversation.
    client: ClientView | WsClientView
    #: The server's log lines for this request.
    log: tuple[str, ...]
    #: The app's exception as the server logged it (``Type: message``).
    exception: str | None
    #: Set when the server process died during the try.
    server_exit: int | None = None


@dataclass(frozen=True, slots=True)
class ServerVerdict:
    """What happened to one case on one real server."""

    server: str
    version: str
    outcome: VerdictOutcome
    #: One line, e.g. "confirmed on uvicorn 0.54.0 (3/3 tries)".
    verdict: str
    #: Why, in words (from the rule, or the start-up failure).
    reason: str
    tries: int = 0
    reproduced: int = 0
    attempts: tuple[TryResult, ...] = ()
    #: Ways the real replay differs from the in-process one.
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def confirmed(self) -> bool:
        return self.outcome == "confirmed"

    @property
    def label(self) -> str:
        return f"{self.server} {self.version}"

    @property
    def shown(self) -> TryResult | None:
        """The try to show: the first that reproduced, else the first undecided, else the last."""
        for wanted in ("reproduced", "undecided"):
            for attempt in self.attempts:
                if attempt.outcome == wanted:
                    return attempt
        return self.attempts[-1] if self.attempts else None

    @property
    def client(self) -> ClientView | WsClientView | None:
        shown = self.shown
        return shown.client if shown is not None else None

    @property
    def log(self) -> tuple[str, ...]:
        shown = self.shown
        return shown.log if shown is not None else ()

    @property
    def exception(self) -> str | None:
        shown = self.shown
        return shown.exception if shown is not None else None

    def to_json(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "version": self.version,
            "outcome": self.outcome,
            "verdict": self.verdict,
            "reason": self.reason,
            "tries": self.tries,
            "reproduced": self.reproduced,
            "notes": list(self.notes),
            "attempts": [_try_json(a) for a in self.attempts],
        }


def _try_json(attempt: TryResult) -> dict[str, Any]:
    c = attempt.client
    if isinstance(c, WsClientView):
        return {
            "outcome": attempt.outcome,
            "reason": attempt.reason,
            "exception": attempt.exception,
            "server_exit": attempt.server_exit,
            "client": c.to_json(),
            "log": list(attempt.log),
        }
    return {
        "outcome": attempt.outcome,
        "reason": attempt.reason,
        "exception": attempt.exception,
        "server_exit": attempt.server_exit,
        "client": {
            "summary": c.summary(),
            "status": c.status,
            "headers": [list(h) for h in c.headers],
            "body_length": len(c.body),
            "body_preview": c.body[:200].decode("latin-1"),
            "framing": c.framing,
            "complete": c.complete,
            "timed_out": c.timed_out,
            "server_closed": c.server_closed,
            "disconnected": c.disconnected,
            "sent": c.sent,
            "interim": list(c.interim),
            "error": c.error,
            "elapsed": round(c.elapsed, 3),
        },
        "log": list(attempt.log),
    }


def select_servers(names: Sequence[str] | None, python: str = sys.executable) -> list[tuple[ServerSpec, str]]:
    """The servers to use, with their versions: ``names`` (None or "all": every installed one).

    Raises:
        UsageError: an unknown name, a named server that is not installed, or none installed.
    """
    installed = installed_servers(python)
    wanted = list(SERVERS) if not names or "all" in names else list(dict.fromkeys(names))
    for name in wanted:
        if name not in SERVERS:
            raise UsageError(f"unknown server {name!r}; known: {', '.join(SERVERS)}, all")
    if names and "all" not in names:
        missing = [n for n in wanted if n not in installed]
        if missing:
            raise UsageError(f"{missing[0]} is not installed for {python}: pip install {missing[0]}")
    chosen = [(SERVERS[n], installed[n]) for n in wanted if n in installed]
    if not chosen:
        raise UsageError(
            f"no ASGI server is installed for {python}: pip install uvicorn (or hypercorn, daphne, granian)"
        )
    return chosen


def case_notes(cc: CorpusCase) -> tuple[str, ...]:
    """How a replay over a socket necessarily differs from the in-process case."""
    case, notes = cc.case, []
    target = case.target
    if target.startswith("compose[") and " -> " in target:
        notes.append("the case ran a composed stack; the server runs the app itself")
    if case.backend == "trio":
        notes.append("the case ran on trio; the servers run their default (asyncio) loop")
    if any(isinstance(a, Latency) for a in case.actions):
        notes.append("Latency actions have no socket equivalent and are skipped")
    if any(isinstance(a, Advance) and a.seconds > MAX_ADVANCE for a in case.actions):
        notes.append(f"virtual-time advances wait at most {MAX_ADVANCE:g}s of real time")
    if case.server or case.profile not in SERVERS:
        notes.append(
            f"the case ran under the server behaviour {behaviour_label(case.profile, case.server)}, which no real "
            "server has exactly: a server that differs on it may not show the finding"
        )
    return tuple(notes)


def _imitated(cc: CorpusCase, server: str) -> bool:
    """Whether the case ran under ``server``'s own behaviour (its profile, no knob turned)."""
    return cc.case.profile == server and not cc.case.server


def confirm_case(
    cc: CorpusCase,
    servers: Sequence[str] | None = None,
    tries: int = DEFAULT_TRIES,
    timeout: float = DEFAULT_TIMEOUT,
    python: str = sys.executable,
    *,
    app_dir: str | None = None,
) -> list[ServerVerdict]:
    """Replay ``cc`` on each selected real server and say whether its finding reproduced.

    Args:
        cc: a loaded corpus case (``asgifuzz._corpus.load_case``).
        servers: names from ``SERVERS``; None or ``["all"]``: every installed one.
        tries: replays per server; confirmed when any reproduces.
        timeout: seconds to wait for the response after the client's script.
        python: the interpreter that has the app's dependencies and the servers.
        app_dir: import the app from here (default: the working directory,
            then the case file's folder, as ``asgifuzz replay`` does).

    Raises:
        UsageError: bad arguments, no usable server, or a case that cannot be
            served (it names only middleware) or sent (invalid header bytes).
    """
    if tries < 1:
        raise UsageError(f"tries must be at least 1, got {tries}")
    if timeout <= 0:
        raise UsageError(f"timeout must be positive, got {timeout}")
    kind = cc.case.scope.get("type")
    if kind not in ("http", "websocket"):
        raise UsageError(
            f"{cc.name}: only HTTP and websocket cases can be replayed on a real server (scope type {kind!r}); "
            "a lifespan case runs once per server start"
        )
    if cc.app is None:
        raise UsageError(f"{cc.name}: the case names only middleware ({cc.middleware}); there is no app to serve")
    try:
        if kind == "http":
            build_request_head(cc.case, "127.0.0.1")
    except ValueError as exc:
        raise UsageError(f"{cc.name}: {exc}") from None
    chosen = select_servers(servers, python)
    # The server serves the case's own target: for a stack target, the app's
    # middleware in front of the adversarial endpoint the case ran against.
    launch = LaunchSpec(
        app="asgifuzz.confirm.served:app",
        paths=launch_paths(app_dir, cc.path),
        python=python,
        env=(
            ("ASGIFUZZ_SERVE_APP", cc.app),
            ("ASGIFUZZ_SERVE_TARGET", cc.case.target),
            ("ASGIFUZZ_SERVE_FACTORY", "1" if cc.factory else "0"),
        ),
    )
    notes = case_notes(cc)
    return [
        _confirm_on(spec, version, cc, launch, tries=tries, timeout=timeout, notes=notes) for spec, version in chosen
    ]


def _confirm_on(
    spec: ServerSpec,
    version: str,
    cc: CorpusCase,
    launch: LaunchSpec,
    *,
    tries: int,
    timeout: float,
    notes: tuple[str, ...],
) -> ServerVerdict:
    label = f"{spec.name} {version}"
    refused = spec.refuses(launch)
    if refused is not None:
        return ServerVerdict(spec.name, version, "skipped", f"not run on {label}", refused, notes=notes)
    attempts: list[TryResult] = []
    server: RunningServer | None = None
    try:
        for _ in range(tries):
            if server is None or server.exit_code() is not None:
                # A try that ended the server (process-exited) must not end the next one's chances.
                if server is not None:
                    server.stop()
                server = start_server(spec, version, launch)
            attempts.append(_one_try(server, cc, timeout))
    except ServerStartError as exc:
        return ServerVerdict(
            spec.name, version, "error", f"could not start {label}", str(exc), len(attempts), 0, tuple(attempts), notes
        )
    finally:
        if server is not None:
            server.stop()
    return _verdict(spec.name, version, attempts, notes, imitated=_imitated(cc, spec.name))


def _one_try(server: RunningServer, cc: CorpusCase, timeout: float) -> TryResult:
    mark = server.log.mark()
    view: ClientView | WsClientView
    try:
        if cc.case.scope.get("type") == "websocket":
            view = replay_websocket(cc.case, server.port, timeout=timeout)
        else:
            view = replay_over_socket(cc.case, server.port, timeout=timeout)
    except OSError as exc:
        error = f"could not connect: {type(exc).__name__}: {exc}"
        view = WsClientView(error=error) if cc.case.scope.get("type") == "websocket" else ClientView(error=error)
    server.log.settle()
    lines = tuple(server.log.since(mark)[:MAX_LOG_LINES])
    evidence = Evidence(view, lines, server.exit_code())
    outcome, reason = judge(cc.expect, evidence)
    return TryResult(outcome, reason, view, lines, evidence.exception, evidence.server_exit)


def _verdict(
    server: str, version: str, attempts: list[TryResult], notes: tuple[str, ...], *, imitated: bool = True
) -> ServerVerdict:
    label, n = f"{server} {version}", len(attempts)
    k = sum(a.outcome == "reproduced" for a in attempts)
    outcome: VerdictOutcome
    if k:
        outcome, verdict = "confirmed", f"confirmed on {label} ({k}/{n} tries)"
    elif all(a.outcome == "not-reproduced" for a in attempts):
        # On a server whose behaviour the case did not run under, a miss says nothing of the finding.
        why = "in-process only" if imitated else "the case ran under another server's behaviour"
        outcome, verdict = "not-reproduced", f"not reproduced on {label} (0/{n} tries): {why}"
    else:
        outcome, verdict = "undecided", f"undecided on {label} (0/{n} tries reproduced)"
    result = ServerVerdict(server, version, outcome, verdict, "", n, k, tuple(attempts), notes)
    shown = result.shown
    return replace(result, reason=shown.reason if shown is not None else "")

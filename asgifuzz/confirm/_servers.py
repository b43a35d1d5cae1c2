"""Real ASGI servers: which are installed, how to start one on loopback, how to stop it.

Each server runs in its own subprocess under the interpreter that has the
app's dependencies (``--python``), in a new session so that a Ctrl-C at the
terminal reaches only us and we stop it in order (and so that the whole
process group, granian's workers included, can be signalled).  It binds only
127.0.0.1.  Its stdout and stderr are merged and read line by line by a
thread, so the log of each request can be cut out afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from asgifuzz import UsageError

__all__ = (
    "SERVERS",
    "LaunchSpec",
    "RunningServer",
    "ServerSpec",
    "ServerStartError",
    "installed_servers",
    "start_server",
)

LOOPBACK = "127.0.0.1"
#: Bound on a server's start-up (import of the app, lifespan startup, bind).
START_TIMEOUT = 15.0
#: Grace between SIGTERM and SIGKILL when stopping a server.
STOP_GRACE = 3.0


@dataclass(frozen=True, slots=True)
class LaunchSpec:
    """What to serve: the app's ``module:attr``, where it imports from, and how."""

    app: str
    #: Directories to put first on the server's ``sys.path`` (in order).
    paths: tuple[str, ...]
    factory: bool = False
    python: str = sys.executable
    cwd: str | None = None
    #: Extra environment for the server process (what ``served`` reads).
    env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ServerSpec:
    name: str
    #: Importable module (checked with ``importlib.util.find_spec``).
    module: str
    #: Distribution whose version is reported.
    dist: str
    command: Callable[[LaunchSpec, int], list[str]]
    #: Why this server cannot serve ``spec`` (None: it can).
    refuses: Callable[[LaunchSpec], str | None] = lambda spec: None


def _uvicorn(spec: LaunchSpec, port: int) -> list[str]:
    cmd = [spec.python, "-m", "uvicorn", spec.app, "--host", LOOPBACK, "--port", str(port)]
    if spec.paths:
        cmd += ["--app-dir", spec.paths[0]]
    cmd += ["--log-level", "info", "--lifespan", "auto"]
    return [*cmd, "--factory"] if spec.factory else cmd


def _hypercorn(spec: LaunchSpec, port: int) -> list[str]:
    # Hypercorn calls "module:factory()" itself; it has no --app-dir (PYTHONPATH does it).
    target = spec.app + "()" if spec.factory else spec.app
    return [spec.python, "-m", "hypercorn", target, "--bind", f"{LOOPBACK}:{port}", "--access-logfile", "-"]


def _daphne(spec: LaunchSpec, port: int) -> list[str]:
    return [spec.python, "-m", "daphne", "-b", LOOPBACK, "-p", str(port), spec.app]


def _granian(spec: LaunchSpec, port: int) -> list[str]:
    cmd = [spec.python, "-m", "granian", "--interface", "asgi", "--host", LOOPBACK, "--port", str(port)]
    cmd += ["--workers", "1", "--log-level", "info", "--access-log"]
    return [*cmd, "--factory", spec.app] if spec.factory else [*cmd, spec.app]


def _no_factory(spec: LaunchSpec) -> str | None:
    return "daphne cannot call an app factory" if spec.factory else None


#: Known servers, in the order "all" tries them.  A new server is one entry.
SERVERS: dict[str, ServerSpec] = {
    s.name: s
    for s in (
        ServerSpec("uvicorn", "uvicorn", "uvicorn", _uvicorn),
        ServerSpec("hypercorn", "hypercorn", "hypercorn", _hypercorn),
        ServerSpec("daphne", "daphne", "daphne", _daphne, _no_factory),
        ServerSpec("granian", "granian", "granian", _granian),
    )
}

_PROBE = """
import importlib.util, importlib.metadata, json, sys
out = {}
for name, module, dist in json.loads(sys.argv[1]):
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    version = None
    if found:
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            version = "?"
    out[name] = version
print(json.dumps(out))
"""

_installed_cache: dict[str, dict[str, str]] = {}


def installed_servers(python: str = sys.executable) -> dict[str, str]:
    """``{server name: version}`` for the known servers importable by ``python``.

    Raises:
        UsageError: ``python`` cannot be run.
    """
    cached = _installed_cache.get(python)
    if cached is not None:
        return dict(cached)
    table = json.dumps([[s.name, s.module, s.dist] for s in SERVERS.values()])
    try:
        proc = subprocess.run(
            [python, "-c", _PROBE, table], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"cannot run the python {python!r}: {exc}") from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise UsageError(f"the python {python!r} failed to report its servers: {last}")
    found: dict[str, str | None] = json.loads(proc.stdout.strip().splitlines()[-1])
    result = {name: version for name, version in found.items() if version is not None}
    _installed_cache[python] = result
    return dict(result)


class ServerStartError(Exception):
    """The server exited, or did not accept connections, within the start-up bound."""


class LogTail:
    """The server's merged stdout/stderr, collected line by line by a thread."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def feed(self, line: str) -> None:
        with self._lock:
            self._lines.append(line.rstrip("\r\n"))
            self._last = time.monotonic()

    def mark(self) -> int:
        with self._lock:
            return len(self._lines)

    def since(self, mark: int) -> list[str]:
        with self._lock:
            return self._lines[mark:]

    def settle(self, *, quiet: float = 2.0, limit: float = 6.0) -> None:
        """Wait until nothing was logged for ``quiet`` seconds (at most ``limit``).

        The app's traceback is often logged after the connection closed (the
        app notices the disconnect, unwinds, then the server logs), so the
        log of a request is only complete once the server has gone quiet.
        2 s: asgifuzz's endpoints sleep up to 1.5 s before they answer.
        """
        start = time.monotonic()
        time.sleep(min(quiet, limit))
        while time.monotonic() - start < limit:
            with self._lock:
                idle = time.monotonic() - self._last
            if idle >= quiet:
                return
            time.sleep(0.05)


@dataclass(slots=True)
class RunningServer:
    spec: ServerSpec
    version: str
    port: int
    process: subprocess.Popen[str]
    log: LogTail
    reader: threading.Thread

    @property
    def label(self) -> str:
        return f"{self.spec.name} {self.version}"

    def exit_code(self) -> int | None:
        return self.process.poll()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after ``STOP_GRACE`` s; bounded, safe to call twice."""
        if self.process.poll() is None:
            _signal(self.process, signal.SIGTERM)
            try:
                self.process.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                _signal(self.process, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(STOP_GRACE)
        # Workers of the group (granian) may outlive the leader: make sure.
        _signal(self.process, signal.SIGKILL)
        self.reader.join(1.0)
        if self.process.stdout is not None:
            self.process.stdout.close()  # the pipe the log thread read: no unclosed file left behind


def _signal(process: subprocess.Popen[str], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
        if hasattr(os, "killpg"):
            # The server leads its own session (start_new_session), so its
            # process group holds only it and the workers it started.
            os.killpg(process.pid, sig)
        else:  # pragma: no cover - Windows
            process.send_signal(sig)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        port: int = s.getsockname()[1]
        return port


def _env(spec: LaunchSpec) -> dict[str, str]:
    env = dict(os.environ)
    old = env.get("PYTHONPATH")
    env["PYTHONPATH"] = os.pathsep.join([*spec.paths, *([old] if old else [])])
    env["PYTHONUNBUFFERED"] = "1"  # log lines must arrive as they are written
    env.update(spec.env)
    return env


def _pump(stream: object, log: LogTail) -> None:
    assert hasattr(stream, "readline")
    with contextlib.suppress(ValueError, OSError):  # the pipe is closed by stop()
        for line in iter(stream.readline, ""):
            log.feed(line)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.2):
            return True
    except OSError:
        return False


def start_server(
    spec: ServerSpec, version: str, launch: LaunchSpec, *, timeout: float = START_TIMEOUT
) -> RunningServer:
    """Start ``spec`` serving ``launch.app`` on a free loopback port; wait until it accepts.

    Raises:
        ServerStartError: with the last lines of the server's log.
    """
    port = free_port()
    process = subprocess.Popen(
        spec.command(launch, port),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        env=_env(launch),
        cwd=launch.cwd,
        start_new_session=True,
    )
    log = LogTail()
    reader = threading.Thread(target=_pump, args=(process.stdout, log), name=f"{spec.name}-log", daemon=True)
    reader.start()
    server = RunningServer(spec, version, port, process, log, reader)
    deadline = time.monotonic() + timeout
    try:
        while not _accepts(port):
            if process.poll() is not None:
                server.reader.join(1.0)
                raise ServerStartError(_start_failure(server, f"exited with status {process.returncode}"))
            if time.monotonic() > deadline:
                raise ServerStartError(_start_failure(server, f"did not accept connections within {timeout:g}s"))
            time.sleep(0.05)
        # The start-up banner is still on its way through the pipe: let it
        # arrive now so that it is not mistaken for the first request's log.
        log.settle(quiet=0.2, limit=1.0)
    except BaseException:
        server.stop()
        raise
    return server


def _start_failure(server: RunningServer, what: str) -> str:
    lines = [line for line in server.log.since(0) if line.strip()]
    tail = f": {lines[-1].strip()}" if lines else ""
    return f"{server.label} {what} before serving{tail}"


def launch_paths(app_dir: str | None, case_path: Path | None) -> tuple[str, ...]:
    """Where the app imports from: ``app_dir``, else the working directory then the case's folder.

    The same order as ``asgifuzz replay``: the committed corpus keeps the apps
    it refers to next to its cases.
    """
    if app_dir is not None:
        return (os.path.abspath(app_dir),)
    paths = [os.getcwd()]
    if case_path is not None:
        paths.append(str(case_path.resolve().parent))
    return tuple(paths)

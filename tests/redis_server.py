"""A real Redis server for the shared example database tests (``--database redis://...``).

``.ci/run`` installs Debian's ``redis-server``, starts one on loopback and
exports its URL as ``ASGIFUZZ_TEST_REDIS``; the tests use that one.  Without
it (a developer's machine) the fixture starts its own ``redis-server`` on a
free loopback port for the session, and stops it at the end.  No Redis at
all skips the tests with the reason, except under CI (``CI=true``), where it
fails them: CI must run them.

Each pytest-xdist worker gets its own database number, emptied before each
test, so tests never see each other's examples.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest

__all__ = ("free_port", "redis_server", "redis_url_for_test")

#: Seconds a starting server has to answer PING.
START_TIMEOUT = 15.0


def free_port() -> int:
    """A loopback TCP port nobody listens on (right now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ping(host: str, port: int, timeout: float = 1.0) -> bool:
    """One PING in the Redis protocol, without the redis client (the server's own test)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def _start_server() -> Iterator[str]:
    """``redis-server`` on 127.0.0.1 and a free port, no persistence; yields its base URL."""
    binary = shutil.which("redis-server")
    assert binary is not None
    workdir = tempfile.mkdtemp(prefix="asgifuzz-redis-")
    try:
        for _ in range(3):  # the free port may be taken between the look and the bind
            port = free_port()
            proc = subprocess.Popen(
                [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                 "--dir", workdir, "--protected-mode", "yes", "--loglevel", "warning"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            deadline = time.monotonic() + START_TIMEOUT
            while proc.poll() is None and time.monotonic() < deadline and not _ping("127.0.0.1", port):
                time.sleep(0.05)
            if proc.poll() is None and _ping("127.0.0.1", port):
                try:
                    yield f"redis://127.0.0.1:{port}"
                finally:
                    proc.terminate()
                    try:
                        proc.wait(10)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
                return
            proc.kill()
            proc.wait()
        raise RuntimeError("redis-server did not start on a free loopback port (3 tries)")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def redis_server() -> Iterator[str]:
    """The base URL (no database number) of a Redis server for this session; skips or fails without one."""
    url = os.environ.get("ASGIFUZZ_TEST_REDIS")
    if url:
        parts = urlsplit(url)
        if not _ping(parts.hostname or "127.0.0.1", parts.port or 6379, timeout=5.0):
            pytest.fail(f"ASGIFUZZ_TEST_REDIS={url} does not answer PING")
        yield url.rstrip("/")
        return
    if shutil.which("redis-server") is None:
        reason = "redis-server is not installed (Debian: apt-get install redis-server); .ci/run installs it"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"CI must run the Redis tests: {reason}")
        pytest.skip(reason)
    with _start_server() as base:
        yield base


def redis_url_for_test(base: str) -> str:
    """``base`` with this xdist worker's database number (1-15), emptied first."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    number = 1 + int(worker.removeprefix("gw") or 0) % 15
    url = f"{base}/{number}"
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()
    return url

"""The example database behind ``--database``: a directory, or a Redis server that machines share.

``Settings.database`` holds what the user gave:

* a directory path: one machine; the workers of a run, and later runs, share
  it (Hypothesis' ``DirectoryBasedExampleDatabase``);
* a ``redis://host:port/db`` URL (also ``rediss://`` for TLS and
  ``unix:///path/redis.sock?db=N``): any number of machines; every worker
  pointed at the same Redis database saves its failing and interesting
  examples there and replays the others' first (Hypothesis'
  ``RedisExampleDatabase``; the ``redis`` client is the ``[redis]`` extra);
* a Hypothesis ``ExampleDatabase`` object (the Python API, pytest), or None.

A URL is checked where a run starts (``check_database``): bad syntax, a
missing ``redis`` package or a server that does not answer is one line
(``UsageError``: exit status 2), never a traceback in every worker.  The
password of a URL never appears in a message.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from asgifuzz._errors import DatabaseError, UsageError

__all__ = ("check_database", "database_failure", "is_url", "open_database", "redacted", "validate_database")

REDIS_SCHEMES = ("redis", "rediss", "unix")
#: Seconds to connect, and for one command, before the server counts as unreachable.
TIMEOUT = 5.0

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
#: One client per URL and process: each search round asks for the database again.
_opened: dict[str, Any] = {}


def is_url(database: object) -> bool:
    """Whether ``database`` is a URL (anything ``scheme://``), as opposed to a directory path."""
    return isinstance(database, str) and _SCHEME.match(database) is not None


def redacted(url: str) -> str:
    """``url`` without its password, for messages."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.rpartition("@")[2]
        user = parts.username or ""
        return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))
    except ValueError:
        return "<the Redis URL>"


def validate_database(database: object) -> None:
    """Raise ``UsageError`` for a URL that is not a Redis database, or without the redis client; no I/O."""
    if is_url(database):
        _client(str(database))


def check_database(database: object) -> None:
    """``validate_database``, then ask the Redis server for a PING: ``UsageError`` when it does not answer."""
    if not is_url(database):
        return
    url = str(database)
    client = _client(url)
    import redis

    try:
        client.ping()
    except redis.RedisError as exc:
        raise UsageError(f"database {redacted(url)}: the Redis server does not answer ({_reason(exc)})") from exc
    finally:
        client.close()


def open_database(database: Any) -> Any:
    """The Hypothesis example database for ``Settings.database`` (None: no database)."""
    if database is None:
        return None
    if is_url(database):
        url = str(database)
        if url not in _opened:
            check_database(url)
            from hypothesis.extra.redis import RedisExampleDatabase

            _opened[url] = RedisExampleDatabase(_client(url))
        return _opened[url]
    if isinstance(database, str):
        from hypothesis.database import DirectoryBasedExampleDatabase

        return DirectoryBasedExampleDatabase(database)
    return database


def database_failure(database: object, exc: BaseException) -> DatabaseError | None:
    """A ``DatabaseError`` when ``exc`` (or what caused it) is the Redis client failing mid-run, else None.

    A Redis server that goes away during the run breaks Hypothesis' saves and
    fetches; the run then ends with this one line (exit status 3), not with a
    traceback from inside Hypothesis.
    """
    if not is_url(database):
        return None
    try:
        import redis
    except ImportError:
        return None
    seen: set[int] = set()
    stack = [exc]
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, redis.RedisError):
            return DatabaseError(
                f"database {redacted(str(database))}: the Redis server stopped answering during the run "
                f"({_reason(e)}); the run ended there"
            )
        if isinstance(e, BaseExceptionGroup):
            stack += e.exceptions
        stack += [x for x in (e.__cause__, e.__context__) if x is not None]
    return None


def _client(url: str) -> Any:
    """A ``redis.Redis`` for ``url`` (not connected yet); ``UsageError`` for anything wrong with the URL."""
    shown = redacted(url)
    problem = _problem(url)
    if problem is not None:
        raise UsageError(f"database {shown}: {problem}")
    try:
        import redis
    except ImportError:
        raise UsageError(
            f"database {shown}: a Redis example database needs the redis client: pip install 'asgifuzz[redis]'"
        ) from None
    try:
        return redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT)
    except ValueError as exc:
        raise UsageError(f"database {shown}: {exc}") from None


def _problem(url: str) -> str | None:
    """What is wrong with ``url`` as a Redis URL (redis-py lets some of it pass silently), or None."""
    example = "as in redis://host:6379/0"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a valid URL ({exc}), {example}"
    if parts.scheme not in REDIS_SCHEMES:
        return f"{parts.scheme}:// is not a database; give a directory, or a Redis URL {example}"
    if parts.scheme == "unix":
        return None if parts.path else "a unix:// URL needs the socket's path, as in unix:///run/redis.sock?db=0"
    if not parts.hostname:
        return f"no host, {example}"
    if port == 0:
        return f"port 0 is not a port, {example}"
    db = parts.path.strip("/")
    if db and not db.isdigit():
        return f"the database number {db!r} is not a number, {example}"
    return None


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__

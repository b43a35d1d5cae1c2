"""Pinned virtualenvs for the tests that need real releases of libraries: one table, one builder.

To add one: add an entry to ``PINS`` below (``name: [pip requirements]``) and
call ``run_in(name, code)`` or ``venv_python(name)`` from a test; nothing else
(``.ci/run`` builds every entry with ``python tests/oldreleases.py``).  List in
the entry everything the test imports beyond asgifuzz and its dependencies
(uvicorn for ``asgifuzz confirm``, ...; trio comes with every entry), each
pinned where the test's verdict depends on the release.

Each environment gets its pins, then asgifuzz from this checkout (a regular
install, so it tests what users get).  It lives in ``$ASGIFUZZ_VENVS/<name>``
(default ``.ci-venvs/`` in the checkout) and is reused while its stamp matches
the pins and the asgifuzz sources: changed sources reinstall asgifuzz alone,
changed pins rebuild the environment.  A file lock per environment makes
parallel test workers (pytest-xdist) build it once.  Checkouts (git worktrees)
with different pins must not share one ``$ASGIFUZZ_VENVS``: each would
rebuild the other's environments under its running tests.

    python tests/oldreleases.py            # build (or refresh) every entry
    python tests/oldreleases.py frameworks # only these
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Installed in every environment unless its entry names them (pinned, say).
COMMON = ["trio"]
#: name -> pip requirements (COMMON, asgifuzz and its own dependencies come on top).
PINS: dict[str, list[str]] = {
    "starlette-0.37.2": ["starlette==0.37.2", "anyio==4.4.0", "uvicorn"],  # uvicorn: asgifuzz confirm reproduces the seed bug on it
    "starlette-0.38.3": ["starlette==0.38.3", "uvicorn"],  # uvicorn: tests/test_known_bugs.py confirms #3458 on it
    # Issue 12 (tests/test_recall_releases.py), each bug's last vulnerable release and its fix, with
    # the anyio of their time, and a trio it runs on (anyio 3 uses trio.MultiError, gone since trio 0.25);
    # uvicorn: asgifuzz confirm.
    "starlette-0.18.0": ["starlette==0.18.0", "anyio==3.7.1", "trio==0.22.2", "uvicorn"],  # #1459: stream errors hidden
    "starlette-0.19.0": ["starlette==0.19.0", "anyio==3.7.1", "trio==0.22.2", "uvicorn"],
    "starlette-0.20.4": ["starlette==0.20.4", "anyio==3.7.1", "trio==0.22.2", "uvicorn"],  # #1438: background tasks cancelled
    "starlette-0.21.0": ["starlette==0.21.0", "anyio==3.7.1", "trio==0.22.2", "uvicorn"],
    "starlette-0.38.4": ["starlette==0.38.4", "uvicorn"],  # #2688: tasks set from BaseHTTPMiddleware dropped
    "starlette-0.38.5": ["starlette==0.38.5", "uvicorn"],
    "starlette-0.45.3": ["starlette==0.45.3", "uvicorn"],  # #2812: a background task's exception swallowed
    "starlette-0.46.2": ["starlette==0.46.2", "uvicorn"],
    # Class 5: 0.36.0-0.38.0's FileResponse sends http.response.pathsend when the server offers it (granian
    # does), and GZipMiddleware drops that message with the response start it holds: no response at all.
    # 0.38.1 reverted pathsend (#2649); granian: asgifuzz confirm on a server that offers it.
    "starlette-0.38.0": ["starlette==0.38.0", "granian==2.8.9", "uvicorn==0.54.0"],
    "starlette-0.38.1": ["starlette==0.38.1", "granian==2.8.9", "uvicorn==0.54.0"],
    # Class 5: a2wsgi 1.10.3's WSGIMiddleware waits forever for a sender that died on send() raising once the
    # client has gone (abersheeran/a2wsgi#48, #49); 1.10.4 awaits the sender.  uvicorn 0.28.0 is the release
    # whose send() raises (ClientDisconnected, an OSError; reverted in 0.28.1): the hang confirmed on it.
    "a2wsgi-1.10.3": ["a2wsgi==1.10.3", "uvicorn==0.28.0"],
    "a2wsgi-1.10.4": ["a2wsgi==1.10.4", "uvicorn==0.28.0"],
    # Class 6: Kludex/starlette#3492, an unparsable multipart body let python-multipart's MultipartParseError
    # escape Request.form() (a 500) up to 1.6.0; 1.7.0 answers 400.  The same python-multipart in both.
    "starlette-1.6.0": ["starlette==1.6.0", "python-multipart==0.0.34", "uvicorn==0.54.0"],
    "starlette-1.7.0": ["starlette==1.7.0", "python-multipart==0.0.34", "uvicorn==0.54.0"],
    "asgiref-3.2.1": ["asgiref==3.2.1", "uvicorn"],  # django/asgiref#115: WsgiToAsgi reads the first chunk only
    "asgiref-3.2.2": ["asgiref==3.2.2", "uvicorn"],
    # A real websocket middleware bug (tests/test_ws_middleware_release.py): aioprometheus 23.3.0's
    # MetricsMiddleware returns without calling the app for a websocket scope (claws/aioprometheus#93),
    # fixed in 23.12.0 (#94, #97).  websockets: uvicorn's websocket protocol; wsproto: confirm's client.
    "aioprometheus-23.3.0": ["aioprometheus==23.3.0", "starlette==1.10.0", "uvicorn==0.54.0", "websockets", "wsproto"],
    "aioprometheus-23.12.0": ["aioprometheus==23.12.0", "starlette==1.10.0", "uvicorn==0.54.0", "websockets", "wsproto"],
    # tests/test_realapps.py: 5.8.2 builds its metrics in its middleware's constructor, so a rebuilt stack that
    # re-ran the constructor died with "Duplicated timeseries in CollectorRegistry" (issue 10).
    "prometheus-5.8.2": [
        "prometheus-fastapi-instrumentator==5.8.2", "fastapi==0.165.0", "slowapi==0.1.10", "sentry-sdk==2.75.0", "uvicorn",
    ],
    # The newest release of each web framework that installs on Python 3.11 (Django 6 needs 3.12): route
    # discovery (tests/test_routes.py) and issue 10's real-app acceptance (tests/test_realapps.py), with what
    # users put around their apps (WSGI adapters and Flask, aiofiles, instrumentator, slowapi, sentry-sdk), what
    # the realapps import (python-multipart, itsdangerous), the server findings are confirmed on, and trio pinned.
    "frameworks": [
        "django==5.2.19", "litestar==2.25.0", "quart==0.22.0", "falcon==4.4.0", "blacksheep==2.6.4", "sanic==25.12.1",
        "fastapi==0.165.0", "starlette==1.10.0",
        "a2wsgi==1.10.10", "asgiref==3.13.0", "flask==3.1.3", "aiofiles==25.1.0",
        "prometheus-fastapi-instrumentator==8.1.0", "slowapi==0.1.10", "sentry-sdk==2.75.0",
        "python-multipart", "itsdangerous", "uvicorn==0.54.0", "trio==0.35.0",
    ],
}  # fmt: skip


def venvs_dir() -> Path:
    return Path(os.environ.get("ASGIFUZZ_VENVS", ROOT / ".ci-venvs"))


def _source_hash() -> str:
    h = hashlib.sha256()
    for folder in ("asgifuzz", "strategies"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            h.update(path.relative_to(ROOT).as_posix().encode())
            h.update(path.read_bytes())
    h.update((ROOT / "pyproject.toml").read_bytes())
    return h.hexdigest()[:16]


def venv_python(name: str) -> Path:
    """The python of the virtualenv ``name``, creating or refreshing it if needed."""
    venvs_dir().mkdir(parents=True, exist_ok=True)
    with open(venvs_dir() / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build(name)


def _own_dependencies(pins: list[str]) -> list[str]:
    """asgifuzz's dependencies, but for the packages the pins fix."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pinned = {re.split(r"[<>=!~\[; ]", p, maxsplit=1)[0].lower() for p in pins}
    return [d for d in project["dependencies"] if re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0].lower() not in pinned]


def _pip(python: Path, *args: str) -> None:
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *args], check=True)


def _requirements(name: str) -> list[str]:
    named = {re.split(r"[<>=!~\[; ]", pin, maxsplit=1)[0].lower() for pin in PINS[name]}
    return PINS[name] + [extra for extra in COMMON if extra not in named]


def _build(name: str) -> Path:
    pins = _requirements(name)
    home = venvs_dir() / name
    python = home / "bin" / "python"
    stamp = home / "asgifuzz-stamp"
    have = stamp.read_text().splitlines() if python.exists() and stamp.exists() else []
    wanted = [" ".join(pins), _source_hash()]
    if have == wanted:
        return python
    if have[:1] != wanted[:1]:  # new, or other pins: start from an empty environment
        venv.EnvBuilder(with_pip=True, clear=True).create(home)
        _pip(python, *pins)
    # asgifuzz changed (or is new): reinstall it alone, then make sure its dependencies and the pins hold
    # (its dependencies but the pinned packages: Starlette 0.18-0.21 lie below asgifuzz's starlette floor).
    _pip(python, "--no-deps", "--force-reinstall", str(ROOT))
    _pip(python, *pins, *_own_dependencies(pins))
    stamp.write_text("\n".join(wanted))
    return python


def run_in(name: str, code: str, *, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with the python of ``name`` (cwd and PYTHONPATH: the tests folder)."""
    python = venv_python(name)
    return subprocess.run(
        [str(python), "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(ROOT / "tests"),
        env={**os.environ, "PYTHONPATH": str(ROOT / "tests")},
    )


if __name__ == "__main__":
    for n in sys.argv[1:] or PINS:
        print(n, venv_python(n), file=sys.stderr)

"""A virtualenv with pinned current releases of the web frameworks, built once per machine and set of pins.

``tests/test_routes.py`` checks route discovery on a real app of each
framework (``tests/realapps/``).  Frameworks the running interpreter lacks are
checked in this environment instead: the pins below, asgifuzz's own
dependencies, and asgifuzz installed from this checkout (a regular install,
so it tests what users get).  It lives under ``$ASGIFUZZ_VENVS`` (default
``.ci-venvs/`` in the checkout) beside the old-Starlette ones, and is reused
while its stamp matches the pins and the asgifuzz sources.

Pins: the newest release of each that installs on Python 3.11 at the time of
writing (Django 6 needs Python 3.12, so Django is the newest 5.2).  Beside the
frameworks: what ``tests/test_realapps.py`` fuzzes real apps with (WSGI
adapters and Flask, aiofiles, prometheus-fastapi-instrumentator, slowapi,
sentry-sdk) and what it confirms findings on (uvicorn) and runs trio with.

Several checkouts (git worktrees) may share one ``.ci-venvs``: the
environment's folder is named after a hash of its pins, so a checkout with
other pins builds its own instead of wiping the one another checkout's tests
are running in (the old code wiped on any change of pins).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PINS = [
    "django==5.2.19",
    "litestar==2.25.0",
    "quart==0.22.0",
    "falcon==4.4.0",
    "blacksheep==2.6.4",
    "sanic==25.12.1",
    "fastapi==0.165.0",
    "starlette==1.10.0",
    # Real-app acceptance (tests/test_realapps.py): libraries users put around their apps.
    "a2wsgi==1.10.10",
    "asgiref==3.13.0",
    "flask==3.1.3",
    "aiofiles==25.1.0",
    "prometheus-fastapi-instrumentator==8.1.0",
    "slowapi==0.1.10",
    "sentry-sdk==2.75.0",
]
#: What the realapps import beyond the frameworks themselves, and the real server and backend the tests use.
EXTRAS = ["python-multipart", "itsdangerous", "uvicorn==0.54.0", "trio==0.35.0"]


#: The environment's folder under venvs_dir(): one per set of pins.
NAME = "frameworks-" + hashlib.sha256(" ".join(PINS + EXTRAS).encode()).hexdigest()[:8]


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


def venv_python() -> Path:
    """The python of the frameworks virtualenv, creating or refreshing it if needed.

    A file lock makes parallel test workers (pytest-xdist) build it once.
    """
    import fcntl

    venvs_dir().mkdir(parents=True, exist_ok=True)
    with open(venvs_dir() / f"{NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _venv_python()


def _pip(python: Path, *args: str) -> None:
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *args], check=True)


def _venv_python() -> Path:
    home = venvs_dir() / NAME
    python = home / "bin" / "python"
    stamp = home / "asgifuzz-stamp"
    wanted = " ".join(PINS + EXTRAS) + " " + _source_hash()
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    if not python.exists() or not stamp.exists() or stamp.read_text().rsplit(" ", 1)[0] != wanted.rsplit(" ", 1)[0]:
        venv.EnvBuilder(with_pip=True, clear=True).create(home)
        _pip(python, *PINS, *EXTRAS)
    # Only asgifuzz changed (or it is new): reinstall it alone, keeping the pins.
    _pip(python, "--no-deps", "--force-reinstall", str(ROOT))
    _pip(python, *PINS, str(ROOT))
    stamp.write_text(wanted)
    return python


def run(code: str, *, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with the frameworks python (cwd and PYTHONPATH: the tests folder)."""
    python = venv_python()
    return subprocess.run(
        [str(python), "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(ROOT / "tests"),
        env={**os.environ, "PYTHONPATH": str(ROOT / "tests")},
    )


if __name__ == "__main__":  # build it: python tests/frameworks.py
    print(NAME, venv_python(), file=sys.stderr)

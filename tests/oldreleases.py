"""Virtualenvs with pinned old Starlette releases, built once per machine.

Each environment gets the pins below, trio, and asgifuzz itself installed
from this checkout (a regular install, so it tests what users get).  They
live under ``$ASGIFUZZ_VENVS`` (default ``.ci-venvs/`` in the checkout) and
are reused while the stamp file matches the pins and the asgifuzz sources.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: name -> pip requirements (asgifuzz's own dependencies come on top).
PINS: dict[str, list[str]] = {
    "starlette-0.37.2": ["starlette==0.37.2", "anyio==4.4.0", "uvicorn"],  # uvicorn: asgifuzz confirm reproduces the seed bug on it
    "starlette-0.38.3": ["starlette==0.38.3", "uvicorn"],  # uvicorn: tests/test_known_bugs.py confirms #3458 on it
    # Issue 12 (tests/test_recall_releases.py), each bug's last vulnerable release and its fix, with
    # the anyio of their time; uvicorn: asgifuzz confirm.
    "starlette-0.18.0": ["starlette==0.18.0", "anyio==3.7.1", "uvicorn"],  # #1459: stream errors hidden
    "starlette-0.19.0": ["starlette==0.19.0", "anyio==3.7.1", "uvicorn"],
    "starlette-0.20.4": ["starlette==0.20.4", "anyio==3.7.1", "uvicorn"],  # #1438: background tasks cancelled
    "starlette-0.21.0": ["starlette==0.21.0", "anyio==3.7.1", "uvicorn"],
    "starlette-0.38.4": ["starlette==0.38.4", "uvicorn"],  # #2688: tasks set from BaseHTTPMiddleware dropped
    "starlette-0.38.5": ["starlette==0.38.5", "uvicorn"],
    "starlette-0.45.3": ["starlette==0.45.3", "uvicorn"],  # #2812: a background task's exception swallowed
    "starlette-0.46.2": ["starlette==0.46.2", "uvicorn"],
    "asgiref-3.2.1": ["asgiref==3.2.1", "uvicorn"],  # django/asgiref#115: WsgiToAsgi reads the first chunk only
    "asgiref-3.2.2": ["asgiref==3.2.2", "uvicorn"],
}


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


def _own_dependencies(pins: list[str]) -> list[str]:
    """asgifuzz's dependencies, but for the packages the pins fix (an old Starlette below asgifuzz's floor)."""
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pinned = {re.split(r"[<>=!~\[ ]", p, maxsplit=1)[0].lower() for p in pins}
    return [d for d in project["dependencies"] if re.split(r"[<>=!~\[ ]", d, maxsplit=1)[0].lower() not in pinned]


def venv_python(name: str) -> Path:
    """The python of the virtualenv ``name``, creating or refreshing it if needed.

    A file lock makes parallel test workers (pytest-xdist) build it once.
    """
    import fcntl

    venvs_dir().mkdir(parents=True, exist_ok=True)
    with open(venvs_dir() / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _venv_python(name)


def _venv_python(name: str) -> Path:
    pins = PINS[name]
    home = venvs_dir() / name
    python = home / "bin" / "python"
    stamp = home / "asgifuzz-stamp"
    wanted = " ".join(pins) + " " + _source_hash()
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    if not python.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(home)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *pins, "trio", "hypothesis"],
            check=True,
        )
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--no-deps",
            "--force-reinstall",
            str(ROOT),
        ],
        check=True,
    )
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *pins, *_own_dependencies(pins)],
        check=True,
    )
    stamp.write_text(wanted)
    return python


def run_in(name: str, code: str, *, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with the python of ``name`` (cwd: the tests folder)."""
    python = venv_python(name)
    return subprocess.run(
        [str(python), "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(ROOT / "tests"),
        env={**os.environ, "PYTHONPATH": str(ROOT / "tests")},
    )


if __name__ == "__main__":  # build them all: python tests/oldreleases.py
    for n in PINS:
        print(n, venv_python(n), file=sys.stderr)

"""``[tool.asgifuzz]`` in ``pyproject.toml``: the project's own defaults.

The nearest ``pyproject.toml`` with a ``[tool.asgifuzz]`` table, walking up
from the working directory (as ruff and pytest find theirs), gives defaults
to the command line (``run``, ``replay``, ``show``), the pytest plugin and
``replay``; an option given on the command line overrides it.  Keys are
spelled like the long options (``max-examples``, ``app-dir``)::

    [tool.asgifuzz]
    app = "app.main:app"
    app-dir = "src"
    checks = ["-exception-swallowed"]   # or "-exception-swallowed,-app-raised"
    max-time = 60
    corpus = "tests/asgifuzz-corpus"

Paths (``app-dir``, ``corpus``, ``database``) are relative to the folder of
that ``pyproject.toml``, the *project root*.  The project root also anchors
corpus files: a case records its app's folder relative to it, so a replay
works from any directory.

Anything wrong (a key that is not an option, a value of the wrong type) is
one ``UsageError`` line naming the file and the key; the CLI exits 2 on it.
This module reads TOML and checks types only; ``Settings.create`` checks the
values that mean something (invariant codes, profiles).
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asgifuzz._errors import UsageError

__all__ = ("KEYS", "ProjectConfig", "find_root", "load_project")

PYPROJECT = "pyproject.toml"


def _str(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TypeError("a non-empty string")
    return value.strip()


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError("true or false")
    return value


def _positive_int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise TypeError("a positive integer")
    return value


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("an integer")
    return value


def _positive_number(value: object) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise TypeError("a positive number")
    return float(value)


def _choice(*choices: str) -> Callable[[object], str]:
    def check(value: object) -> str:
        if value not in choices:
            raise TypeError(" or ".join(repr(c) for c in choices))
        return str(value)

    return check


def _str_list(value: object) -> tuple[str, ...]:
    """A list of strings, or one string (a single item)."""
    if isinstance(value, str) and value.strip():
        return (value.strip(),)
    if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
        return tuple(v.strip() for v in value)
    raise TypeError("a string or a list of strings")


def _checks(value: object) -> str:
    """The CLI's comma-separated form, from a string or a list of codes."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    raise TypeError('a list of invariant codes (e.g. ["-app-raised"]) or a comma-separated string')


#: Every key of ``[tool.asgifuzz]``: its checker.  Each is named like the long option it sets.
KEYS: Mapping[str, Callable[[object], Any]] = {
    "app": _str,
    "app-dir": _str,
    "factory": _bool,
    "checks": _checks,
    "fail-on": _choice("error", "warning"),
    "max-time": _positive_number,
    "max-examples": _positive_int,
    "seed": _int,
    "workers": _positive_int,
    "server-profile": _str,
    "backend": _choice("asyncio", "trio", "both"),
    "lifespan": _choice("auto", "on", "off"),
    "connections": _positive_int,
    "paths": _str_list,
    "routes": _str_list,
    "corpus": _str,
    "database": _str,
    "block-timeout": _positive_number,
    "real-time": _bool,
}
_PATH_KEYS = ("app-dir", "corpus", "database")


@dataclass(frozen=True, slots=True)
class ProjectConfig:
    """The validated ``[tool.asgifuzz]`` table (empty when there is none)."""

    #: The ``pyproject.toml`` read, or None.
    path: Path | None = None
    #: Values by key (``max-examples``); paths are absolute.
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def root(self) -> Path | None:
        return None if self.path is None else self.path.parent

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def __contains__(self, key: str) -> bool:
        return key in self.values


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _table(path: Path) -> dict[str, Any] | None:
    """The ``[tool.asgifuzz]`` table of ``path``, or None when it has none."""
    tool = _read(path).get("tool")
    if not isinstance(tool, dict) or "asgifuzz" not in tool:
        return None
    table = tool["asgifuzz"]
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [tool.asgifuzz] must be a table")
    return table


def validate(table: Mapping[str, object], *, path: Path) -> ProjectConfig:
    """Check every key and value; raises ``UsageError`` with one line naming the first problem."""
    values: dict[str, Any] = {}
    for key, raw in table.items():
        check = KEYS.get(key)
        if check is None:
            close = difflib.get_close_matches(key.replace("_", "-"), list(KEYS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(KEYS)}"
            raise UsageError(f"{path}: [tool.asgifuzz]: unknown key {key!r}{hint}")
        try:
            value = check(raw)
        except TypeError as exc:
            raise UsageError(f"{path}: [tool.asgifuzz] {key} = {raw!r}: expected {exc}") from None
        if key in _PATH_KEYS:
            value = str((path.parent / value).resolve())
        values[key] = value
    return ProjectConfig(path, values)


def _candidates(start: Path) -> list[Path]:
    return [d / PYPROJECT for d in (start, *start.parents) if (d / PYPROJECT).is_file()]


def load_project(start: str | os.PathLike[str] | None = None) -> ProjectConfig:
    """``[tool.asgifuzz]`` of the nearest ``pyproject.toml`` that has one, from ``start`` (the cwd) up.

    Set ``ASGIFUZZ_NO_PYPROJECT=1`` to ignore every ``pyproject.toml``.

    Raises:
        UsageError: invalid TOML, an unknown key or a value of the wrong type (one line).
    """
    if os.environ.get("ASGIFUZZ_NO_PYPROJECT"):
        return ProjectConfig()
    for path in _candidates(Path(start if start is not None else os.getcwd()).resolve()):
        table = _table(path)
        if table is not None:
            return validate(table, path=path)
    return ProjectConfig()


def find_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The project root: the folder of the nearest ``pyproject.toml`` with ``[tool.asgifuzz]``,
    else of the nearest ``pyproject.toml``, else the first folder that holds ``.git``, else ``start``.
    """
    here = Path(start if start is not None else os.getcwd()).resolve()
    found = _candidates(here)
    for path in found:
        try:
            if _table(path) is not None:
                return path.parent
        except UsageError:
            return path.parent
    if found:
        return found[0].parent
    for d in (here, *here.parents):
        if (d / ".git").exists():
            return d
    return here

"""Load objects named ``module:attr`` (importlib + getattr, never eval).

``load_object`` imports any object (a middleware list); ``load_target``
loads an ASGI app, calling a factory when asked.  Both raise ``UsageError``
with one line naming what went wrong.
"""

from __future__ import annotations

import difflib
import importlib
import sys
from typing import Any

from asgifuzz._errors import UsageError

__all__ = ("load_object", "load_target", "looks_like_factory")


def load_object(spec: str, *, app_dir: str | None = None, what: str = "app") -> Any:
    """Import ``module:attr`` (attr may be dotted) and return the object."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"{what} {spec!r} must be in the form MODULE:ATTRIBUTE, e.g. 'main:app'")
    path = app_dir if app_dir is not None else "."
    if path not in sys.path:
        sys.path.insert(0, path)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise UsageError(
                f"could not import module {module_name!r}: no such module (looked in {path!r} and sys.path)"
            ) from None
        raise UsageError(f"importing module {module_name!r} failed: {type(exc).__name__}: {exc}") from exc
    except Exception as exc:
        raise UsageError(f"importing module {module_name!r} raised {type(exc).__name__}: {exc}") from exc
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            names = [n for n in dir(obj) if not n.startswith("_")]
            close = difflib.get_close_matches(part, names, n=3)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise UsageError(f"module {module_name!r} has no attribute {attr!r}{hint}") from None
    return obj


def load_target(spec: str, *, app_dir: str | None = None, factory: bool = False) -> Any:
    """Import the app ``module:attr``; with ``factory``, call it to get the app.

    Raises:
        UsageError: with one line naming what went wrong.
    """
    obj = load_object(spec, app_dir=app_dir)
    if factory:
        if not callable(obj):
            raise UsageError(f"{spec!r} is not callable, so it cannot be an app factory")
        try:
            obj = obj()
        except Exception as exc:
            raise UsageError(f"app factory {spec!r} raised {type(exc).__name__}: {exc}") from exc
    if not callable(obj):
        raise UsageError(f"{spec!r} is a {type(obj).__name__}, not an ASGI application (it is not callable)")
    if not factory and looks_like_factory(obj):
        raise UsageError(
            f"{spec!r} takes no arguments, so it is not an ASGI app (which takes scope, receive, send); "
            "it looks like an app factory: did you mean --factory?"
        )
    return obj


def looks_like_factory(obj: object) -> bool:
    """Whether ``obj`` can be called with no arguments but not as ``app(scope, receive, send)``.

    uvicorn tells factories apart by calling the object with no arguments;
    reading the signature says the same without running the user's code.
    A class is never taken for a factory (an ASGI 2 app is a class taking
    the scope; instantiating one is not loading it).
    """
    import inspect

    if isinstance(obj, type):
        return False
    try:
        sig = inspect.signature(obj)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    try:
        sig.bind()
    except TypeError:
        return False
    try:
        sig.bind(None, None, None)
    except TypeError:
        return True
    return False

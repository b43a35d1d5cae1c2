"""``discover_routes``: unwrap middleware, try each framework's reader, fall back to OpenAPI.

Readers look at framework internals, some of them private, so each is
guarded: one that raises adds a note and the next candidate is tried;
``discover_routes`` itself never raises.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

from asgifuzz.routes._model import Route, RouteTable, dedupe, template_param_re
from asgifuzz.routes.openapi import routes_from_openapi, served_openapi

__all__ = ("discover_routes",)

#: (reader name, module under asgifuzz.routes).  Each module has ``detect(app) -> bool``
#: (cheap: no framework import) and ``read(app, sub_reader) -> (routes, notes)``.
READERS: tuple[tuple[str, str], ...] = (
    ("starlette", "starlette"),
    ("django", "django"),
    ("litestar", "litestar"),
    ("quart", "quart"),
    ("falcon", "falcon"),
    ("blacksheep", "blacksheep"),
    ("sanic", "sanic"),
)
#: Attributes under which wrappers keep the app they wrap (Starlette/ASGI middleware,
#: Django's static files handler, Quart's ``asgi_app``, functools.wraps, bound methods,
#: asgiref's ``WsgiToAsgi``, python-socketio's ``ASGIApp``, aioprometheus).
WRAPPED_ATTRS = (
    "app", "application", "asgi_app", "handler", "_app", "wrapped", "__wrapped__", "__self__", "wsgi_application",
    "other_asgi_app", "asgi_callable",
)  # fmt: skip
_MAX_UNWRAP = 6
_MAX_CANDIDATES = 32
_MAX_NESTING = 4


def _candidates(app: object) -> Iterator[object]:
    """The app, then what it wraps, breadth first, a few levels deep, each object once."""
    seen: set[int] = set()
    level = [app]
    for _ in range(_MAX_UNWRAP):
        following: list[object] = []
        for obj in level:
            if id(obj) in seen or len(seen) >= _MAX_CANDIDATES:
                continue
            seen.add(id(obj))
            yield obj
            for attr in WRAPPED_ATTRS:
                try:
                    inner = getattr(obj, attr, None)
                except Exception:  # a property that needs a request, a lazy app that fails to build...
                    continue
                if inner is not None and callable(inner) and id(inner) not in seen:
                    following.append(inner)
        level = following


def _reader(module: str) -> Any:
    return importlib.import_module(f"asgifuzz.routes.{module}")


def _describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _shape(path: str) -> str:
    """A template without parameter names and kinds, to compare routes read two ways."""
    return template_param_re.sub("{}", path)


class _Discovery:
    def __init__(self, nesting: int) -> None:
        self.notes: list[str] = []
        self.nesting = nesting

    def sub_reader(self, app: object) -> list[Route] | None:
        """Routes of an app mounted inside another one (relative to the mount), or None."""
        if self.nesting >= _MAX_NESTING:
            return None
        inner = _Discovery(self.nesting + 1)
        table = inner.run(app, openapi=False)
        self.notes += inner.notes
        return list(table.routes) or None

    def run(self, app: object, *, openapi: bool = True) -> RouteTable:
        tried: list[object] = []
        for candidate in _candidates(app):
            tried.append(candidate)
            for name, module in READERS:
                try:
                    reader = _reader(module)
                    if not reader.detect(candidate):
                        continue
                    routes, notes = reader.read(candidate, self.sub_reader)
                except Exception as exc:
                    self.notes.append(f"{name}: routes could not be read ({_describe(exc)}); trying the next reader")
                    continue
                self.notes += notes
                table = RouteTable(tuple(dedupe(routes)), name, tuple(self.notes))
                if openapi and (notes or not routes):
                    table = self._complete(table, candidate)
                if table.routes:
                    return table
        if openapi:
            for candidate in tried:
                table = self._complete(RouteTable((), "", tuple(self.notes)), candidate)
                if table.routes:
                    return table
        return RouteTable(
            (),
            "",
            (
                *self.notes,
                "no routes found in the app's routing or OpenAPI document: name them with --path 'GET,POST /items/{id:int}'",
            ),
        )

    def _complete(self, table: RouteTable, app: object) -> RouteTable:
        """Add the routes of the app's own OpenAPI document that the reader missed."""
        try:
            doc = served_openapi(app)
            extra = routes_from_openapi(doc) if doc else []
        except Exception as exc:
            self.notes.append(f"openapi: the app's OpenAPI document could not be built ({_describe(exc)})")
            return RouteTable(table.routes, table.reader, tuple(self.notes))
        known = {_shape(r.path) for r in table.routes}
        missing = [r for r in extra if _shape(r.path) not in known]
        if not missing:
            return RouteTable(table.routes, table.reader, tuple(self.notes))
        self.notes.append(f"openapi: {len(missing)} route(s) taken from the app's OpenAPI document")
        reader = f"{table.reader}+openapi" if table.reader else "openapi"
        return RouteTable((*table.routes, *missing), reader, tuple(self.notes))


def discover_routes(app: object) -> RouteTable:
    """Every route of ``app`` that can be read cheaply, which reader found them, and notes for the user.

    Never raises: what could not be read is said in ``notes``.
    """
    try:
        return _Discovery(0).run(app)
    except Exception as exc:  # a bug of ours must not stop a fuzz run
        return RouteTable((), "", (f"routes could not be read ({_describe(exc)})",))

"""Litestar: ``app.routes`` (HTTPRoute, WebSocketRoute, ASGIRoute), already flattened through routers and controllers.

Litestar adds an OPTIONS handler of its own to every HTTP route (and HEAD
to static files); those are left out unless the app wrote them itself.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from asgifuzz.routes._model import Route, normalize_methods

__all__ = ("detect", "read")

_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*):([A-Za-z_]+)}")
#: Litestar's own path parameter type names -> our kinds.
_TYPE_NAMES = {"int": "int", "float": "float", "decimal": "float", "uuid": "uuid", "path": "path", "str": "str"}


def detect(app: object) -> bool:
    return any(c.__name__ == "Litestar" and c.__module__.startswith("litestar.") for c in type(app).__mro__)


def _kind(type_name: str, definition: Any) -> str:
    kind = _TYPE_NAMES.get(type_name)
    if kind is not None:
        return kind
    python_type = getattr(definition, "type", None)
    for base, name in ((bool, "str"), (int, "int"), (float, "float"), (Decimal, "float"),
                       (uuid.UUID, "uuid"), (PurePath, "path")):  # fmt: skip
        if isinstance(python_type, type) and issubclass(python_type, base):
            return name
    return "str"


def _template(route: Any, unusual: list[str]) -> tuple[str, dict[str, str]]:
    definitions = getattr(route, "path_parameters", None) or {}
    kinds: dict[str, str] = {}

    def sub(m: re.Match[str]) -> str:
        name, type_name = m.group(1), m.group(2)
        kind = _kind(type_name, definitions.get(name) if isinstance(definitions, dict) else None)
        if type_name not in _TYPE_NAMES:  # date, datetime, time, timedelta: text will mostly 400
            unusual.append(f"{route.path} ({name}:{type_name})")
        kinds[name] = kind
        return f"{{{name}}}" if kind == "str" else f"{{{name}:{kind}}}"

    return _PARAM.sub(sub, route.path), kinds


def _is_automatic(handlers: Any) -> bool:
    """Litestar's generated handlers (options_handler, the static files' head) live in litestar's own modules."""
    handler = handlers[0] if isinstance(handlers, tuple) else handlers
    fn = getattr(handler, "fn", None)
    return str(getattr(fn, "__module__", "")).startswith("litestar.routes")


def _methods(route: Any) -> tuple[str, ...]:
    handler_map = getattr(route, "route_handler_map", None)
    if isinstance(handler_map, dict):
        mine = [m for m, h in handler_map.items() if not _is_automatic(h)]
        return normalize_methods(mine or handler_map)
    return normalize_methods(getattr(route, "methods", None) or (), drop=("HEAD", "OPTIONS"))


def _name(route: Any) -> str:
    handlers = getattr(route, "route_handlers", None) or [getattr(route, "route_handler", None)]
    names = [getattr(h, "handler_name", "") for h in handlers if h is not None]
    return ", ".join(sorted(n for n in names if n and n != "options_handler"))


def read(app: Any, sub_reader: object = None) -> tuple[list[Route], list[str]]:
    routes: list[Route] = []
    unusual: list[str] = []
    notes: list[str] = []
    for route in app.routes:
        kind = type(route).__name__
        path, kinds = _template(route, unusual)
        if kind == "WebSocketRoute":
            routes.append(Route(path, (), "websocket", _name(route), kinds))
        elif kind == "ASGIRoute":
            handler = getattr(route, "route_handler", None)
            if getattr(handler, "is_mount", False):  # @asgi(is_mount=True): everything under the path
                path = path.rstrip("/") + "/{path:path}"
                kinds["path"] = "path"
            routes.append(Route(path, ("GET", "POST"), "http", _name(route), kinds))
        elif kind == "HTTPRoute" or getattr(route, "methods", None):
            routes.append(Route(path, _methods(route), "http", _name(route), kinds))
        else:
            notes.append(f"Litestar: a route of type {kind} at {getattr(route, 'path', '?')} was not read")
    if unusual:
        notes.append(f"Litestar: parameters of types generated as plain text: {', '.join(unusual)}")
    return routes, notes

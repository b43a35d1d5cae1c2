"""BlackSheep: the router and its sub-routers, before or after the app has started.

Before ``app.start()`` routes wait in ``registered_routes`` (method, Route);
start moves them into ``routes`` (method bytes -> [Route]).  Both are read,
so discovery works either way.  Patterns may write parameters as
``{int:id}``, ``<int:id>``, ``{id}``, ``/:id`` or a trailing ``*``.
"""

from __future__ import annotations

import inspect
import re
import uuid
from collections.abc import Iterator
from typing import Any

from asgifuzz.routes._model import Route, normalize_methods

__all__ = ("detect", "read")

_RICH = re.compile(r"[{<](?:(?P<type>[A-Za-z_]+):)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)[}>]")
_COLON = re.compile(r"/:(?P<name>[A-Za-z_][A-Za-z0-9_]*)")
_TYPES = {"int": "int", "float": "float", "uuid": "uuid", "path": "path", "str": "str", "string": "str"}
_MAX_DEPTH = 16


def detect(app: object) -> bool:
    return any(c.__module__.startswith("blacksheep.") and c.__name__ in ("Application", "BaseApplication")
               for c in type(app).__mro__)  # fmt: skip


def _pairs(router: Any, depth: int = 0) -> Iterator[tuple[str, Any]]:
    for method, routes in (getattr(router, "routes", None) or {}).items():
        for route in routes:
            yield (method.decode() if isinstance(method, bytes) else str(method)), route
    for method, route in getattr(router, "_registered_routes", None) or ():
        yield str(method), route
    if depth < _MAX_DEPTH:
        for sub in getattr(router, "_sub_routers", None) or ():
            yield from _pairs(sub, depth + 1)


def _annotated(handler: Any) -> dict[str, str]:
    """Kinds from the handler's annotations (``order_id: UUID``): BlackSheep answers 400 to values that do not bind."""
    fn = inspect.unwrap(handler)
    try:  # string annotations (``from __future__ import annotations``) resolve in the handler's module
        params = inspect.signature(fn, eval_str=True).parameters
    except Exception:
        try:
            params = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            return {}
    out: dict[str, str] = {}
    for name, param in params.items():
        annotation = param.annotation
        if isinstance(annotation, type) and not issubclass(annotation, bool):
            for base, kind in ((int, "int"), (float, "float"), (uuid.UUID, "uuid")):
                if issubclass(annotation, base):
                    out[name] = kind
                    break
    return out


def _template(pattern: str, handler: Any) -> tuple[str, dict[str, str]]:
    annotated = _annotated(handler)
    kinds: dict[str, str] = {}

    def put(name: str, kind: str) -> str:
        kind = annotated.get(name, kind) if kind == "str" else kind
        kinds[name] = kind
        return f"{{{name}}}" if kind == "str" else f"{{{name}:{kind}}}"

    text = _RICH.sub(lambda m: put(m.group("name"), _TYPES.get(m.group("type") or "str", "str")), pattern)
    text = _COLON.sub(lambda m: "/" + put(m.group("name"), "str"), text)
    if text.endswith("*"):  # the tail: "/files/*" matches "/files" and everything under it
        text = text[:-1] + put("tail", "path")
    return text, kinds


def read(app: Any, sub_reader: object = None) -> tuple[list[Route], list[str]]:
    by_path: dict[str, tuple[set[str], dict[str, str], list[str], bool]] = {}
    controllers = 0
    for method, route in _pairs(app.router):
        pattern = route.pattern.decode() if isinstance(route.pattern, bytes) else str(route.pattern)
        if method == "*":  # the fallback: what answers 404
            continue
        if getattr(route.handler, "controller_type", None) is not None:
            controllers += 1  # their final pattern gets the controller's prefix only at start
        path, kinds = _template(pattern, route.handler)
        websocket = method == "GET_WS"
        methods, _, names, _ = by_path.setdefault(f"{websocket} {path}", (set(), kinds, [], websocket))
        if not websocket:
            methods.add(method)
        name = getattr(route.handler, "__name__", "")
        if name and name not in names:
            names.append(name)
    routes = [
        Route(key.split(" ", 1)[1], () if ws else normalize_methods(methods), "websocket" if ws else "http",
              ", ".join(names), kinds)
        for key, (methods, kinds, names, ws) in by_path.items()
    ]  # fmt: skip
    notes = []
    if controllers and not getattr(app, "started", False):
        notes.append(
            f"BlackSheep: {controllers} controller route(s) read before app start may lack their controller's prefix"
        )
    return routes, notes

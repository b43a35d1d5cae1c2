"""Falcon: the compiled router's node tree, static routes and sinks.

Each router node that has a resource carries its full ``uri_template`` and a
``method_map`` in which Falcon fills every method the resource lacks with a
405 responder (and OPTIONS with its own); only responders bound to the
resource (``on_get``, ``on_get_item``, ...) are the app's methods.  All of
this is private (``_router._roots``, ``_static_routes``, ``_sinks``); it has
been stable from Falcon 3 to 4.4, and any change shows up as a note.
"""

from __future__ import annotations

import re
from typing import Any

from asgifuzz.routes._model import Route, normalize_methods

__all__ = ("detect", "read")

#: ``{name}``, ``{name:int}``, ``{name:int(min=1)}``, ``{name:dt("%Y")}``.
_FIELD = re.compile(r"{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<conv>[A-Za-z_]+)(?P<args>\([^)]*\))?)?}")
_CONVERTERS = {"int": "int", "float": "float", "uuid": "uuid", "path": "path"}
_MAX_DEPTH = 64


def detect(app: object) -> bool:
    return any(c.__name__ == "App" and c.__module__ in ("falcon.app", "falcon.asgi.app") for c in type(app).__mro__)


def _template(uri_template: str, odd: list[str]) -> tuple[str, dict[str, str]]:
    kinds: dict[str, str] = {}

    def sub(m: re.Match[str]) -> str:
        name, conv = m.group("name"), m.group("conv")
        kind = _CONVERTERS.get(conv or "str", "str")
        if (conv and conv not in _CONVERTERS) or m.group("args"):  # dt, custom, int(min=1): values may not fit
            odd.append(m.group(0))
        kinds[name] = kind
        return f"{{{name}}}" if kind == "str" else f"{{{name}:{kind}}}"

    return _FIELD.sub(sub, uri_template), kinds


def _own_methods(node: Any) -> list[str]:
    """Methods whose responder the resource defines (not Falcon's 405 or default OPTIONS responders)."""
    resource = node.resource
    own = []
    for method, responder in (node.method_map or {}).items():
        bound_to = getattr(responder, "__self__", None)
        if bound_to is resource or (bound_to is None and str(getattr(responder, "__name__", "")).startswith("on_")):
            own.append(method)
    return own


def _walk(nodes: Any, depth: int, out: list[Route], odd: list[str]) -> None:
    for node in nodes or ():
        if node.resource is not None and isinstance(node.uri_template, str):
            path, kinds = _template(node.uri_template, odd)
            name = type(node.resource).__name__
            methods = _own_methods(node)
            if "WEBSOCKET" in methods:
                out.append(Route(path, (), "websocket", name, kinds))
                methods.remove("WEBSOCKET")
            if methods:
                out.append(Route(path, normalize_methods(methods), "http", name, kinds))
        if depth < _MAX_DEPTH:
            _walk(node.children, depth + 1, out, odd)


_LITERAL = re.compile(r"^(?:[^.^$*+?{}\[\]|()\\]|\\.)*$")  # plain text and escaped characters


def _literal(regex: str) -> str | None:
    """The plain prefix a sink regex stands for (escapes removed), or None if it is a real regex."""
    return re.sub(r"\\(.)", r"\1", regex).rstrip("/") if _LITERAL.match(regex) else None


def read(app: Any, sub_reader: object = None) -> tuple[list[Route], list[str]]:
    routes: list[Route] = []
    odd: list[str] = []
    notes: list[str] = []
    _walk(app._router._roots, 0, routes, odd)
    for entry in getattr(app, "_static_routes", None) or ():
        prefix = getattr(entry[0], "_prefix", None)
        if isinstance(prefix, str):
            routes.append(Route(prefix.rstrip("/") + "/{path:path}", ("GET",), "http", "static", {"path": "path"}))
    for entry in getattr(app, "_sinks", None) or ():
        pattern = getattr(entry[0], "pattern", None)
        prefix = _literal(pattern) if isinstance(pattern, str) else None
        if prefix is None:
            notes.append(f"Falcon: sink {pattern!r} is a regex, not a prefix; not read")
            continue
        sink = getattr(entry[1], "__name__", "sink")
        routes.append(Route(prefix + "/{path:path}", ("GET", "POST"), "http", sink, {"path": "path"}))
    if odd:
        notes.append(f"Falcon: fields whose converter or arguments narrow the values (some will 404): {', '.join(odd)}")
    return routes, notes

"""Sanic: ``app.router.routes`` (sanic-routing), blueprints included once registered.

Parameters are ``<name>`` or ``<name:type>`` segments; types other than the
common ones (alpha, ymd, ext, regexes) are generated as plain text and named
in a note, since many of those values will 404.
"""

from __future__ import annotations

import re
from typing import Any

from asgifuzz.routes._model import Route, normalize_methods

__all__ = ("detect", "read")

_SEGMENT = re.compile(r"^<(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<type>.+))?>$")
_TYPES = {"str": "str", "strorempty": "str", "int": "int", "float": "float", "uuid": "uuid", "path": "path",
          "slug": "slug", "number": "float"}  # fmt: skip


def detect(app: object) -> bool:
    return any(c.__name__ == "Sanic" and c.__module__.startswith("sanic.") for c in type(app).__mro__)


def _template(route: Any, odd: list[str]) -> tuple[str, dict[str, str]]:
    uri = str(getattr(route, "uri", "") or "/" + str(route.path))
    kinds: dict[str, str] = {}
    out = []
    for segment in uri.split("/"):
        m = _SEGMENT.match(segment)
        if m is None:
            out.append(segment)
            continue
        name, type_ = m.group("name"), m.group("type") or "str"
        kind = _TYPES.get(type_)
        if kind is None:
            kind = "str"
            odd.append(f"{uri} ({name}:{type_})")
        kinds[name] = kind
        out.append(f"{{{name}}}" if kind == "str" else f"{{{name}:{kind}}}")
    path = "/".join(out)
    return (path if path.startswith("/") else "/" + path), kinds


def read(app: Any, sub_reader: object = None) -> tuple[list[Route], list[str]]:
    routes: list[Route] = []
    odd: list[str] = []
    for route in app.router.routes:
        path, kinds = _template(route, odd)
        name = str(getattr(route, "name", "") or "")
        if getattr(getattr(route, "extra", None), "websocket", False):
            routes.append(Route(path, (), "websocket", name, kinds))
        else:
            routes.append(Route(path, normalize_methods(route.methods or ("GET",)), "http", name, kinds))
    notes = [f"Sanic: parameter types generated as plain text (some values will 404): {', '.join(odd)}"] if odd else []
    return routes, notes

"""Quart (and Flask behind a WSGI adapter): the Werkzeug ``url_map``, blueprints included.

Werkzeug adds HEAD to GET rules and OPTIONS to all rules on its own; both
are left out unless nothing else is left.
"""

from __future__ import annotations

import re
from typing import Any

from asgifuzz.routes._model import Route, normalize_methods

__all__ = ("detect", "read")

#: ``<name>``, ``<int:name>``, ``<int(signed=True):name>``.
_RULE_PARAM = re.compile(
    r"<(?:(?P<conv>[A-Za-z_][A-Za-z0-9_]*)(?:\((?P<args>[^)]*)\))?:)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)>"
)
_CONVERTERS = {
    "UnicodeConverter": "str",
    "IntegerConverter": "int",
    "FloatConverter": "float",
    "UUIDConverter": "uuid",
    "PathConverter": "path",
}


def detect(app: object) -> bool:
    flask_like = any(c.__module__.startswith(("quart.", "flask.")) for c in type(app).__mro__)
    return flask_like and callable(getattr(getattr(app, "url_map", None), "iter_rules", None))


def _template(rule: Any, odd: list[str]) -> tuple[str, dict[str, str]]:
    converters = getattr(rule, "_converters", None) or {}
    kinds: dict[str, str] = {}

    def sub(m: re.Match[str]) -> str:
        name = m.group("name")
        conv = converters.get(name)
        kind = _CONVERTERS.get(type(conv).__name__) if conv is not None else None
        if kind is None:  # any(...), a custom converter: text that may not match its regex
            kind = "str"
            if m.group("conv"):
                odd.append(f"{rule.rule} ({m.group('conv')}:{name})")
        kinds[name] = kind
        return f"{{{name}}}" if kind == "str" else f"{{{name}:{kind}}}"

    return _RULE_PARAM.sub(sub, rule.rule), kinds


def read(app: Any, sub_reader: object = None) -> tuple[list[Route], list[str]]:
    routes: list[Route] = []
    odd: list[str] = []
    for rule in app.url_map.iter_rules():
        path, kinds = _template(rule, odd)
        host = getattr(rule, "host", None) or None  # set only with url_map.host_matching
        if getattr(rule, "websocket", False):
            routes.append(Route(path, (), "websocket", str(rule.endpoint), kinds, host))
            continue
        methods = normalize_methods(rule.methods or ("GET",), drop=("HEAD", "OPTIONS"))
        routes.append(Route(path, methods, "http", str(rule.endpoint), kinds, host))
    notes = [f"Quart: converters generated as plain text: {', '.join(odd)}"] if odd else []
    return routes, notes

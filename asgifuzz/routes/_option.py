"""``--path`` values: ``"GET,POST /items/{id:int}"``, ``"/items/{id}"`` (GET), ``"WEBSOCKET /ws"``."""

from __future__ import annotations

import re

from asgifuzz.routes._model import KINDS, Route, normalize_methods, params_of, template_param_re

__all__ = ("parse_path_option",)

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an RFC 9110 token: what a method may be
_PLACEHOLDER = re.compile(r"{[^}]*}")


def parse_path_option(text: str) -> Route:
    """One route from the command line; ``ValueError`` with a one-line reason if it is malformed."""
    parts = text.split()
    if len(parts) == 1:
        methods_text, path = "GET", parts[0]
    elif len(parts) == 2:
        methods_text, path = parts
    else:
        raise ValueError(f"--path {text!r}: expected '[METHODS ]/path', e.g. 'GET,POST /items/{{id:int}}'")
    if not path.startswith("/"):
        raise ValueError(f"--path {text!r}: the path must start with '/'")
    for placeholder in _PLACEHOLDER.findall(path):
        m = template_param_re.fullmatch(placeholder)
        if m is None:
            raise ValueError(f"--path {text!r}: {placeholder} is not '{{name}}' or '{{name:kind}}'")
        if m.group(2) and m.group(2) not in KINDS:
            raise ValueError(f"--path {text!r}: unknown kind {m.group(2)!r} (known: {', '.join(KINDS)})")
    if path.count("{") != len(_PLACEHOLDER.findall(path)) or path.count("}") != path.count("{"):
        raise ValueError(f"--path {text!r}: unbalanced braces")
    methods = [m for m in methods_text.upper().split(",") if m]
    if methods in (["WEBSOCKET"], ["WS"]):
        return Route(path, (), "websocket", params=params_of(path))
    bad = [m for m in methods if not _TOKEN.match(m) or m in ("WEBSOCKET", "WS")]
    if bad or not methods:
        raise ValueError(f"--path {text!r}: {', '.join(bad) or 'no method'} is not an HTTP method")
    return Route(path, normalize_methods(methods), "http", params=params_of(path))

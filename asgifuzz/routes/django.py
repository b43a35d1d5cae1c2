"""Django: the URL resolver of ``ROOT_URLCONF``, walked through every ``include()``.

``path()`` routes convert exactly (``<int:pk>`` -> ``{pk:int}``).  ``re_path()``
regexes convert when each named group is one of the common parameter
regexes and the rest is literal text; others are left out with a note,
since a template that does not match the regex would only produce 404s.
"""

from __future__ import annotations

import re
from typing import Any

from asgifuzz.routes._model import Route, normalize_methods

__all__ = ("detect", "read", "regex_to_template")

_CONVERTERS = {
    "IntConverter": "int",
    "StringConverter": "str",
    "SlugConverter": "slug",
    "UUIDConverter": "uuid",
    "PathConverter": "path",
}
_ROUTE_PARAM = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
#: Group regexes with an exact kind; ``approximate`` ones match a subset of the kind's values.
_GROUP_KINDS = {
    r"[0-9]+": "int", r"\d+": "int",
    r"[^/]+": "str", r"[^/.]+": "str",
    r"[-\w]+": "slug", r"[\w-]+": "slug", r"[-a-zA-Z0-9_]+": "slug", r"[a-zA-Z0-9_-]+": "slug", r"\w+": "slug",
    r".+": "path", r".*": "path",
    _UUID: "uuid", r"[0-9a-fA-F-]+": "uuid",
}  # fmt: skip
_APPROXIMATE = re.compile(r"^(?:\[0-9\]|\\d)\{\d+(?:,\d*)?\}$")  # [0-9]{4}, \d{2,3}: digits of a given width
_NAMED_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>(?:[^()\\]|\\.)*)\)")
_LITERAL = re.compile(r"^(?:[^.^$*+?{}\[\]|()\\]|\\[./\-_~])*$")  # plain text, with \. \/ \- escapes
#: Methods a function view answers when nothing on it says otherwise.
_DEFAULT_METHODS = ("GET", "POST")
_VIEW_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")


def detect(app: object) -> bool:
    return any(c.__name__ == "ASGIHandler" and c.__module__.startswith("django.") for c in type(app).__mro__)


def regex_to_template(regex: str) -> tuple[str, dict[str, str], bool] | None:
    """``(template, kinds, approximate)`` for a simple ``re_path`` regex, else None.

    The regex is matched from the start of what is left of the path; ``$``
    or ``\\Z`` ends it.  ``approximate`` means a group is narrower than its
    kind (``[0-9]{4}`` read as int).
    """
    text = regex[1:] if regex.startswith("^") else regex
    for end in ("\\Z", "$"):
        if text.endswith(end) and not text.endswith("\\" + end):
            text = text[: -len(end)]
            break
    kinds: dict[str, str] = {}
    approximate = False
    out: list[str] = []
    pos = 0
    for m in _NAMED_GROUP.finditer(text):
        literal = text[pos : m.start()]
        if not _LITERAL.match(literal):
            return None
        out.append(re.sub(r"\\(.)", r"\1", literal))
        body = m.group("body")
        kind = _GROUP_KINDS.get(body)
        if kind is None and _APPROXIMATE.match(body):
            kind, approximate = "int", True
        if kind is None:
            return None
        kinds[m.group("name")] = kind
        out.append(f"{{{m.group('name')}}}" if kind == "str" else f"{{{m.group('name')}:{kind}}}")
        pos = m.end()
    if not _LITERAL.match(text[pos:]):
        return None
    out.append(re.sub(r"\\(.)", r"\1", text[pos:]))
    return "".join(out), kinds, approximate


def _pattern(pattern: Any) -> tuple[str, dict[str, str], bool] | None:
    """One URL pattern piece as (template, kinds, approximate), or None if it cannot be written as one."""
    route = getattr(pattern, "_route", None)
    if isinstance(route, str):  # RoutePattern: path("items/<int:pk>/")
        converters = getattr(pattern, "converters", None) or {}
        kinds: dict[str, str] = {}

        def sub(m: re.Match[str]) -> str:
            name = m.group("name")
            kind = _CONVERTERS.get(type(converters.get(name)).__name__, "str")
            kinds[name] = kind
            return f"{{{name}}}" if kind == "str" else f"{{{name}:{kind}}}"

        return _ROUTE_PARAM.sub(sub, route), kinds, False
    regex = getattr(pattern, "_regex", None)
    if isinstance(regex, str) and type(pattern).__name__ == "RegexPattern":
        return regex_to_template(regex)
    text = str(pattern)  # LocalePrefixPattern: the language prefix, "en/"
    return (text, {}, False) if _LITERAL.match(text) else None


def _required_methods(view: Any) -> tuple[str, ...] | None:
    """Methods from ``require_http_methods`` (and ``require_GET``...), seen through other ``functools.wraps`` decorators."""
    seen = 0
    while view is not None and seen < 10:
        code = getattr(view, "__code__", None)
        closure = getattr(view, "__closure__", None) or ()
        if code is not None and "request_method_list" in code.co_freevars:
            value = closure[code.co_freevars.index("request_method_list")].cell_contents
            return normalize_methods(value)
        view, seen = getattr(view, "__wrapped__", None), seen + 1
    return None


def _methods(callback: Any) -> tuple[str, ...]:
    view_class = getattr(callback, "view_class", None)
    if isinstance(view_class, type):
        allowed = [m.lower() for m in getattr(view_class, "http_method_names", _VIEW_METHODS)]
        # django.views.View itself defines options() for every view; count what the app's
        # classes and Django's generic views (TemplateView.get, RedirectView...) define.
        defined_names = {
            name
            for klass in view_class.__mro__
            if not (klass.__name__ == "View" and klass.__module__ == "django.views.generic.base")
            for name in vars(klass)
        }
        defined = [m.upper() for m in allowed if m in defined_names]
        return normalize_methods(defined) if defined else ("GET",)
    return _required_methods(callback) or _DEFAULT_METHODS


def _name(pattern: Any) -> str:
    name = getattr(pattern, "name", None)
    if isinstance(name, str) and name:
        return name
    callback = getattr(pattern, "callback", None)
    return str(getattr(callback, "__qualname__", "") or "")


def _walk(patterns: Any, prefix: str, kinds: dict[str, str], depth: int, out: list[Route], skipped: list[str]) -> None:
    for entry in patterns:
        piece = _pattern(getattr(entry, "pattern", None))
        if piece is None:
            skipped.append(str(getattr(entry, "pattern", entry)))
            continue
        text, piece_kinds, approximate = piece
        if approximate:
            skipped.append(f"~{text}")  # kept, but counted for the note
        template, all_kinds = prefix + text, kinds | piece_kinds
        children = getattr(entry, "url_patterns", None)
        if children is not None:  # URLResolver: include(...)
            if depth < 16:
                _walk(children, template, all_kinds, depth + 1, out, skipped)
            continue
        out.append(Route(template, _methods(entry.callback), "http", _name(entry), all_kinds))


def read(app: Any, sub_reader: object = None) -> tuple[list[Route], list[str]]:
    from django.conf import settings
    from django.urls import get_resolver

    if not settings.configured:
        return [], ["Django: settings are not configured (DJANGO_SETTINGS_MODULE); no routes read"]
    routes: list[Route] = []
    skipped: list[str] = []
    _walk(get_resolver().url_patterns, "/", {}, 0, routes, skipped)
    notes: list[str] = []
    approximate = [s[1:] for s in skipped if s.startswith("~")]
    regexes = [s for s in skipped if not s.startswith("~")]
    if regexes:
        notes.append(f"Django: {len(regexes)} regex route(s) could not be turned into templates: {', '.join(regexes)}")
    if approximate:
        notes.append(
            f"Django: regex parameters narrower than their kind (some values will 404): {', '.join(approximate)}"
        )
    static = getattr(getattr(app, "base_url", None), "path", None)
    if type(app).__name__ == "ASGIStaticFilesHandler" and isinstance(static, str):
        routes.append(Route(static.rstrip("/") + "/{path:path}", ("GET",), "http", "staticfiles", {"path": "path"}))
    return routes, notes

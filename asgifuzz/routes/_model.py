"""The route model shared by every reader: one ``Route`` per (template, kind)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

__all__ = ("KINDS", "Route", "RouteTable", "normalize_methods", "params_of", "template_param_re")

#: Path parameter kinds a generator knows how to fill with valid values.
KINDS = ("str", "int", "float", "uuid", "path", "slug")

#: ``{name}`` or ``{name:kind}`` in a Starlette-syntax template.
template_param_re = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_][A-Za-z0-9_]*))?}")


@dataclass(frozen=True, slots=True)
class Route:
    """One route of an app, as a fuzzer needs it.

    ``path`` is a template in Starlette syntax (``/items/{item_id:int}``,
    ``/files/{rest:path}``); ``{name:slug}`` is the one kind Starlette does not
    have.  ``methods`` are sorted and upper-case, without ``HEAD`` unless it
    is the only one, and ``()`` for a websocket.  ``host`` is the ``Host``
    header template the route needs (Starlette ``Host`` routes), else None.
    """

    path: str
    methods: tuple[str, ...]
    kind: Literal["http", "websocket"] = "http"
    name: str = ""
    # hash=False: a dict cannot be hashed, and path + kind identify a route.
    params: dict[str, str] = field(default_factory=dict, hash=False)
    host: str | None = None

    def __str__(self) -> str:
        where = f"{self.host}{self.path}" if self.host else self.path
        if self.kind == "websocket":
            return f"WEBSOCKET {where}"
        return f"{','.join(self.methods)} {where}"


@dataclass(frozen=True, slots=True)
class RouteTable:
    """What ``discover_routes`` found: the routes, the reader that found them, notes for the user."""

    routes: tuple[Route, ...] = ()
    #: "starlette", "django", ..., "openapi", or "" when nothing could be read.
    reader: str = ""
    #: One line each, meant to be shown to the user as they are.
    notes: tuple[str, ...] = ()

    @property
    def http(self) -> tuple[Route, ...]:
        return tuple(r for r in self.routes if r.kind == "http")

    @property
    def websocket(self) -> tuple[Route, ...]:
        return tuple(r for r in self.routes if r.kind == "websocket")


def normalize_methods(methods: Iterable[str] | None, *, drop: Iterable[str] = ("HEAD",)) -> tuple[str, ...]:
    """Sorted upper-case methods without the implicit ones in ``drop``, unless nothing else is left.

    Frameworks add HEAD (and OPTIONS, for Flask-likes) to every GET route on
    their own; fuzzing those doubles the work for no new code path.
    """
    upper = {m.upper() for m in methods or () if isinstance(m, str) and m}
    dropped = {d.upper() for d in drop}
    kept = upper - dropped
    return tuple(sorted(kept or upper))


def params_of(template: str) -> dict[str, str]:
    """Parameter name -> kind for a Starlette-syntax template (unknown kinds read as "str")."""
    out: dict[str, str] = {}
    for m in template_param_re.finditer(template):
        kind = m.group(2) or "str"
        out[m.group(1)] = kind if kind in KINDS else "str"
    return out


def dedupe(routes: Iterable[Route]) -> list[Route]:
    """First occurrence of each (host, path, kind) wins, as in the frameworks' own matching; methods merge."""
    seen: dict[tuple[str | None, str, str], Route] = {}
    for r in routes:
        key = (r.host, r.path, r.kind)
        old = seen.get(key)
        if old is None:
            seen[key] = r
        elif r.kind == "http" and not set(r.methods) <= set(old.methods):
            merged = normalize_methods({*old.methods, *r.methods})
            name = old.name if r.name in ("", *old.name.split(", ")) else f"{old.name}, {r.name}".strip(", ")
            seen[key] = Route(old.path, merged, old.kind, name, {**r.params, **old.params}, old.host)
    return list(seen.values())

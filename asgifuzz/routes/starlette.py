"""Starlette and FastAPI: every route, recursively through mounts, hosts and included routers.

FastAPI up to 0.1xx copied the routes of ``include_router`` into
``app.router.routes``.  Newer FastAPI (0.165 here) keeps one lazy
``_IncludedRouter`` entry per include instead: it has no ``path`` and no
``routes``, so a reader that only knows Starlette's route classes skips the
whole router.  Its ``effective_route_contexts()`` yields the routes with the
include prefix applied (``starlette_route`` for plain Starlette routes,
mounts and websockets; the context itself, which has ``path``, ``methods``
and ``param_convertors``, for ``APIRoute``).
"""

from __future__ import annotations

import inspect
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from asgifuzz.routes._model import Route, normalize_methods, params_of, template_param_re

__all__ = ("detect", "read")

#: Starlette convertor class -> our kind; custom convertors keep the template's own name.
_CONVERTORS = {
    "StringConvertor": "str",
    "PathConvertor": "path",
    "IntegerConvertor": "int",
    "FloatConvertor": "float",
    "UUIDConvertor": "uuid",
}
_HTTP_ENDPOINT_METHODS = ("get", "head", "post", "put", "patch", "delete", "options")
#: Mount / include nesting deeper than this is a cycle or a pathological app.
_MAX_DEPTH = 16

SubReader = Callable[[object], "list[Route] | None"]


def detect(app: object) -> bool:
    """A Starlette/FastAPI app, or a bare Starlette ``Router`` used as the app."""
    if hasattr(app, "user_middleware") and hasattr(getattr(app, "router", None), "routes"):
        return True
    return any(
        c.__module__.startswith(("starlette.", "fastapi.")) and c.__name__ in ("Router", "APIRouter")
        for c in type(app).__mro__
    )


def _class_names(obj: object) -> set[str]:
    return {c.__name__ for c in type(obj).__mro__}


def _kinds(route: Any) -> dict[str, str]:
    """Param kinds from ``param_convertors``, falling back to the template's ``{name:kind}``."""
    kinds = params_of(getattr(route, "path", "") or "")
    for name, conv in (getattr(route, "param_convertors", None) or {}).items():
        kind = _CONVERTORS.get(type(conv).__name__)
        if kind is not None:
            kinds[name] = kind
    return kinds


def _annotated_kinds(route: Any) -> dict[str, str]:
    """FastAPI: kinds from the endpoint's annotations (``item_id: int`` on ``/items/{item_id}``).

    Starlette's convertor is ``str`` there; FastAPI answers 422 to anything
    that is not an int, so valid values must come from the annotation.
    """
    out: dict[str, str] = {}
    for field_ in getattr(getattr(route, "dependant", None), "path_params", None) or ():
        annotation = getattr(getattr(field_, "field_info", None), "annotation", None)
        name = getattr(field_, "alias", None) or getattr(field_, "name", None)
        if not isinstance(name, str) or not isinstance(annotation, type):
            continue
        if issubclass(annotation, bool):  # bool is an int subclass, but "true" is no integer
            continue
        for base, kind in ((int, "int"), (float, "float"), (uuid.UUID, "uuid")):
            if issubclass(annotation, base):
                out[name] = kind
                break
    return out


def _typed(path: str, kinds: dict[str, str]) -> str:
    """Write known kinds into ``{name}`` placeholders, so the template alone generates valid values."""

    def sub(m: re.Match[str]) -> str:
        kind = m.group(2) or kinds.get(m.group(1), "str")
        return m.group(0) if kind == "str" else f"{{{m.group(1)}:{kind}}}"

    return template_param_re.sub(sub, path)


def _endpoint_methods(route: Any) -> tuple[str, ...]:
    """Methods of a route whose ``methods`` is None: an ``HTTPEndpoint`` class, or a raw ASGI endpoint."""
    endpoint = getattr(route, "endpoint", None)
    if inspect.isclass(endpoint) and "HTTPEndpoint" in {c.__name__ for c in endpoint.__mro__}:
        defined = [m.upper() for m in _HTTP_ENDPOINT_METHODS if callable(getattr(endpoint, m, None))]
        if defined:
            return normalize_methods(defined)
    # A raw ASGI app as endpoint accepts whatever it likes: the two common methods.
    return ("GET", "POST")


class _Walker:
    def __init__(self, sub_reader: SubReader | None) -> None:
        self.routes: list[Route] = []
        self.notes: list[str] = []
        self.sub_reader = sub_reader

    def walk(self, routes: Iterable[Any], prefix: str, host: str | None, depth: int) -> None:
        if depth > _MAX_DEPTH:
            self.notes.append(
                f"Starlette: mounts nested deeper than {_MAX_DEPTH} levels under {prefix!r} were not read"
            )
            return
        for route in routes:
            self.one(route, prefix, host, depth)

    def one(self, route: Any, prefix: str, host: str | None, depth: int) -> None:
        names = _class_names(route)
        contexts = getattr(route, "effective_route_contexts", None)
        if "_IncludedRouter" in names or (getattr(route, "path", None) is None and callable(contexts)):
            self.included(route, prefix, host, depth)
        elif "Host" in names:
            self.walk(getattr(route, "routes", None) or [], prefix, route.host, depth + 1)
        elif "Mount" in names:
            self.mount(route, prefix, host, depth)
        elif "WebSocketRoute" in names or "APIWebSocketRoute" in names:
            kinds = params_of(prefix) | _kinds(route)
            kinds = kinds | {k: v for k, v in _annotated_kinds(route).items() if kinds.get(k) == "str"}
            path = _typed(prefix + route.path, kinds)
            self.routes.append(Route(path, (), "websocket", _name(route), kinds, host))
        elif getattr(route, "path", None) is not None:
            methods = getattr(route, "methods", None)
            kinds = params_of(prefix) | _kinds(route)
            kinds = kinds | {k: v for k, v in _annotated_kinds(route).items() if kinds.get(k) == "str"}
            path = _typed(prefix + route.path, kinds)
            methods = normalize_methods(methods) if methods else _endpoint_methods(route)
            self.routes.append(Route(path, methods, "http", _name(route), kinds, host))
        elif "_FrontendRouteGroup" in names or not getattr(route, "path", ""):
            self.notes.append(f"Starlette: a route of type {type(route).__name__} has no path and was not read")

    def included(self, route: Any, prefix: str, host: str | None, depth: int) -> None:
        try:
            contexts = list(route.effective_route_contexts())
        except Exception as exc:  # private FastAPI API: a later release may change it
            self.notes.append(f"FastAPI: an included router could not be read ({type(exc).__name__}: {exc})")
            return
        for ctx in contexts:
            effective = getattr(ctx, "starlette_route", None) or ctx
            if not getattr(effective, "path", ""):
                self.notes.append(f"FastAPI: an included {type(ctx.original_route).__name__} has no path; not read")
                continue
            self.one(effective, prefix, host, depth + 1)

    def mount(self, route: Any, prefix: str, host: str | None, depth: int) -> None:
        path = prefix + route.path
        sub = getattr(route, "app", None)
        children = getattr(route, "routes", None) or []
        if children:
            self.walk(children, path, host, depth + 1)
            return
        found = self.sub_reader(sub) if self.sub_reader is not None and sub is not None else None
        if found:
            for r in found:
                self.routes.append(
                    Route(path + r.path, r.methods, r.kind, r.name, params_of(path) | r.params, r.host or host)
                )
            return
        # An app we cannot look into: one catch-all route under the prefix.
        static = "StaticFiles" in _class_names(sub)
        catch_all = path + "/{path:path}"
        methods = ("GET",) if static else ("GET", "POST")
        self.routes.append(Route(catch_all, methods, "http", _name(route), params_of(catch_all), host))


def _name(route: Any) -> str:
    name = getattr(route, "name", None)
    return name if isinstance(name, str) else ""


def read(app: Any, sub_reader: SubReader | None = None) -> tuple[list[Route], list[str]]:
    """Routes of a Starlette/FastAPI app (or a bare ``Router``) and notes on what was not read.

    ``sub_reader`` reads an app mounted with ``Mount(app=...)`` that is not a
    Starlette router (a Django or Litestar app mounted inside, say); its
    routes come back relative to the mount.
    """
    walker = _Walker(sub_reader)
    router = getattr(app, "router", app)
    walker.walk(getattr(router, "routes", None) or [], "", None, 0)
    return walker.routes, walker.notes

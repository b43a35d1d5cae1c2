"""Route discovery for ASGI apps of every common framework.

``discover_routes(app)`` reads the app's own routing (Starlette/FastAPI,
Django, Litestar, Quart, Falcon, BlackSheep, Sanic), following middleware
wrappers, and falls back to the OpenAPI document the app serves.  Each
``Route`` is a template in Starlette syntax with its methods and kind, ready
for ``asgifuzz.strategies.http_scopes(route.methods, path=route.path)``.
"""

from __future__ import annotations

from asgifuzz.routes._discover import discover_routes
from asgifuzz.routes._model import KINDS, Route, RouteTable
from asgifuzz.routes._option import parse_path_option
from asgifuzz.routes.openapi import routes_from_openapi

__all__ = ("KINDS", "Route", "RouteTable", "discover_routes", "parse_path_option", "routes_from_openapi")

"""Hypothesis strategies for ASGI fuzzing, installed as ``asgifuzz.strategies``."""

from __future__ import annotations

from ._actions import client_actions as client_actions
from ._lifespan import lifespan_actions as lifespan_actions, lifespan_scopes as lifespan_scopes
from ._scopes import http_scopes as http_scopes, request_bodies as request_bodies
from ._server import server_behaviours as server_behaviours
from ._stacks import middleware_stacks as middleware_stacks
from ._websocket import websocket_actions as websocket_actions, websocket_scopes as websocket_scopes

__all__ = (
    "client_actions",
    "http_scopes",
    "lifespan_actions",
    "lifespan_scopes",
    "middleware_stacks",
    "request_bodies",
    "server_behaviours",
    "websocket_actions",
    "websocket_scopes",
)

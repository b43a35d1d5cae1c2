"""FastAPI's websocket examples from its docs behind the newest Starlette middlewares.

The middlewares (CORS, GZip, TrustedHost, Session, Authentication) pass
every adversarial websocket conversation through unchanged.  The one
error-level finding is on the docs' own handler and is real: a client that
sends a binary frame makes ``receive_text()`` raise ``KeyError: 'text'``
(uvicorn logs "Exception in ASGI application" and drops the connection).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from asgifuzz import fuzz
from asgifuzz._case import WsBytes
from asgifuzz.endpoints_ws import WS_ENDPOINTS


def _app() -> Any:
    from starlette.authentication import AuthCredentials, AuthenticationBackend, SimpleUser
    from starlette.middleware.authentication import AuthenticationMiddleware
    from starlette.middleware.cors import CORSMiddleware
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.middleware.sessions import SessionMiddleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    class Backend(AuthenticationBackend):
        async def authenticate(self, conn: Any) -> Any:
            return AuthCredentials(["authenticated"]), SimpleUser("user")

    app = FastAPI()

    @app.websocket("/ws")
    async def websocket_endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        while True:
            data = await websocket.receive_text()
            await websocket.send_text(f"Message text was: {data}")

    @app.websocket("/ws/{client_id}")
    async def chat(websocket: WebSocket, client_id: int) -> None:
        await websocket.accept()
        try:
            while True:
                data = await websocket.receive_text()
                await websocket.send_text(f"You wrote: {data}")
        except WebSocketDisconnect:
            pass

    app.add_middleware(CORSMiddleware, allow_origins=["*"])
    app.add_middleware(GZipMiddleware)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=["testserver"])
    app.add_middleware(SessionMiddleware, secret_key="secret")
    app.add_middleware(AuthenticationMiddleware, backend=Backend())
    return app


def test_docs_examples_behind_starlette_middlewares() -> None:
    result = fuzz(_app(), endpoints=list(WS_ENDPOINTS), max_examples=400, seed=5, backend="both")
    seen = result.stats.statuses
    assert seen["route WEBSOCKET /ws"].get("101") and seen["route WEBSOCKET /ws/{client_id:int}"].get("101")
    errors = [f for f in result.findings if f.severity == "error"]
    for f in errors:
        assert f.case is not None and f.case.target.startswith("route WEBSOCKET"), (f.code, f.case, f.message)
        assert f.code == "app-raised" and f.message.startswith("KeyError: 'text'"), f.message
        assert any(isinstance(a, WsBytes) for a in f.case.actions)
    assert not [f for f in result.findings if "-> ws_" in (f.case.target if f.case else "")]

"""A FastAPI app whose lifespan sets state, with included routers and a pure-ASGI middleware.

Written as FastAPI's docs show: the ``lifespan`` context manager fills
``app.state`` and yields a state dict (copied into each request's
``request.state``); the routes read both, so an app fuzzed without its
lifespan fails on every request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    app.state.db = {1: {"name": "pen", "price": 1.5}, 2: {"name": "ink", "price": 7.0}}
    yield {"greeting": "hello"}
    app.state.db.clear()


class ServerTiming:
    """A pure ASGI middleware, as Starlette's docs write one: adds a header to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"server-timing", b"app")]
            await send(message)

        await self.app(scope, receive, send_wrapper)


app = FastAPI(lifespan=lifespan)
app.add_middleware(ServerTiming)


@app.get("/")
async def root(request: Request) -> dict[str, Any]:
    return {"greeting": request.state.greeting, "items": len(request.app.state.db)}


items = APIRouter(prefix="/items")


@items.get("/{item_id}")
async def read_item(item_id: int, request: Request) -> dict[str, Any]:
    if item_id < 0:
        raise HTTPException(422, "ids are positive")
    return request.app.state.db.get(item_id, {"name": "unknown", "price": 0.0})


@items.post("/")
async def create_item(request: Request) -> dict[str, int]:
    body = await request.body()
    db = request.app.state.db
    db[len(db) + 1] = {"name": body.decode("latin-1")[:20], "price": 0.0}
    return {"id": len(db)}


admin = APIRouter()


@admin.get("/stats")
async def stats(request: Request) -> dict[str, int]:
    return {"items": len(request.app.state.db)}


@admin.delete("/cache")
async def clear_cache(request: Request) -> dict[str, str]:
    return {"cleared": request.state.greeting}


app.include_router(items)
app.include_router(admin, prefix="/admin")

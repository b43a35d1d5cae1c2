"""A Litestar app: handlers, a Router, a Controller, typed path parameters, a websocket and a mounted ASGI app."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any
from uuid import UUID

from litestar import (
    Controller,
    Litestar,
    MediaType,
    Request,
    Router,
    WebSocket,
    asgi,
    delete,
    get,
    post,
    put,
    websocket,
)
from litestar.config.compression import CompressionConfig
from litestar.response import File, Stream
from litestar.static_files import create_static_files_router
from litestar.types import Receive, Scope, Send

HERE = Path(__file__).resolve().parent


@get("/")
async def index() -> dict[str, str]:
    return {"hello": "world"}


@post("/echo", media_type=MediaType.TEXT)
async def echo(request: Request[Any, Any, Any]) -> bytes:
    return await request.body()


@post("/upload")
async def upload(request: Request[Any, Any, Any]) -> dict[str, int]:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
    return {"size": size}


@get("/numbers")
async def numbers() -> Stream:
    async def gen() -> AsyncGenerator[str, None]:
        for i in range(10):
            yield f"{i}\n"

    return Stream(gen(), media_type=MediaType.TEXT)


@get("/download")
async def download() -> File:
    return File(path=HERE / "__init__.py", filename="init.py")


@get("/boom")
async def boom() -> None:
    raise RuntimeError("boom")


@get("/users/{user_id:int}")
async def read_user(user_id: int) -> dict[str, int]:
    return {"user_id": user_id}


@put("/users/{user_id:int}")
async def update_user(user_id: int, data: dict[str, Any]) -> dict[str, Any]:
    return data


@websocket("/ws")
async def ws(socket: WebSocket[Any, Any, Any]) -> None:
    await socket.accept()
    await socket.send_text(await socket.receive_text())
    await socket.close()


class OrderController(Controller):
    path = "/orders"

    @get("/{order_id:uuid}")
    async def get_order(self, order_id: UUID) -> dict[str, str]:
        return {"order_id": str(order_id)}

    @delete("/{order_id:uuid}")
    async def delete_order(self, order_id: UUID) -> None:
        return None

    @get("/files/{name:path}")
    async def order_file(self, name: Path) -> dict[str, str]:
        return {"name": str(name)}


@asgi("/legacy", is_mount=True)
async def legacy(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"legacy"})


api = Router(path="/api/v1", route_handlers=[OrderController])

app = Litestar(
    route_handlers=[
        index, echo, upload, numbers, download, boom, read_user, update_user, ws, api, legacy,
        create_static_files_router(path="/static", directories=[HERE]),
    ],
    compression_config=CompressionConfig(backend="gzip"),
)  # fmt: skip

"""A FastAPI app with included routers (nested, with prefixes), a websocket and a mounted sub-app."""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi import APIRouter, BackgroundTasks, FastAPI, HTTPException, Request, WebSocket
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel

HERE = Path(__file__).resolve().parent


class Item(BaseModel):
    name: str
    price: float


app = FastAPI(title="shop")
app.add_middleware(GZipMiddleware, minimum_size=100)


@app.get("/")
async def root() -> dict[str, str]:
    return {"hello": "world"}


@app.post("/echo")
async def echo(request: Request) -> dict[str, int]:
    body = await request.body()
    return {"size": len(body)}


@app.post("/upload")
async def upload(request: Request) -> dict[str, int]:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
    return {"size": size}


@app.get("/numbers")
async def numbers() -> StreamingResponse:
    async def gen():  # type: ignore[no-untyped-def]
        for i in range(10):
            yield f"{i}\n"

    return StreamingResponse(gen(), media_type="text/plain")


@app.get("/download")
async def download() -> FileResponse:
    return FileResponse(HERE / "__init__.py")


@app.get("/boom")
async def boom() -> None:
    raise RuntimeError("boom")


@app.websocket("/ws")
async def ws(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(await websocket.receive_text())
    await websocket.close()


items = APIRouter(prefix="/items", tags=["items"])


@items.get("/{item_id}")
async def read_item(item_id: int) -> dict[str, int]:
    if item_id < 0:
        raise HTTPException(404)
    return {"item_id": item_id}


@items.put("/{item_id}")
async def update_item(item_id: int, item: Item, tasks: BackgroundTasks) -> Item:
    tasks.add_task(print, "updated", item_id)
    return item


@items.api_route("/{item_id}/tags", methods=["GET", "POST", "DELETE"])
async def item_tags(item_id: int, request: Request) -> dict[str, str]:
    return {"method": request.method}


orders = APIRouter()


@orders.get("/orders/{order_id}")
async def read_order(order_id: uuid.UUID) -> dict[str, str]:
    return {"order_id": str(order_id)}


@orders.websocket("/orders/{order_id}/live")
async def order_live(websocket: WebSocket, order_id: str) -> None:
    await websocket.accept()
    await websocket.close()


v1 = APIRouter(prefix="/v1")
v1.include_router(orders, prefix="/shop")
app.include_router(items)
app.include_router(v1, prefix="/api")

legacy = FastAPI()


@legacy.get("/ping")
async def ping() -> str:
    return "pong"


app.mount("/legacy", legacy)

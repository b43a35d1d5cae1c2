"""A BlackSheep app: decorated handlers, typed route parameters, a sub-router, a websocket, streaming and a file."""

from __future__ import annotations

from collections.abc import AsyncIterable
from pathlib import Path
from uuid import UUID

from blacksheep import Application, Request, Response, Router, WebSocket, file, json
from blacksheep.contents import Content, StreamedContent

HERE = Path(__file__).resolve().parent

# Routers first, combined at the end with sub_routers, as BlackSheep's docs show.
router = Router()
get, post = router.get, router.post


@get("/")
async def index() -> Response:
    return json({"hello": "world"})


@post("/echo")
async def echo(request: Request) -> Response:
    body = await request.read() or b""
    return Response(200, content=Content(request.content_type() or b"application/octet-stream", body))


@router.route("/upload", methods=["POST", "PUT"])
async def upload(request: Request) -> Response:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
    return json({"size": size})


@get("/numbers")
async def numbers() -> Response:
    async def gen() -> AsyncIterable[bytes]:
        for i in range(10):
            yield f"{i}\n".encode()

    return Response(200, content=StreamedContent(b"text/plain", gen))


@get("/download")
async def download() -> Response:
    return file(str(HERE / "__init__.py"), "text/plain")


@get("/boom")
async def boom() -> Response:
    raise RuntimeError("boom")


@get("/users/{int:user_id}")
async def read_user(user_id: int) -> Response:
    return json({"user_id": user_id})


@router.delete("/users/{int:user_id}")
async def delete_user(user_id: int) -> Response:
    return Response(204)


@get("/orders/:order_id")
async def read_order(order_id: UUID) -> Response:
    return json({"order_id": str(order_id)})


@get("/files/*")
async def files(request: Request) -> Response:
    return json({"tail": request.route_values.get("tail")})


@router.ws("/ws")
async def ws(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(await websocket.receive_text())


shop = Router(prefix="/shop")


@shop.get("/prices/{float:price}")
async def price(price: float) -> Response:
    return json({"price": price})


@shop.patch("/items/{uuid:item_id}")
async def patch_item(item_id: UUID) -> Response:
    return json({"item_id": str(item_id)})


app = Application(router=Router(sub_routers=[router, shop]))

"""A Quart app with a blueprint, typed converters, a websocket, streaming and file responses."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from pathlib import Path

from quart import Blueprint, Quart, Response, jsonify, request, send_file, websocket

HERE = Path(__file__).resolve().parent

app = Quart(__name__, static_folder=None)


@app.get("/")
async def index() -> Response:
    return jsonify(hello="world")


@app.post("/echo")
async def echo() -> bytes:
    return await request.get_data()


@app.route("/upload", methods=["POST", "PUT"])
async def upload() -> Response:
    size = 0
    async for chunk in request.body:
        size += len(chunk)
    return jsonify(size=size)


@app.get("/numbers")
async def numbers() -> Response:
    async def gen() -> AsyncGenerator[bytes, None]:
        for i in range(10):
            yield f"{i}\n".encode()

    return Response(gen(), mimetype="text/plain")


@app.get("/download")
async def download() -> Response:
    return await send_file(HERE / "__init__.py")


@app.get("/boom")
async def boom() -> Response:
    raise RuntimeError("boom")


@app.route("/users/<int:user_id>", methods=["GET", "DELETE"])
async def user(user_id: int) -> Response:
    return jsonify(user_id=user_id)


@app.websocket("/ws")
async def ws() -> None:
    await websocket.send(await websocket.receive())


shop = Blueprint("shop", __name__, url_prefix="/shop")


@shop.get("/orders/<uuid:order_id>")
async def order(order_id: object) -> Response:
    return jsonify(order_id=str(order_id))


@shop.patch("/files/<path:name>")
async def file(name: str) -> Response:
    return jsonify(name=name)


@shop.get("/prices/<float:price>/<name>")
async def price(price: float, name: str) -> Response:
    return jsonify(price=price, name=name)


app.register_blueprint(shop)

"""A Sanic app with a blueprint, typed path parameters, a websocket, streaming request and response, and a file."""

from __future__ import annotations

from pathlib import Path

from sanic import Blueprint, Request, Sanic, Websocket, file, json, text
from sanic.response import ResponseStream

HERE = Path(__file__).resolve().parent

app = Sanic("realapp")


@app.get("/")
async def index(request: Request):  # type: ignore[no-untyped-def]
    return json({"hello": "world"})


@app.post("/echo")
async def echo(request: Request):  # type: ignore[no-untyped-def]
    return text(request.body.decode("latin-1"))


@app.route("/upload", methods=["POST", "PUT"], stream=True)
async def upload(request: Request):  # type: ignore[no-untyped-def]
    size = 0
    while chunk := await request.stream.read():
        size += len(chunk)
    return json({"size": size})


@app.get("/numbers")
async def numbers(request: Request):  # type: ignore[no-untyped-def]
    async def sample(response):  # type: ignore[no-untyped-def]
        for i in range(10):
            await response.write(f"{i}\n")

    return ResponseStream(sample, content_type="text/plain")


@app.get("/download")
async def download(request: Request):  # type: ignore[no-untyped-def]
    return await file(HERE / "__init__.py")


@app.get("/boom")
async def boom(request: Request):  # type: ignore[no-untyped-def]
    raise RuntimeError("boom")


@app.route("/users/<user_id:int>", methods=["GET", "DELETE"])
async def user(request: Request, user_id: int):  # type: ignore[no-untyped-def]
    return json({"user_id": user_id})


@app.get("/articles/<slug:slug>")
async def article(request: Request, slug: str):  # type: ignore[no-untyped-def]
    return json({"slug": slug})


@app.websocket("/ws")
async def ws(request: Request, websocket: Websocket) -> None:
    await websocket.send(await websocket.recv())


shop = Blueprint("shop", url_prefix="/shop")


@shop.get("/orders/<order_id:uuid>")
async def order(request: Request, order_id: object):  # type: ignore[no-untyped-def]
    return json({"order_id": str(order_id)})


@shop.patch("/files/<name:path>")
async def shop_file(request: Request, name: str):  # type: ignore[no-untyped-def]
    return json({"name": name})


@shop.get("/prices/<price:float>/<currency>")
async def price(request: Request, price: float, currency: str):  # type: ignore[no-untyped-def]
    return json({"price": price, "currency": currency})


app.blueprint(shop)

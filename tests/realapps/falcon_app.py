"""A Falcon ASGI app: resources with responders, typed fields, a suffixed resource, a websocket, a sink and static files."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from pathlib import Path

import falcon
import falcon.asgi

HERE = Path(__file__).resolve().parent


class Index:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.media = {"hello": "world"}


class Echo:
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.data = await req.stream.read()
        resp.content_type = req.content_type or falcon.MEDIA_TEXT


class Upload:
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        size = 0
        async for chunk in req.stream:
            size += len(chunk)
        resp.media = {"size": size}

    on_put = on_post


class Numbers:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        async def gen() -> AsyncGenerator[bytes, None]:
            for i in range(10):
                yield f"{i}\n".encode()

        resp.content_type = falcon.MEDIA_TEXT
        resp.stream = gen()


class Download:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.data = (HERE / "__init__.py").read_bytes()


class Boom:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        raise RuntimeError("boom")


class Users:
    """One resource for the collection and (with suffix="item") each user."""

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.media = []

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.media = await req.get_media()
        resp.status = falcon.HTTP_201

    async def on_get_item(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: int) -> None:
        resp.media = {"user_id": user_id}

    async def on_delete_item(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: int) -> None:
        resp.status = falcon.HTTP_204


class Order:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, order_id: object) -> None:
        resp.media = {"order_id": str(order_id)}


class Files:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, name: str) -> None:
        resp.media = {"name": name}


class Chat:
    async def on_websocket(self, req: falcon.asgi.Request, ws: falcon.asgi.WebSocket, room: str) -> None:
        await ws.accept()
        await ws.send_text(await ws.receive_text())


async def legacy_sink(req: falcon.asgi.Request, resp: falcon.asgi.Response, **kwargs: object) -> None:
    resp.media = {"sink": req.path}


app = falcon.asgi.App()
app.add_route("/", Index())
app.add_route("/echo", Echo())
app.add_route("/upload", Upload())
app.add_route("/numbers", Numbers())
app.add_route("/download", Download())
app.add_route("/boom", Boom())
users = Users()
app.add_route("/users", users)
app.add_route("/users/{user_id:int(min=1)}", users, suffix="item")
app.add_route("/orders/{order_id:uuid}", Order())
app.add_route("/files/{name:path}", Files())
app.add_route("/chat/{room}", Chat())
app.add_sink(legacy_sink, prefix="/legacy")
app.add_static_route("/static", str(HERE))

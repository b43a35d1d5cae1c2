"""A Starlette app with plain routes, a Router mount, a mounted Starlette sub-app, StaticFiles and a Host."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Host, Mount, Route, Router, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

HERE = Path(__file__).resolve().parent


async def homepage(request: Request) -> JSONResponse:
    return JSONResponse({"hello": "world"})


async def echo(request: Request) -> Response:
    return Response(await request.body(), media_type=request.headers.get("content-type", "text/plain"))


async def user(request: Request) -> JSONResponse:
    return JSONResponse({"user_id": request.path_params["user_id"]})


async def upload(request: Request) -> JSONResponse:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
    return JSONResponse({"size": size})


async def numbers(request: Request) -> StreamingResponse:
    async def gen():  # type: ignore[no-untyped-def]
        for i in range(10):
            yield f"{i}\n"

    return StreamingResponse(gen(), media_type="text/plain")


async def download(request: Request) -> FileResponse:
    return FileResponse(HERE / "__init__.py")


async def boom(request: Request) -> Response:
    raise RuntimeError("boom")


class Item(HTTPEndpoint):
    async def get(self, request: Request) -> JSONResponse:
        return JSONResponse({"item": str(request.path_params["item_id"])})

    async def put(self, request: Request) -> JSONResponse:
        return JSONResponse({"item": str(request.path_params["item_id"]), "updated": True})


async def ws(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(await websocket.receive_text())
    await websocket.close()


async def admin_home(request: Request) -> PlainTextResponse:
    return PlainTextResponse("admin")


async def api_status(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


admin = Starlette(routes=[Route("/", admin_home), Route("/files/{rest:path}", admin_home, methods=["GET", "DELETE"])])
api = Router(routes=[Route("/status", api_status), Route("/orders/{order_id:uuid}", api_status, methods=["PATCH"])])

app = Starlette(
    routes=[
        Route("/", homepage),
        Route("/echo", echo, methods=["POST"]),
        Route("/users/{user_id:int}", user, name="user"),
        Route("/upload", upload, methods=["POST", "PUT"]),
        Route("/numbers", numbers),
        Route("/download", download),
        Route("/boom", boom),
        Route("/items/{item_id:float}", Item),
        WebSocketRoute("/ws", ws),
        Mount("/api/{version}", routes=[Mount("/v", app=api)]),
        Mount("/admin", app=admin),
        Mount("/static", app=StaticFiles(directory=HERE), name="static"),
        Host("{tenant}.example.com", app=Router(routes=[Route("/tenant", homepage)]), name="tenant"),
    ],
    middleware=[Middleware(GZipMiddleware, minimum_size=100)],
)

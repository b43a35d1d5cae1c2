"""A small Flask app served through the two WSGI adapters users put in front of it, and a plain ASGI twin.

``a2wsgi_app`` (a2wsgi's ``WSGIMiddleware``) and ``asgiref_app`` (asgiref's
``WsgiToAsgi``) run Flask's sync views in worker threads that talk to the
event loop; ``asgi_app`` answers the same paths in pure Starlette, the
baseline for the rate comparison.
"""

from __future__ import annotations

from a2wsgi import WSGIMiddleware
from asgiref.wsgi import WsgiToAsgi
from flask import Flask, Response, jsonify, request
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route

flask_app = Flask(__name__)


@flask_app.get("/")
def index() -> Response:
    return jsonify(hello="world")


@flask_app.post("/echo")
def echo() -> bytes:
    return request.get_data()


@flask_app.route("/upload", methods=["POST", "PUT"])
def upload() -> Response:
    size = 0
    while chunk := request.stream.read(4096):
        size += len(chunk)
    return jsonify(size=size)


@flask_app.get("/numbers")
def numbers() -> Response:
    return Response((f"{i}\n" for i in range(10)), mimetype="text/plain")


@flask_app.get("/boom")
def boom() -> Response:
    raise RuntimeError("boom")


@flask_app.errorhandler(500)
def on_500(error: Exception) -> tuple[str, int]:
    return "internal error", 500


a2wsgi_app = WSGIMiddleware(flask_app)
asgiref_app = WsgiToAsgi(flask_app)


async def _index(request: Request) -> JSONResponse:
    return JSONResponse({"hello": "world"})


async def _echo(request: Request) -> PlainTextResponse:
    return PlainTextResponse(await request.body())


async def _upload(request: Request) -> JSONResponse:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
    return JSONResponse({"size": size})


async def _numbers(request: Request) -> StreamingResponse:
    async def gen():  # type: ignore[no-untyped-def]
        for i in range(10):
            yield f"{i}\n"

    return StreamingResponse(gen(), media_type="text/plain")


async def _boom(request: Request) -> PlainTextResponse:
    return PlainTextResponse("internal error", status_code=500)


asgi_app = Starlette(
    routes=[
        Route("/", _index),
        Route("/echo", _echo, methods=["POST"]),
        Route("/upload", _upload, methods=["POST", "PUT"]),
        Route("/numbers", _numbers),
        Route("/boom", _boom),
    ]
)

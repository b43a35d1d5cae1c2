"""Tiny ASGI apps for the test suite: correct ones, and one broken app per invariant.

Each broken app's docstring names the invariant code it must trigger.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from typing import Any

import anyio
import anyio.lowlevel

from asgifuzz._types import Receive, Scope, Send

# ------------------------------------------------------------------ correct



def http_only(app: Any) -> Any:
    """An HTTP-only app raises for other scope types (the spec's way to say "lifespan unsupported")."""

    @functools.wraps(app)
    async def wrapper(scope: Scope, receive: Receive, send: Send) -> Any:
        if scope["type"] != "http":
            raise NotImplementedError(f"{scope['type']!r} scopes are not supported")
        return await app(scope, receive, send)

    return wrapper


@http_only
async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """A correct pure-ASGI echo: reads the whole body, then sends it back."""
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/octet-stream"), (b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body})


class PureASGIPassThrough:
    """A well-behaved pure-ASGI middleware that wraps send and receive."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def wrapped_receive() -> Any:
            return await receive()

        async def wrapped_send(message: Any) -> None:
            await send(message)

        await self.app(scope, wrapped_receive, wrapped_send)


def starlette_app(*middleware: Any) -> Any:
    """Newest Starlette with some routes, behind ``middleware``."""
    from starlette.applications import Starlette
    from starlette.background import BackgroundTask
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
    from starlette.routing import Route

    async def home(request: Request) -> PlainTextResponse:
        return PlainTextResponse("home")

    async def item(request: Request) -> JSONResponse:
        return JSONResponse({"id": request.path_params["item_id"]})

    async def upload(request: Request) -> PlainTextResponse:
        body = await request.body()
        return PlainTextResponse(f"{len(body)} bytes", background=BackgroundTask(anyio.sleep, 0.5))

    async def stream(request: Request) -> StreamingResponse:
        async def gen() -> Any:
            for i in range(3):
                yield b"part %d\n" % i
                await anyio.sleep(0.5)

        return StreamingResponse(gen(), media_type="text/plain")

    return Starlette(
        routes=[
            Route("/", home),
            Route("/items/{item_id:int}", item),
            Route("/upload", upload, methods=["POST"]),
            Route("/stream", stream),
        ],
        middleware=list(middleware),
    )


def _auth_backend() -> Any:
    from starlette.authentication import AuthCredentials, AuthenticationBackend, SimpleUser

    class Backend(AuthenticationBackend):
        async def authenticate(self, conn: Any) -> Any:
            if "authorization" not in conn.headers:
                return None
            return AuthCredentials(["authenticated"]), SimpleUser("user")

    return Backend()


def exception_handling_app() -> Any:
    """Newest Starlette with exception handlers (HTTPException and 500)."""
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def missing(request: Request) -> PlainTextResponse:
        raise HTTPException(status_code=404, detail="nothing here")

    async def handle_http(request: Request, exc: Exception) -> PlainTextResponse:
        return PlainTextResponse("handled", status_code=getattr(exc, "status_code", 400))

    return Starlette(routes=[Route("/missing", missing)], exception_handlers={HTTPException: handle_http})


def correct_starlette_apps() -> dict[str, Any]:
    """Newest Starlette, one app per pure-ASGI middleware it ships."""
    from starlette.middleware import Middleware
    from starlette.middleware.authentication import AuthenticationMiddleware
    from starlette.middleware.cors import CORSMiddleware
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.middleware.sessions import SessionMiddleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    return {
        "exception-handling": exception_handling_app(),
        "gzip": starlette_app(Middleware(GZipMiddleware, minimum_size=10)),
        "cors": starlette_app(Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"])),
        "trusted-host": starlette_app(Middleware(TrustedHostMiddleware, allowed_hosts=["testserver"])),
        "session": starlette_app(Middleware(SessionMiddleware, secret_key="not-a-secret")),
        "authentication": starlette_app(Middleware(AuthenticationMiddleware, backend=_auth_backend())),
        "all-of-them": starlette_app(
            Middleware(TrustedHostMiddleware, allowed_hosts=["*"]),
            Middleware(CORSMiddleware, allow_origins=["*"]),
            Middleware(GZipMiddleware, minimum_size=10),
            Middleware(SessionMiddleware, secret_key="not-a-secret"),
            Middleware(PureASGIPassThrough),
        ),
    }


def fastapi_app() -> Any:
    from fastapi_app import app

    return app


# ------------------------------------------------------------------- broken


async def _drain(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            return


@http_only
async def double_start(scope: Scope, receive: Receive, send: Send) -> None:
    """duplicate-response-start: an error handler that answers 500 after the start."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.start", "status": 500, "headers": []})
    await send({"type": "http.response.body", "body": b"oops"})


@http_only
async def body_first(scope: Scope, receive: Receive, send: Send) -> None:
    """body-before-response-start."""
    await send({"type": "http.response.body", "body": b"early"})


@http_only
async def after_complete(scope: Scope, receive: Receive, send: Send) -> None:
    """message-after-response-complete."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"done"})
    await send({"type": "http.response.body", "body": b"again"})


@http_only
async def not_a_dict(scope: Scope, receive: Receive, send: Send) -> None:
    """invalid-message."""
    await send(["http.response.start", 200])  # type: ignore[arg-type]


@http_only
async def unknown_type(scope: Scope, receive: Receive, send: Send) -> None:
    """unknown-message-type: a debug message the server never advertised."""
    await send({"type": "http.response.debug", "info": {}})


@http_only
async def trailers_unannounced(scope: Scope, receive: Receive, send: Send) -> None:
    """extension-misuse: an early hint after the start (advertised extension)."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.early_hint", "links": [b"</style.css>; rel=preload"]})
    await send({"type": "http.response.body", "body": b""})


@http_only
async def bad_status(scope: Scope, receive: Receive, send: Send) -> None:
    """invalid-status."""
    await send({"type": "http.response.start", "status": "200", "headers": []})
    await send({"type": "http.response.body", "body": b""})


@http_only
async def str_body(scope: Scope, receive: Receive, send: Send) -> None:
    """invalid-body."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": "text"})


@http_only
async def str_headers(scope: Scope, receive: Receive, send: Send) -> None:
    """invalid-headers: str header names, as h11 accepts and others do not."""
    await send({"type": "http.response.start", "status": 200, "headers": [("content-type", "text/plain")]})
    await send({"type": "http.response.body", "body": b""})


@http_only
async def split_header(scope: Scope, receive: Receive, send: Send) -> None:
    """invalid-headers: CR/LF in a value (response splitting)."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-a", b"1\r\nx-b: 2")]})
    await send({"type": "http.response.body", "body": b""})


@http_only
async def wrong_length(scope: Scope, receive: Receive, send: Send) -> None:
    """content-length-mismatch: declares 10 bytes and sends 4."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"10")]})
    await send({"type": "http.response.body", "body": b"four"})


@http_only
async def body_204(scope: Scope, receive: Receive, send: Send) -> None:
    """body-forbidden."""
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b"nope"})


@http_only
async def no_response(scope: Scope, receive: Receive, send: Send) -> None:
    """response-incomplete: returns without answering."""
    await _drain(receive)


@http_only
async def raises_on_disconnect(scope: Scope, receive: Receive, send: Send) -> None:
    """exception-on-disconnect: treats the disconnect as impossible."""
    message = await receive()
    if message["type"] == "http.disconnect":
        raise RuntimeError("client went away")
    await _drain(receive) if message.get("more_body") else None
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@http_only
async def raises(scope: Scope, receive: Receive, send: Send) -> None:
    """app-raised."""
    raise ValueError("bug in the app")


@http_only
async def hangs(scope: Scope, receive: Receive, send: Send) -> None:
    """app-hang: waits on an event nobody sets."""
    await anyio.Event().wait()


@http_only
async def spins(scope: Scope, receive: Receive, send: Send) -> None:
    """app-hang: never blocks."""
    while True:
        await anyio.lowlevel.checkpoint()


@http_only
async def leaks_task(scope: Scope, receive: Receive, send: Send) -> None:
    """task-leak: fire-and-forget work outlives the request (asyncio only)."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})
    asyncio.get_running_loop().create_task(asyncio.sleep(3600))


@http_only
async def returns_value(scope: Scope, receive: Receive, send: Send) -> Any:
    """returned-non-none."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})
    return "done"


@http_only
async def receive_twice_after_disconnect(scope: Scope, receive: Receive, send: Send) -> None:
    """receive-after-disconnect (hypercorn/daphne profiles)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            await receive()
            return
        if not message.get("more_body", False):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@http_only
async def receives_after_the_body(scope: Scope, receive: Receive, send: Send) -> None:
    """request-deadlock: asks for more after the final body, before answering."""
    await _drain(receive)
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@http_only
async def upper_case_header(scope: Scope, receive: Receive, send: Send) -> None:
    """header-name-case: tolerated by every real server, a warning."""
    await _drain(receive)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"X-Request-Id", b"1")]})
    await send({"type": "http.response.body", "body": b"ok"})


# ------------------------------------------------- broken middleware (transparency)


def drops_first_chunk(app: Any) -> Any:
    """request-body-altered: loses the first request chunk."""

    async def mw(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # as real middleware: other protocols pass through
            await app(scope, receive, send)
            return
        first = [True]

        async def wrapped() -> Any:
            message = await receive()
            if first[0] and message["type"] == "http.request" and message.get("more_body"):
                first[0] = False
                message = dict(message, body=b"")
            return message

        await app(scope, wrapped, send)

    return mw


def hides_disconnect(app: Any) -> Any:
    """disconnect-hidden: once the body is read, never forwards the disconnect."""

    async def mw(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # as real middleware: other protocols pass through
            await app(scope, receive, send)
            return
        async def wrapped() -> Any:
            message = await receive()
            if message["type"] == "http.disconnect":
                await anyio.sleep(3600)
            return message

        await app(scope, wrapped, send)

    return mw


def cancels_after_response(app: Any) -> Any:
    """background-task-lost: cancels the app as soon as the response is complete."""

    async def mw(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # as real middleware: other protocols pass through
            await app(scope, receive, send)
            return
        async with anyio.create_task_group() as tg:

            async def wrapped(message: Any) -> None:
                await send(message)
                if message["type"] == "http.response.body" and not message.get("more_body", False):
                    tg.cancel_scope.cancel()

            await app(scope, receive, wrapped)

    return mw


def buffers_until_return(app: Any) -> Any:
    """background-task-before-response, stream-buffered, response-lost-behind-stack:
    holds every response message until the app returns, drops them if it raises."""

    async def mw(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # as real middleware: other protocols pass through
            await app(scope, receive, send)
            return
        held: list[Any] = []

        async def wrapped(message: Any) -> None:
            held.append(message)

        await app(scope, receive, wrapped)
        for message in held:
            await send(message)

    return mw


def swallows_exceptions(app: Any) -> Any:
    """exception-swallowed."""

    async def mw(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # as real middleware: other protocols pass through
            await app(scope, receive, send)
            return
        with contextlib.suppress(Exception):
            await app(scope, receive, send)

    return mw

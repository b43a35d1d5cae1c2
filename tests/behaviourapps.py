"""Apps for issue 12's class 5 (server behaviours), importable in the pinned virtualenvs (Starlette >= 0.18).

``file_behind_gzip`` is the user's own Starlette app: a route that answers
with a ``FileResponse`` behind ``GZipMiddleware``.  Starlette 0.36.0-0.38.0's
FileResponse sends ``http.response.pathsend`` when the server offers the
extension (granian does; uvicorn does not), and that release's
GZipMiddleware, which holds ``http.response.start`` until it sees the first
body, knows only ``http.response.body``: it drops the pathsend message and
never sends the start, so a client that accepts gzip gets no response at all
(Kludex/starlette#2649 reverted pathsend in 0.38.1; 0.47.0 brought it back
with GZipMiddleware passing it on).  Only a server that offers pathsend
shows it.

``file_behind_header_middleware`` is the hand-written correct twin: a pure
ASGI middleware that also holds the response start (to add a header) and
sends it with whatever message comes next, pathsend included.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import FileResponse
from starlette.routing import Route

#: Served by the route: this file (a text file well past GZipMiddleware's minimum size).
SERVED = Path(__file__)


async def download(request: Any) -> FileResponse:
    return FileResponse(SERVED, media_type="text/plain")


class ServedBy:
    """Holds the response start to add a header, and sends it before any other message (pathsend too)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: list[Any] = []

        async def sender(message: Any) -> None:
            if message["type"] == "http.response.start":
                held.append(message)
                return
            if held:
                start = held.pop()
                start["headers"] = [*start.get("headers", []), (b"x-served-by", b"asgifuzz-twin")]
                await send(start)
            await send(message)

        await self.app(scope, receive, sender)


#: Class 5, Starlette 0.36.0-0.38.0: GZipMiddleware drops a FileResponse's pathsend (and the held start).
file_behind_gzip = Starlette(
    routes=[Route("/download", download)], middleware=[Middleware(GZipMiddleware, minimum_size=100)]
)
#: Its correct twin: a middleware that holds the start too, and passes pathsend on.
file_behind_header_middleware = Starlette(routes=[Route("/download", download)], middleware=[Middleware(ServedBy)])

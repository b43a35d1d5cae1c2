"""A Starlette app that serves a file read with aiofiles (its reads run in the loop's executor threads)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiofiles
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

HERE = Path(__file__).resolve().parent


async def download(request: Request) -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        async with aiofiles.open(HERE / "__init__.py", "rb") as f:
            while chunk := await f.read(64):
                yield chunk

    return StreamingResponse(chunks(), media_type="text/plain")


async def whole(request: Request) -> Response:
    async with aiofiles.open(HERE / "django_app.py", "rb") as f:
        return Response(await f.read(), media_type="text/plain")


app = Starlette(routes=[Route("/download", download), Route("/whole", whole)])

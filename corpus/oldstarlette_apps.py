"""Apps the committed corpus cases refer to (``oldstarlette_apps:<name>``).

They import only Starlette, so they load on any release: the cases replay as
"still failing" on the vulnerable pins and "passing" on the fixed ones
(``tests/test_corpus.py`` checks both).  ``regenerate.py`` re-creates the
cases by fuzzing these apps in the pinned virtualenvs.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route


class PassThrough(BaseHTTPMiddleware):
    async def dispatch(self, request: Any, call_next: Any) -> Any:
        return await call_next(request)


async def homepage(request: Any) -> PlainTextResponse:
    return PlainTextResponse("hello")


#: The seed bug: five pass-through BaseHTTPMiddleware layers; on starlette
#: 0.28.0 to 0.38.2 a client disconnect raises "RuntimeError: No response
#: returned." (encode/starlette#2516).
five_passthrough = Starlette(
    routes=[Route("/", homepage)], middleware=[Middleware(PassThrough) for _ in range(5)]
)

#: The same bug with a single layer.
one_passthrough = Starlette(routes=[Route("/", homepage)], middleware=[Middleware(PassThrough)])

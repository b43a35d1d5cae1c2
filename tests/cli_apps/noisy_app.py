"""A FastAPI service whose middleware logs every exception, as many real services do.

asgifuzz raises deliberate exceptions into the app (a client that went away,
a cancelled request); this middleware logs each with its traceback, and
prints a line per request.  Before the app's output was captured, those
lines went over asgifuzz's live panel and into every pytest failure.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

logging.basicConfig(level=logging.INFO)
log = logging.getLogger("service.errors")

app = FastAPI()


class LogEveryException(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        print(f"request {request.method} {request.url.path}")
        try:
            return await call_next(request)
        except Exception:
            log.exception("unhandled error in %s %s", request.method, request.url.path)
            raise


app.add_middleware(LogEveryException)


@app.post("/items")
async def create(request: Request) -> dict[str, int]:
    body = await request.body()
    if body.startswith(b"{"):
        raise ValueError("planted bug: a body starting with '{' is not handled")
    return {"size": len(body)}


@app.get("/")
async def root() -> dict[str, str]:
    return {"hello": "world"}

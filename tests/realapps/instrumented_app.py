"""A FastAPI app wrapped in what users add for production: metrics, a rate limiter and error reporting.

prometheus-fastapi-instrumentator (its middleware registers its metrics in
the default registry when constructed: built twice, it dies), slowapi
(its middleware reads the limiter from ``app.state.limiter``) and sentry-sdk
(its Starlette/FastAPI integrations patch ``Starlette.__call__`` and the
middleware classes).  Sentry gets a transport that drops every envelope:
nothing leaves the process.
"""

from __future__ import annotations

from typing import Any

import sentry_sdk
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from prometheus_fastapi_instrumentator import Instrumentator
from sentry_sdk.integrations.fastapi import FastApiIntegration
from sentry_sdk.integrations.starlette import StarletteIntegration
from sentry_sdk.transport import Transport
from slowapi import Limiter, _rate_limit_exceeded_handler
from slowapi.errors import RateLimitExceeded
from slowapi.middleware import SlowAPIASGIMiddleware
from slowapi.util import get_remote_address


class DropTransport(Transport):
    def capture_envelope(self, envelope: Any) -> None:
        pass


sentry_sdk.init(
    dsn="http://key@127.0.0.1:9/1",  # loopback discard port; the transport below never sends anyway
    transport=DropTransport,
    integrations=[StarletteIntegration(), FastApiIntegration()],
    traces_sample_rate=1.0,
    default_integrations=False,
)

limiter = Limiter(key_func=get_remote_address, default_limits=["10000/minute"])
app = FastAPI()
app.state.limiter = limiter
app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)  # type: ignore[arg-type]
app.add_middleware(SlowAPIASGIMiddleware)


@app.get("/")
async def root() -> dict[str, str]:
    return {"hello": "world"}


@app.post("/echo")
async def echo(request: Request) -> dict[str, int]:
    return {"size": len(await request.body())}


@app.get("/numbers")
async def numbers() -> StreamingResponse:
    async def gen():  # type: ignore[no-untyped-def]
        for i in range(3):
            yield f"{i}\n"

    return StreamingResponse(gen(), media_type="text/plain")


@app.get("/limited")
@limiter.limit("5/minute")
async def limited(request: Request) -> dict[str, bool]:
    return {"ok": True}


Instrumentator().instrument(app).expose(app)

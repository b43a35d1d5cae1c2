"""A correct FastAPI app (module level, so FastAPI can resolve its annotations)."""

from __future__ import annotations

import anyio
from fastapi import BackgroundTasks, FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware

app = FastAPI()
app.add_middleware(GZipMiddleware, minimum_size=10)


@app.get("/")
async def root() -> dict[str, str]:
    return {"hello": "world"}


@app.get("/sync")
def sync_root() -> dict[str, str]:
    return {"sync": "yes"}


@app.post("/items")
async def create(request: Request, tasks: BackgroundTasks) -> dict[str, int]:
    body = await request.body()
    tasks.add_task(anyio.sleep, 0.1)
    return {"size": len(body)}

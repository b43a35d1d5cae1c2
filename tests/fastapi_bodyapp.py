"""fastapi/fastapi#13111 (open): a body model's route answers 500 to a body that is not UTF-8.

Without a JSON content type FastAPI validates the raw bytes, and its 422
handler's ``jsonable_encoder`` decodes them as UTF-8: ``UnicodeDecodeError``
escapes the app.  (Module level: FastAPI resolves the model's name here.)
"""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel


class Item(BaseModel):
    name: str
    price: float


app = FastAPI()


@app.post("/items")
async def create(item: Item) -> Item:
    return item

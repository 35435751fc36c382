"""A FastAPI application behind API Gateway's HTTP API, adapted to Lambda by Mangum: path and
query parameters, a JSON body validated by a pydantic model, and FastAPI's 422 for a bad one."""

from fastapi import FastAPI
from mangum import Mangum
from pydantic import BaseModel, Field

app = FastAPI(title="items")


class Item(BaseModel):
    name: str = Field(min_length=1)
    price: float = Field(gt=0)
    tags: list[str] = []


@app.put("/items/{item_id}")
def put_item(item_id: int, item: Item, currency: str = "EUR") -> dict[str, object]:
    return {"id": item_id, "name": item.name, "gross": round(item.price * 1.2, 2),
            "currency": currency, "tags": sorted(item.tags)}


handler = Mangum(app, lifespan="off")

"""A function with medium-sized dependencies, imported at init as real functions do."""

import orjson
import pydantic
import requests
import yaml


class Order(pydantic.BaseModel):
    id: int
    items: list[str] = []


def handler(event, context):
    order = Order(id=int(event.get("id", 1)) if isinstance(event, dict) else 1)
    prepared = requests.Request("GET", "https://example.com/", params={"id": order.id}).prepare()
    return {
        "order": orjson.loads(orjson.dumps(order.model_dump())),
        "yaml": yaml.safe_dump({"id": order.id}),
        "url": prepared.url,
    }

"""Validate: native wheels (pydantic's core is a compiled extension), x86_64 or arm64."""

import pydantic


class Order(pydantic.BaseModel):
    id: int
    items: list[str] = []


def handler(event, context):
    order = Order.model_validate(event if isinstance(event, dict) and event else {"id": 1})
    return {"function": "validate", "pydantic": pydantic.VERSION, "order": order.model_dump()}

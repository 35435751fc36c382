"""Validate an order with pydantic v2 (its core is compiled Rust): constrained fields, a
nested list, a computed total, JSON-mode dumps, and the errors of a bad order as a client
would get them."""

from datetime import datetime
from decimal import Decimal

import pydantic_core
from pydantic import VERSION, BaseModel, Field, ValidationError, computed_field


class Line(BaseModel):
    sku: str = Field(pattern=r"^[A-Z]{3}-\d{4}$")
    quantity: int = Field(gt=0)
    unit_price: Decimal = Field(decimal_places=2)


class Order(BaseModel):
    id: int
    placed: datetime
    lines: list[Line] = Field(min_length=1)

    @computed_field
    def total(self) -> Decimal:
        return sum((line.unit_price * line.quantity for line in self.lines), Decimal("0"))


def handler(event, context):
    order = Order.model_validate(event["order"])
    try:
        Order.model_validate(event["bad_order"])
        errors = []
    except ValidationError as exc:
        errors = [{"loc": list(e["loc"]), "type": e["type"]} for e in exc.errors()]
    return {
        "order": order.model_dump(mode="json"),
        "errors": errors,
        "pydantic": VERSION,
        "core": pydantic_core.__version__,
    }

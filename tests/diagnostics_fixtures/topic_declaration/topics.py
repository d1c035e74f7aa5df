"""Topic declarations the build cannot use, and one topic name given two message types."""

from collections.abc import Callable
from typing import Any, TypedDict

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, post, topic


class OrderPlaced(TypedDict):
    order: str


class Refund(TypedDict):
    amount: int


NAME = "orders.placed"

COMPUTED = topic(NAME, OrderPlaced)  # E: GATI745
NO_TYPE = topic("orders.untyped")  # E: GATI745
ANYTHING = topic("orders.any", Any)  # E: GATI745
CALLBACKS = topic("orders.callbacks", Callable[[int], int])  # E: GATI110
PLACED = topic("orders", OrderPlaced)
PLACED_AGAIN = topic("orders", OrderPlaced)
REFUNDED = topic("orders", Refund)  # E: GATI746


@post("/orders")
async def place(req: Request[OrderPlaced], res: Response[OrderPlaced], lctx: LocalContext, gctx: GlobalContext) -> None:
    await gctx.publish(PLACED, req.body)
    res.json(req.body)

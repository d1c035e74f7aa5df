"""The committed contract: `qty` is an integer."""

from typing import TypedDict

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, post


class Order(TypedDict):
    qty: int


@post("/orders")
async def create(req: Request[Order], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None:
    pass

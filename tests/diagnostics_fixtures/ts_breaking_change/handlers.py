"""The working tree: `qty` became a string, which old clients do not send."""

from typing import TypedDict

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, post


class Order(TypedDict):
    qty: str


@post("/orders")
async def create(req: Request[Order], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None:  # E: GATI727
    pass

"""Declared path parameter types that disagree with the path's converters."""

from typing import TypedDict
from uuid import UUID

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get


class UserParams(TypedDict):
    id: str


class OrderParams(TypedDict):
    id: UUID


@get("/users/{id:int}")
async def get_user(req: Request[None, None, UserParams], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:  # E: GATI308
    res.json("x")


@get("/orders/{id}")
async def get_order(req: Request[None, None, OrderParams], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:  # E: GATI308
    res.json("x")


@get("/orders/{id:uuid}")
async def fine(req: Request[None, None, OrderParams], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")

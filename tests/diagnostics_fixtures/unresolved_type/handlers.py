"""Handlers naming types that do not exist."""

import models
from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get, post


@get("/users")
async def list_users(req: Request[None], res: Response[list[Usr]], lctx: LocalContext, gctx: GlobalContext) -> None:  # E: GATI201
    res.json([])


@get("/books")
async def list_books(req: Request[None], res: Response[list[models.Book]], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json([])


@post("/books")
async def add_book(
    req: Request[models.NewBook],  # E: GATI201
    res: Response[None],
    lctx: LocalContext,
    gctx: GlobalContext,
) -> None:
    res.empty()

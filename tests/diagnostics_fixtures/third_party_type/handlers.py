"""Third-party types, directly in a handler signature and through a model."""

import sqlalchemy
from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get

from models import Unit


@get("/units")
async def list_units(req: Request[None], res: Response[list[Unit]], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json([])


@get("/engine")
async def engine(
    req: Request[None],
    res: Response[sqlalchemy.Engine],  # E: GATI202
    lctx: LocalContext,
    gctx: GlobalContext,
) -> None:
    res.json(None)

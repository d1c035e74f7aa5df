"""A handler whose response reaches the alias cycle."""

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get

from models import Box


@get("/box")
async def get_box(req: Request[None], res: Response[Box], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json({"content": 1, "tree": 1})

"""A second module reusing a function name (the default id) and an explicit id."""

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get


@get("/vendors")
async def list_items(req: Request[None], res: Response[list[str]], lctx: LocalContext, gctx: GlobalContext) -> None:  # E: GATI301
    res.json([])


@get("/vendors/me", id="me")
async def current_vendor(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:  # E: GATI301
    res.json("me")

"""The first handlers to claim their ids."""

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get


@get("/users")
async def list_items(req: Request[None], res: Response[list[str]], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json([])


@get("/users/me", id="me")
async def current_user(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("me")

"""A well-formed handler module next to the broken one, with a mistake of its own."""

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get


@get("/fine")
async def fine(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("ok")


@get("/users")
async def list_users(
    req: Request[None],
    res: Response[list[Usr]],  # E: GATI201
    lctx: LocalContext,
    gctx: GlobalContext,
) -> None:
    res.json([])

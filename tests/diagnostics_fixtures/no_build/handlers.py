"""A clean app: the diagnostics of this case are about its build folder."""

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get


@get("/ping")
async def ping(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("pong")

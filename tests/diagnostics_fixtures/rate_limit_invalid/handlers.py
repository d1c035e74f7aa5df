"""Rate limits that are not `N/unit`."""

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get


@get("/a", rate_limit="100 per minute")  # E: GATI105
async def a(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/b", rate_limit="10/fortnight")  # E: GATI105
async def b(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/c", rate_limit="0/minute")  # E: GATI105
async def c(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/d", rate_limit="")  # E: GATI105
async def d(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/fine", rate_limit="1000 / 1 hour")
async def fine(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/also-fine", rate_limit="10/5s")
async def also_fine(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")

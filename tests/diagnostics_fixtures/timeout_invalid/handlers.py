"""Timeouts that are not positive numbers of seconds."""

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, after, get


@after(timeout=0)  # E: GATI112
async def log(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None:
    pass


@get("/negative", timeout=-1)  # E: GATI112
async def negative(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/zero", timeout=0.0, after=[log])  # E: GATI112
async def zero(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/text", timeout="2s")  # E: GATI104
async def text(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/fine", timeout=2.5)
async def fine(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")

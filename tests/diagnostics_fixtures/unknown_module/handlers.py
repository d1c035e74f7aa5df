"""Handlers that depend on modules no class declares: a warning, the build still succeeds."""

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get


@get("/a")
async def by_subscript(req: Request[None], res: Response[bool], lctx: LocalContext, gctx: GlobalContext) -> None:  # W: GATI307
    res.json(await gctx.modules["dbb"].ping())


@get("/b", modules=["mailer"])
async def by_decorator(req: Request[None], res: Response[bool], lctx: LocalContext, gctx: GlobalContext) -> None:  # W: GATI307
    res.json(True)


@get("/c")
async def by_attribute(req: Request[None], res: Response[bool], lctx: LocalContext, g: GlobalContext) -> None:  # W: GATI307
    res.json(await g.modules.queue.ping())


@get("/fine")
async def fine(req: Request[None], res: Response[bool], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json(await gctx.modules.db.ping())

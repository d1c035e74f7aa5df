from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get


@get("/count")
async def count(req: Request[None], res: Response[int], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json(await gctx.modules.db.count("rows"))

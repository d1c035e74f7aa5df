"""A handler module with a syntax error: it is reported, and the other files are still analysed."""

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get


@get("/broken")
async def broken(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext -> None:  # E: GATI101
    res.json("never parsed")

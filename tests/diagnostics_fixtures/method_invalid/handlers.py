"""HTTP methods that do not exist."""

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, handler


@handler("FETCH", "/users")  # E: GATI111
async def fetch(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@handler(method="", path="/empty")  # E: GATI111
async def empty(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@handler("patch", "/users")
async def lower_case_is_fine(req: Request[str], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")

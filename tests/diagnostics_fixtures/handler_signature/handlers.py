"""Handlers whose signatures are wrong: arity, annotations, return type."""

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get


@get("/two")
async def two_args(req: Request[None], res: Response[str]) -> None:  # E: GATI103
    res.json("x")


@get("/unannotated")
async def unannotated(req, res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:  # E: GATI103
    res.json("x")


@get("/swapped")
async def swapped(
    req: Request[None],
    res: Response[str],
    lctx: GlobalContext,  # E: GATI103
    gctx: LocalContext,
) -> None:
    res.json("x")


@get("/returns")
async def returns_int(
    req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext
) -> int:  # E: GATI103
    return 1


@get("/kwonly")
async def kwonly(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext, *, extra: int) -> None:  # E: GATI103
    res.json("x")


@get("/fine")
async def fine(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext, *, extra: int = 1) -> None:
    res.json("x")

"""Decorator arguments gati cannot read statically, or does not know."""

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, before, get, handler, post

ROLES = ["admin"]


@before(timeout=1.0, attempts=3)  # E: GATI104
async def check(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None:
    pass


@before(2)  # E: GATI104
async def positional(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None:
    pass


@get("/roles", roles=ROLES)  # E: GATI104
async def roles(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/unknown", cache=True)  # E: GATI104
async def unknown_option(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get  # E: GATI104
async def bare(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@handler("/no-method")  # E: GATI104
async def no_method(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@post("/created", status=404)  # E: GATI104
async def wrong_status(req: Request[str], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/computed/" + "path")  # E: GATI104
async def computed_path(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/tags", tags="users")  # E: GATI104
async def tags(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/hooked", before=[check])
async def hooked(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")

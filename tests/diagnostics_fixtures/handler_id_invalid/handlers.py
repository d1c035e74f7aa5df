"""Handler ids that cannot name a manifest file or an SDK function."""

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get


@get("/escape", id="../escape")  # E: GATI114
async def escape(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/spaces", id="list users")  # E: GATI114
async def spaces(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/empty", id="")  # E: GATI114
async def empty(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/dots", id="users..list")  # E: GATI114
async def dots(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/digit", id="2fa.verify")  # E: GATI114
async def digit(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/fine", id="users.list-all")
async def fine(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/unicode")
async def café(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("a function name is always a valid id")


@get("/trailing", id="users.")  # E: GATI114
async def trailing(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")

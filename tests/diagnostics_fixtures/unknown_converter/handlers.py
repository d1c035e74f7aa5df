"""Path converters gati does not know."""

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get, handler


@get("/users/{id:uuid4}")  # E: GATI106
async def get_user(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@handler(
    "GET",
    "/files/{name:slug}",  # E: GATI106
)
async def get_file(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/days/{day:date}/{rest:path}")
async def fine(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")

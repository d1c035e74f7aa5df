"""Handlers whose types take the wrong number of arguments."""

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get

from models import Bad, Page, User


@get("/users")
async def list_users(req: Request[None], res: Response[Page[User, int]], lctx: LocalContext, gctx: GlobalContext) -> None:  # E: GATI205
    res.json({"items": [], "total": 0})


@get("/bad")
async def bad(req: Request[None], res: Response[Bad], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json({})


@get("/too-many")
async def too_many(req: Request[None, None, None, None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:  # E: GATI205
    res.json("x")

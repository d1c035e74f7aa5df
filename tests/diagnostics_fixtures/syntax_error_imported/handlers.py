"""Imports a type from the broken module: only the syntax error is reported, not a cascade."""

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get

from models import User, audit


@get("/users/{id:int}")
async def get_user(req: Request[None], res: Response[User], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json({"id": 1, "name": "x"})


@get("/ping")
async def ping(req: Request[None], res: Response[Pong], lctx: LocalContext, gctx: GlobalContext) -> None:  # E: GATI201
    res.json("pong")


@get("/audited", before=[audit])
async def audited(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.empty()

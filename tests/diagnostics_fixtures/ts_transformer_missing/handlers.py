"""The working tree: `full_name` was renamed `name` since v1.0.0."""

from typing import TypedDict

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get, post


class NewUser(TypedDict):
    name: str


@post("/users")
async def create_user(req: Request[NewUser], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None:  # E: GATI737
    pass


@get("/ping")
async def ping(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("pong")

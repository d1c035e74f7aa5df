"""The working tree: `full_name` was renamed `name` and plans gained `team` since v1.0.0."""

from typing import Literal, TypedDict

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get, post


class NewUser(TypedDict):
    name: str
    age: int


class User(TypedDict):
    id: int
    plan: Literal["free", "pro", "team"]


@post("/users")
async def create_user(req: Request[NewUser], res: Response[User], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json({"id": 1, "plan": "team"})


@get("/users/{id:int}")
async def get_user(req: Request[None], res: Response[User], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json({"id": 1, "plan": "team"})

"""`EmailStr` needs `email-validator`, which the test environment does not install."""

from typing import TypedDict

from pydantic import EmailStr

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, post


class Signup(TypedDict):
    email: EmailStr  # W: GATI120
    name: str


@post("/signup")
async def signup(req: Request[Signup], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None:
    pass

"""A params type declares a field that the path does not have."""

from typing import TypedDict

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get


class UserParams(TypedDict):
    id: int


class OrgUserParams(TypedDict):
    org: str
    id: int


@get("/users")
async def get_user(
    req: Request[None, None, UserParams],  # E: GATI303
    res: Response[str],
    lctx: LocalContext,
    gctx: GlobalContext,
) -> None:
    res.json("x")


@get("/users/{id:int}")
async def get_org_user(
    req: Request[None, None, OrgUserParams],  # E: GATI303
    res: Response[str],
    lctx: LocalContext,
    gctx: GlobalContext,
) -> None:
    res.json("x")


@get("/orgs/{org}/users/{id:int}")
async def fine(req: Request[None, None, OrgUserParams], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")

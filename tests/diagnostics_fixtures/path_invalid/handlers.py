"""Malformed route paths."""

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get


@get("users")  # E: GATI107
async def a(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/users//list")  # E: GATI107
async def b(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/users/{id")  # E: GATI107
async def c(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/files/{rest:path}/meta")  # E: GATI107
async def d(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/pairs/{id}/{id}")  # E: GATI107
async def e(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/{1st}")  # E: GATI107
async def f(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/trailing/")  # E: GATI107
async def g(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/sp ace")  # E: GATI107
async def h(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")

"""Route hooks that do not name hook functions of the right kind."""

import os

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get

from hooks import audit, check_tenant

LIMIT = 3


@get("/a", before=[chek_tenant])  # E: GATI204
async def a(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/b", before=[lambda req, res, lctx, gctx: None])  # E: GATI204
async def b(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/c", before=[audit])  # E: GATI204
async def c(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/d", after=[LIMIT, os.getcwd])  # E: GATI204 GATI204
async def d(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/fine", before=[check_tenant], after=audit)
async def fine(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")

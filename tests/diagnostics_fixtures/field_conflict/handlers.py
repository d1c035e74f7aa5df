"""Handlers that reach the conflicting TypedDicts."""

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get

from models import Admin, Auditor, Twice


@get("/admins")
async def admins(req: Request[None], res: Response[list[Admin]], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json([])


@get("/auditors")
async def auditors(req: Request[None], res: Response[list[Auditor]], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json([])


@get("/twice")
async def twice(req: Request[None], res: Response[Twice], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json({"value": "x"})

"""A handler whose body type is unsupported, and one that uses the models above."""

from typing import Callable

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get, post

from models import Job


@get("/jobs")
async def list_jobs(req: Request[None], res: Response[list[Job]], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json([])


@post("/jobs")
async def add_job(
    req: Request[Callable[[int], str]],  # E: GATI110
    res: Response[None],
    lctx: LocalContext,
    gctx: GlobalContext,
) -> None:
    res.empty()

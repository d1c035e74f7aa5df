"""A handler that lists the broken hooks: they are reported once, where they are defined."""

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get

from hooks import fine, no_error_arg, too_few


@get("/x", before=[too_few, fine], catch=[no_error_arg])
async def x(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.empty()

"""Hooks whose signatures do not match their kind."""

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, after, before, catch


@before
async def too_few(req: Request[None], res: Response[None], lctx: LocalContext) -> None:  # E: GATI108
    pass


@catch
async def no_error_arg(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None:  # E: GATI108
    pass


@after(timeout=1.0)
async def returns_value(
    req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext
) -> bool:  # E: GATI108
    return True


@before
async def keyword_only(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext, *, strict: bool) -> None:  # E: GATI108
    pass


@before(retries=2)
async def fine(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None:
    pass

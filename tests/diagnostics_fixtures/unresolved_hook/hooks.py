"""Hooks, and a plain function that is not one."""

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, after, before


@before
async def check_tenant(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None:
    pass


@after
async def audit(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None:
    pass


def not_a_hook(x: int) -> int:
    return x

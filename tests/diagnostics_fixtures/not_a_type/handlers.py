from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get

from models import Box, make_user


@get("/box")
async def get_box(req: Request[None], res: Response[Box], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json({})


@get("/user")
async def get_user(req: Request[None], res: Response[make_user], lctx: LocalContext, gctx: GlobalContext) -> None:  # E: GATI206
    res.json({})

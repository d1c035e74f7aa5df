"""Handlers that serve the same method and path shape."""

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get, handler, put


@get("/items/{id}")
async def get_item(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/items/{key}")
async def get_item_by_key(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:  # E: GATI302
    res.json("x")


@get("/users/{id:int}")
async def get_user(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@handler("get", "/users/{uid:int}")
async def fetch_user(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:  # E: GATI302
    res.json("x")


@get("/users/{name:str}")
async def user_by_name(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@put("/users/{id:int}")
async def put_user(req: Request[str], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")

"""Secret declarations: names that are no secret names, and reads of undeclared secrets."""

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get


@get("/bad-name", secrets=["../etc/passwd"])  # E: GATI130
async def bad_name(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/not-a-list", secrets="api_key")  # E: GATI104
async def not_a_list(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")


@get("/undeclared", secrets=["api_key"])
async def undeclared(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    key = await gctx.secrets.get("api_key")
    other = await gctx.secrets.get("db_password")  # E: GATI330
    res.json(f"{key}{other}")


@get("/none-declared")
async def none_declared(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    key = await gctx.secrets.get(name="api_key")  # E: GATI330
    res.json(f"{key}")


@get("/fine", secrets=["api_key", "tls.crt"])
async def fine(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    key = await gctx.secrets.get("api_key")
    name = "tls.crt"
    cert = await gctx.secrets.get(name)  # not a literal: checked at run time (GATI545)
    res.json(f"{key}{cert}")

"""Query types that are not flat objects of scalars."""

from dataclasses import dataclass
from typing import TypedDict

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get


class Filter(TypedDict):
    name: str


class Nested(TypedDict):
    filter: Filter


@dataclass
class Flat:
    name: str | None = None
    tags: list[str] | None = None
    limit: int = 10


@get("/a")
async def a(req: Request[None, list[str]], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:  # E: GATI309
    res.json("x")


@get("/b")
async def b(req: Request[None, Nested], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:  # E: GATI309
    res.json("x")


@get("/c")
async def c(req: Request[None, str], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:  # E: GATI309
    res.json("x")


@get("/fine")
async def fine(req: Request[None, Flat], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json("x")

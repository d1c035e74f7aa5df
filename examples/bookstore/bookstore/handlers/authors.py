"""Authors of the books in the catalogue."""

from __future__ import annotations

from bookstore.models import Author, NewAuthor
from gati_runtime_min import GlobalContext, HTTPError, LocalContext, Request, Response, get, post


@get("/authors")
async def list_authors(
    req: Request[None], res: Response[list[Author]], lctx: LocalContext, gctx: GlobalContext
) -> None:
    """Every author, by id."""
    res.json(await gctx.modules["store"].list_authors())


@get("/authors/{id:int}")
async def get_author(req: Request[None], res: Response[Author], lctx: LocalContext, gctx: GlobalContext) -> None:
    """One author."""
    author = await gctx.modules["store"].get_author(req.params["id"])
    if author is None:
        raise HTTPError(404, "author_not_found", f"no author with id {req.params['id']}")
    res.json(author)


@post("/authors", roles=["editor"], status=201)
async def create_author(
    req: Request[NewAuthor], res: Response[Author], lctx: LocalContext, gctx: GlobalContext
) -> None:
    """Register an author."""
    res.status(201).json(await gctx.modules["store"].add_author(req.body))

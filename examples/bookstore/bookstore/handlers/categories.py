"""The category tree."""

from __future__ import annotations

from bookstore.models import Category
from gati_runtime_min import GlobalContext, HTTPError, LocalContext, Request, Response, get


def _find(node: Category, slug: str) -> Category | None:
    if node["slug"] == slug:
        return node
    for child in node["children"]:
        found = _find(child, slug)
        if found is not None:
            return found
    return None


@get("/categories")
async def category_tree(req: Request[None], res: Response[Category], lctx: LocalContext, gctx: GlobalContext) -> None:
    """The whole tree, from the root."""
    res.json(await gctx.modules["store"].categories())


@get("/categories/{slug}")
async def get_category(req: Request[None], res: Response[Category], lctx: LocalContext, gctx: GlobalContext) -> None:
    """One category and everything below it."""
    found = _find(await gctx.modules["store"].categories(), req.params["slug"])
    if found is None:
        raise HTTPError(404, "category_not_found", f"no category `{req.params['slug']}`")
    res.json(found)

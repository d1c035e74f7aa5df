"""ISBN normalisation, from the out-of-process Python module `isbn`."""

from __future__ import annotations

from bookstore.isbn import INVALID_ISBN, NormalizedIsbn
from gati_runtime_min import GlobalContext, HTTPError, LocalContext, Request, Response, get
from gati_runtime_min.errors import ModuleCallError


@get("/isbn/{isbn}", modules=["isbn"])
async def normalize_isbn(
    req: Request[None], res: Response[NormalizedIsbn], lctx: LocalContext, gctx: GlobalContext
) -> None:
    """The ISBN-13 form of an ISBN-10 or ISBN-13 (hyphens allowed)."""
    try:
        res.json(await gctx.modules["isbn"].normalize(req.params["isbn"]))
    except ModuleCallError as exc:
        if exc.remote_code != INVALID_ISBN:
            raise
        raise HTTPError(422, "invalid_isbn", exc.remote_message) from None

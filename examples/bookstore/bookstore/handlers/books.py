"""The catalogue: list, read, create, change and remove books."""

from __future__ import annotations

from bookstore.checks import audit, require_known_author
from bookstore.models import Book, BookPatch, BookQuery, NewBook, Page
from gati_runtime_min import GlobalContext, HTTPError, LocalContext, Request, Response, delete, get, handler, patch


@get("/books")
async def list_books(
    req: Request[None, BookQuery], res: Response[Page[Book]], lctx: LocalContext, gctx: GlobalContext
) -> None:
    """List the catalogue, optionally filtered by genre or author."""
    query = req.query
    books = [
        b
        for b in await gctx.modules["store"].list_books()
        if (query.genre is None or b["genre"] == query.genre)
        and (query.author_id is None or b["author_id"] == query.author_id)
    ]
    window = books[query.offset : query.offset + query.limit]
    following = query.offset + query.limit
    res.json({"items": window, "total": len(books), "next_offset": following if following < len(books) else None})


@get("/books/{id:int}")
async def get_book(req: Request[None], res: Response[Book], lctx: LocalContext, gctx: GlobalContext) -> None:
    """Fetch one book by its id."""
    book = await gctx.modules["store"].get_book(req.params["id"])
    if book is None:
        raise HTTPError(404, "book_not_found", f"no book with id {req.params['id']}")
    res.json(book)


@handler(
    "POST",
    "/books",
    roles=["editor"],
    rate_limit="30/minute",
    before=[require_known_author],
    after=[audit],
    status=201,
)
async def create_book(req: Request[NewBook], res: Response[Book], lctx: LocalContext, gctx: GlobalContext) -> None:
    """Add a book to the catalogue."""
    book = await gctx.modules["store"].add_book(req.body)
    res.status(201).header("location", f"/books/{book['id']}").json(book)


@patch("/books/{id:int}", roles=["editor"], after=[audit], timeout=2.0)
async def update_book(req: Request[BookPatch], res: Response[Book], lctx: LocalContext, gctx: GlobalContext) -> None:
    """Change some fields of a book."""
    book = await gctx.modules.store.update_book(req.params["id"], req.body)
    if book is None:
        raise HTTPError(404, "book_not_found", f"no book with id {req.params['id']}")
    res.json(book)


@delete("/books/{id:int}", roles=["admin"], after=[audit])
async def delete_book(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None:
    """Remove a book from the catalogue."""
    if not await gctx.modules["store"].delete_book(req.params["id"]):
        raise HTTPError(404, "book_not_found", f"no book with id {req.params['id']}")
    res.empty()

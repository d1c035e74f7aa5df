"""Path parameters used in the body or placed in the path without being declared."""

from typing import TypedDict

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get


class BookParams(TypedDict):
    id: int


@get("/books/{id:int}")
async def get_book(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    book_id = req.params["id"]
    res.json(str(req.params["nope"]) + str(book_id))  # E: GATI304


@get("/authors/{author}/books/{id:int}")
async def get_authored_book(
    req: Request[None, None, BookParams],  # E: GATI304
    res: Response[str],
    lctx: LocalContext,
    gctx: GlobalContext,
) -> None:
    res.json("x")


@get("/shelves")
async def list_shelves(request: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json(
        request.params[  # E: GATI304
            "shelf"  # the span starts at the subscript, one line up
        ]  # nothing here
    )

"""Transformers of `list_books` between v1.1.0 and the contract of 2026-11-02T09:00:00Z.

Written by `gatic transformers write` as a stub (the change is inside the page's items), then
filled in by hand: each book goes through the same downgrade as `get_book`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bookstore.transformers.get_book__v2026_10_01T090000Z import get_book_to_v1_1_0
from gati_runtime_min.timescape import downgrade_response

if TYPE_CHECKING:
    from gati_versions.steps.list_books__v2026_10_01T090000Z import (
        NewResponse,
        OldResponse,
    )


@downgrade_response("list_books", "v1.1.0")
def list_books_to_v1_1_0(response: NewResponse) -> OldResponse:
    return {
        "items": [get_book_to_v1_1_0(book) for book in response["items"]],
        "total": response["total"],
        "next_offset": response["next_offset"],
    }

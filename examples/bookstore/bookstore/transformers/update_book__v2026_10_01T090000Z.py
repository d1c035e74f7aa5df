# Written by gatic transformers write (edits are kept); body cbd939b9c39c4e99
"""Transformers of `update_book` between v1.1.0 and the contract of 2026-11-02T09:00:00Z."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gati_runtime_min.timescape import downgrade_response

if TYPE_CHECKING:
    from gati_versions.steps.update_book__v2026_10_01T090000Z import (
        NewResponse,
        OldResponse,
    )


@downgrade_response("update_book", "v1.1.0")
def update_book_to_v1_1_0(response: NewResponse) -> OldResponse:
    out: OldResponse = {
        "title": response["title"],
        "isbn": response["isbn"],
        "author_id": response["author_id"],
        "genre": response["genre"],
        "price": response["price"],
        "id": response["id"],
        "stock": response["in_stock"],
    }
    if "published" in response:
        out["published"] = response["published"]
    if "tags" in response:
        out["tags"] = response["tags"]
    return out

"""Shipping quotes, from the out-of-process Node module `shipping`."""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le
from pydantic import Field
from typing_extensions import TypedDict

from bookstore.shipping import ShippingQuote
from gati_runtime_min import GlobalContext, HTTPError, LocalContext, Request, Response, get
from gati_runtime_min.errors import ModuleCallError

_NO_CARRIER = -32010  # the module's error code for a country no carrier serves


class QuoteQuery(TypedDict):
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    items: Annotated[int, Ge(1), Le(100)]


@get("/shipping/quote", modules=["shipping"], timeout=3)
async def shipping_quote(
    req: Request[None, QuoteQuery], res: Response[ShippingQuote], lctx: LocalContext, gctx: GlobalContext
) -> None:
    """What sending `items` books to `country` costs and how long it takes."""
    try:
        quote = await gctx.modules["shipping"].quote(req.query["country"], req.query["items"])
    except ModuleCallError as exc:
        if exc.remote_code != _NO_CARRIER:
            raise
        raise HTTPError(422, "no_carrier", exc.remote_message) from None
    res.json(quote)

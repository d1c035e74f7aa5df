"""Shipping quotes from the out-of-process Node module in `modules/shipping.mjs`.

The class is the module's typed interface: the build reads it (the methods, their types and call
policies), the runtime starts `node modules/shipping.mjs` and calls it over JSON-RPC on stdio, and
mypy checks `gctx.modules["shipping"].quote(...)` against it (`gati_compiler.mypy_plugin`). The
module declares no egress, so it runs without network access.
"""

from __future__ import annotations

from typing import Annotated, Literal, Protocol

from annotated_types import Ge, Len
from typing_extensions import TypedDict

from gati_runtime_min import method, module


class ShippingQuote(TypedDict):
    country: Annotated[str, Len(2, 2)]
    zone: Literal["domestic", "eu", "world"]
    items: Annotated[int, Ge(1)]
    cents: Annotated[int, Ge(0)]
    days: Annotated[int, Ge(1)]


@module("shipping", command=["node", "modules/shipping.mjs"], pool=2, timeout=2.0)
class Shipping(Protocol):
    """Carrier rates by zone."""

    @method(idempotent=True, retries=2)
    async def quote(self, country: str, items: int) -> ShippingQuote:
        """The price and delay of sending `items` books to `country`."""
        ...

"""The interface of an out-of-process module is awaited: its methods are `async def`."""

from gati_runtime_min import module


@module("pricing", command=["node", "modules/pricing.mjs"])
class Pricing:
    async def quote(self, sku: str) -> float: ...

    def total(self, skus: list[str]) -> float: ...  # E: GATI739

from gati_runtime_min import module


@module("store", capabilities=["cache.read"])
class CacheStore:
    async def ping(self) -> bool:
        return True

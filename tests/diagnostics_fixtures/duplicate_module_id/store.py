from gati_runtime_min import module


@module("store")
class Store:  # E: GATI306
    async def ping(self) -> bool:
        return True

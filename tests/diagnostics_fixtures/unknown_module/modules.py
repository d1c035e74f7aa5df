from gati_runtime_min import module


@module("db")
class Db:
    async def ping(self) -> bool:
        return True

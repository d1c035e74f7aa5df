"""Module classes declared without an id, or with bad options."""

from gati_runtime_min import module

DB_ID = "db"
ENDPOINT = "mq.internal:5672"


@module(capabilities=["db.read"])  # E: GATI113
class NoId:
    async def ping(self) -> bool:
        return True


@module  # E: GATI113
class Bare:
    async def ping(self) -> bool:
        return True


@module(DB_ID.upper())  # E: GATI113
class ComputedId:
    async def ping(self) -> bool:
        return True


@module("cache", capabilities="cache.read", region="eu")  # E: GATI113 GATI104
class Cache:
    async def ping(self) -> bool:
        return True


@module(
    "queue",
    egress=ENDPOINT,  # E: GATI113
)
class Queue:
    async def ping(self) -> bool:
        return True


@module("twice", id="again")  # E: GATI113
class Twice:
    async def ping(self) -> bool:
        return True


@module(id="no spaces!")  # E: GATI113
class BadId:
    async def ping(self) -> bool:
        return True


@module(
    "worker",
    command=[],  # E: GATI113
    timeout=0,  # E: GATI112
)
class Worker:
    async def ping(self) -> bool: ...


@module(
    "local",
    pool=2,  # E: GATI113
    retries=-1,  # E: GATI113
)
class Local:
    async def ping(self) -> bool:
        return True


@module(
    "spawned",
    command=["python", "-m", "svc"],
    pool=0,  # E: GATI113
)
class Spawned:
    async def ping(self) -> bool: ...

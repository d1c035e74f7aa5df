"""Module classes declared without an id, or with bad options."""

from gati_runtime_min import module

DB_ID = "db"


@module(capabilities=["db.read"])  # E: GATI113
class NoId:
    async def ping(self) -> bool:
        return True


@module  # E: GATI113
class Bare:
    async def ping(self) -> bool:
        return True


@module(DB_ID)  # E: GATI113
class ComputedId:
    async def ping(self) -> bool:
        return True


@module("cache", capabilities="cache.read", retries=3)  # E: GATI113 GATI104
class Cache:
    async def ping(self) -> bool:
        return True


@module(
    "queue",
    egress=ENDPOINTS,  # E: GATI113
)
class Queue:
    async def ping(self) -> bool:
        return True


ENDPOINTS = ["mq.internal:5672"]

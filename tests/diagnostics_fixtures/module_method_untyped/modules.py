"""A module whose public methods are missing annotations."""

from typing import TypedDict

from gati_runtime_min import module


class Row(TypedDict):
    id: int


@module("db", capabilities=["db.read"])
class Db:
    """The database."""

    async def insert(self, table, row: Row) -> int:  # E: GATI109
        return 1

    async def count(self, table: str):  # E: GATI109
        return 0

    def find(self, table: str, *, limit) -> list[Row]:  # E: GATI109
        return []

    async def get(self, table: str, id: int) -> Row | None:
        return None

    def _helper(self, anything):
        return anything

"""Models with names that cannot be found."""

from typing import TypedDict


class Book(TypedDict):
    id: int
    author: Autor  # E: GATI201
    tags: list["Tagg"]  # E: GATI201

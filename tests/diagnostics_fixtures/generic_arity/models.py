"""Generics given the wrong number of type arguments."""

from typing import Generic, Literal, Optional, TypedDict, TypeVar

T = TypeVar("T")


class Page(TypedDict, Generic[T]):
    items: list[T]
    total: int


class User(TypedDict):
    id: int


type Pair[A, B] = tuple[A, B]


class Bad(TypedDict):
    maybe: Optional[int, str]  # E: GATI205
    mapping: dict[str]  # E: GATI205
    nothing: Literal[()]  # E: GATI110
    counted: int[str]  # E: GATI205
    pair: Pair[int]  # E: GATI205
    items: list[int, str]  # E: GATI205

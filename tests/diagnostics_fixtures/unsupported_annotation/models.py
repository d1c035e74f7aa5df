"""Annotations that have no GType."""

from collections.abc import Callable
from typing import Any, TypedDict


class Plain:
    """Not a TypedDict, dataclass, pydantic model or Enum."""

    name: str


class Job(TypedDict):
    run: Callable[[], None]  # E: GATI110
    owner: Plain  # E: GATI110
    by_tuple: dict[tuple[int, int], str]  # E: GATI110
    lazy: "list[int"  # E: GATI110
    computed: list[int] if True else str  # E: GATI110
    extra: Any

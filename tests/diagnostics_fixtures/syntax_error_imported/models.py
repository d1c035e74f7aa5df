"""Shared models with a syntax error: names imported from here are not reported again."""

from typing import TypedDict


class User(TypedDict):
    id: int
    name: str = (  # E: GATI101

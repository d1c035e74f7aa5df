"""Names used as types that are values, functions or modules."""

import enum
from typing import TypedDict

import helpers

DEFAULT_LIMIT = 10


class Color(enum.Enum):
    RED = "red"


def make_user() -> dict[str, str]:
    return {}


class Box(TypedDict):
    user: make_user  # E: GATI206
    limit: DEFAULT_LIMIT  # E: GATI206
    module: helpers  # E: GATI206
    color: Color.RED  # E: GATI206
    fine: Color

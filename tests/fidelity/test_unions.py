"""Which option of a union a JSON value becomes follows pydantic strict's smart union: an exact
match (integers, literals, a UUID from a string) beats a strict one (a string for `str`, `bytes`,
dates and times, `Decimal`; `Any`), a strict one beats an enum looked up by value, and among
equals the option written first wins. Seen on mypy-boto3-ec2's `TimestampTypeDef = Union[datetime,
str]`: `"2024-01-01T00:00"` and the timestamp `"+.1103"` are `datetime`s there, not strings."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fidelity.built import built

PAIRS = [
    "datetime, str",
    "str, datetime",
    "date, str",
    "time, str",
    "timedelta, str",
    "Decimal, str",
    "bytes, str",
    "str, UUID",
    "UUID, str",
    "datetime, Literal['12']",
    "Decimal, Literal[1, 12]",
    "float, Literal[1, 12]",
    "Color, date",
    "Color, bytes",
    "Count, Decimal",
    "Color, str",
    "Any, int",
    "Decimal, float",
    "float, Decimal",
    "Decimal, str, float",
    "Literal[1, 12], float",
    "float, int",
    "Any, float",
    "Decimal, Literal[1], float, Literal[12]",
]

MODELS = """
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum, IntEnum
from typing import Any, Literal, Union
from uuid import UUID
from typing_extensions import TypedDict

class Color(str, Enum):
    A = "a"
    D = "2020-01-01"

class Count(IntEnum):
    ONE = 1
    TWELVE = 12
""" + "".join(f"\nclass U{i}(TypedDict):\n    x: Union[{pair}]\n" for i, pair in enumerate(PAIRS))

VALUES: list[Any] = [
    "a",
    "12",
    "1.5",
    "+.1103",
    "-0000000000000062135596800000",
    "2020-01-01",
    "2020-01-01T00:00",
    "6867-04-18t16:16:21",
    "12:30",
    "P1D",
    "12345678-1234-5678-1234-567812345678",
    12,
    1,
    1.5,
    12.0,
]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with built(tmp_path_factory.mktemp("unions"), MODELS, [f"U{i}" for i in range(len(PAIRS))]) as b:
        yield b


@pytest.mark.parametrize(("i", "pair"), list(enumerate(PAIRS)))
def test_a_union_picks_the_option_pydantic_strict_picks(app: Any, i: int, pair: str) -> None:
    for value in VALUES:
        doc = {"x": value}
        ours_ok, ours = app.ours(f"U{i}", doc)
        theirs_ok, theirs = app.theirs(f"U{i}", doc)
        assert ours_ok == theirs_ok, (pair, value, ours, theirs)
        if ours_ok:
            assert type(ours["x"]) is type(theirs["x"]) and ours == theirs, (pair, value, ours, theirs)

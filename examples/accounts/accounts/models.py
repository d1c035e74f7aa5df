"""The public types of the accounts API."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, NotRequired

from annotated_types import Ge, Le, MaxLen, MinLen
from pydantic import Field
from typing_extensions import TypedDict  # pydantic validates typing_extensions' TypedDict on 3.11


class UserStatus(StrEnum):
    """Whether the account may be used."""

    ACTIVE = "active"
    SUSPENDED = "suspended"


class NewUser(TypedDict):
    name: Annotated[str, MinLen(1), MaxLen(120)]
    email: Annotated[str, Field(pattern=r"^[^@]+@[^@]+$")]
    status: NotRequired[UserStatus]


class User(TypedDict):
    """An account as clients see it."""

    id: int
    name: str
    email: str
    status: UserStatus
    balance_cents: Annotated[int, Ge(0)]


class UserFilter(TypedDict, total=False):
    status: UserStatus
    limit: Annotated[int, Ge(1), Le(100)]


class Deposit(TypedDict):
    amount_cents: Annotated[int, Ge(0), Le(100_000_000_000)]
